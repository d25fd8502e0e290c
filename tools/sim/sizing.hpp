#pragma once
/// \file
/// Sizes the order rate to the riders (Little's law: L = lambda * W). A
/// rider carries one order at a time, busy from the accepted offer to
/// `delivered`; with `riders` riders of which a share `utilization` should
/// be busy on average, the city keeps up at
///   lambda = riders * utilization / W
/// orders per unit of time, W being the expected busy time of one order.
/// Above riders / W the backlog grows without bound whatever the node does
/// (issue #15: 600/min against 200 riders at speedup 5 was 8.7x over).
///
/// W comes from the model's own parameters (store_params, rider_params and
/// the city's geometry), so a change of the model moves the sized rate
/// with it; sim_test checks the formula against the model itself.

#include "tools/sim/rider_model.hpp"
#include "tools/sim/sim_config.hpp"
#include "tools/sim/store_model.hpp"

#include <cstdint>

namespace courier::sim {

/// Share of riders the sized rate keeps busy on average: the rest is
/// headroom for the dispatch's locality (a free rider may be far from the
/// store) and for the randomness of arrivals and prep times.
inline constexpr double utilization_default = 0.6;

/// Expected sim seconds a rider is busy with one order, accepted offer to
/// delivered: it is offered the order when the store accepts, so it waits
/// at the store until ready (the mean prep time; the ride there is shorter
/// than the prep on average, see city.hpp's radii), then rides to the
/// drop-off (uniform in a disc of dropoff_radius_share x the store's
/// radius: mean 2/3 of that), plus the position ticks that notice arrival
/// and readiness (half a tick each on average).
double rider_cycle_s(const store_params& store, const rider_params& rider,
                     double hotspot_share);

/// Orders per wall minute that keep `utilization` of `riders` busy when a
/// rider is busy `cycle_s` sim seconds per order at `speedup`.
double sized_orders_per_min(std::uint32_t riders, double utilization, double cycle_s,
                            double speedup);

/// The rate the runner paces at: cfg.orders_per_min if given, else sized
/// to cfg.riders at cfg.utilization with the default store and rider
/// models.
double effective_orders_per_min(const sim_config& cfg);

} // namespace courier::sim
