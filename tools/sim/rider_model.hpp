#pragma once
/// \file
/// One simulated rider, without sockets: where it is, where it is going, and
/// what it decides. The socket shell (rider_agent) feeds it sim time and the
/// server's answers and sends whatever it reports.
///
/// Phases: idle (random walk inside its roam disc) -> to_store (after an
/// accepted offer) -> at_store (waits for the order to be ready, at most
/// pickup_wait_max_ms) -> to_dropoff (after picked_up) -> idle (after
/// delivered).

#include "core/ids.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_clock.hpp"

#include <cstdint>
#include <optional>

namespace courier::sim {

/// Sim time between two positions of one rider (PROTOCOL/DESIGN: 5 s);
/// the rider also looks at its order (arrived? ready?) on each.
inline constexpr sim_ms rider_position_interval_ms = 5000;

/// Tunables of rider behaviour (sim time, metres, m/s).
struct rider_params {
  double travel_speed_mps = 5.0;   ///< toward the store and the drop-off
  double idle_speed_mps = 1.5;     ///< loitering while waiting for offers
  double reject_rate = 0.1;        ///< probability of rejecting an offer
  sim_ms pickup_wait_max_ms = 30 * 60 * 1000; ///< give up waiting for "ready"
  double heading_jitter_deg = 35.0;           ///< idle walk: turn per step
};

/// Where a rider is in an order's life.
enum class rider_phase : std::uint8_t { idle, to_store, at_store, to_dropoff };

/// What one `advance` call ran into.
enum class rider_event : std::uint8_t { none, arrived_at_store, arrived_at_dropoff };

/// A rider's movement and decisions.
class rider_model {
public:
  /// Starts idle at `start`, roaming within `roam_radius_m` of `roam_center`.
  rider_model(point start, point roam_center, double roam_radius_m, rider_params params,
              std::uint64_t seed);

  /// True to accept an offer: only when idle, and with probability
  /// 1 - reject_rate.
  bool wants_offer();
  /// The offer was accepted: head for `store`, then `dropoff`.
  void assign(core::order_id order, point store, point dropoff);
  /// The assignment is gone (accept refused, status conflict): idle again.
  void unassign();

  /// Moves for `dt` of sim time (`now` is the sim time after the move).
  rider_event advance(sim_ms dt, sim_ms now);

  /// At the store: pick up now? Yes once the order is ready, or after
  /// waiting pickup_wait_max_ms (then the server decides).
  bool should_pick_up(bool order_ready, sim_ms now) const;
  /// picked_up was accepted: head for the drop-off.
  void picked_up();
  /// delivered was accepted: idle again.
  void delivered();

  rider_phase phase() const noexcept { return phase_; }
  point where() const noexcept { return at_; }
  double heading_deg() const noexcept { return heading_deg_; }
  /// Speed over the last advance, m/s.
  double speed_mps() const noexcept { return speed_mps_; }
  const std::optional<core::order_id>& order() const noexcept { return order_; }
  /// The next position `seq` (strictly increasing from 1).
  std::uint64_t next_seq() noexcept { return ++seq_; }

private:
  void walk_idle(double dt_s);

  rider_params params_;
  rng_t rng_;
  point at_;
  point roam_center_;
  double roam_radius_m_;
  double heading_deg_;
  double speed_mps_ = 0.0;
  rider_phase phase_ = rider_phase::idle;
  std::optional<core::order_id> order_;
  point store_;
  point dropoff_;
  sim_ms arrived_at_store_ = 0;
  std::uint64_t seq_ = 0;
};

} // namespace courier::sim
