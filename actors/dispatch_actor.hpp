#pragma once
/// \file
/// The dispatch entity, `dispatch:<order_id>`: finds the order a rider
/// (PROTOCOL.md, "The flow").
///
/// Handles (protocol.hpp):
/// - dispatch_start (order) -> msg::ok_reply; idempotent; journaled.
/// - dispatch_stop (order) -> msg::ok_reply; withdraws any offer.
/// - dispatch_answer (rider) -> msg::ok_reply | conflict.
/// - reminder_fired (reminder shard): the durable side of its timers.
///
/// The search: the store's region cell (cfg.region_res) and then its grid
/// rings outward, one ring at a time, asking each cell's region for
/// region_find_riders (available, fresh, within the radius, excluding
/// riders already tried this round). A ring's answers are merged with the
/// earlier rings'; the search stops at the first ring after which the
/// nearest candidate is provably nearer than any point of the next ring
/// (a hexagon ring j is at least (1.5 j - 2) edges from the store), or
/// when the next ring is beyond the radius. Candidates not proven ordered
/// are dropped and found again by the next search, so offers always go
/// nearest first, also across a ring boundary.
///
/// Offers: "<order>-<n>", journaled before offer_request is sent, expiring
/// at now + cfg.offer_timeout. Reject, expiry or "not offered" move on to
/// the next candidate (a withdrawn offer is told to its rider). No one left
/// or cfg.dispatch_rounds_max offers made this round: a new round after
/// cfg.dispatch_retry (riders tried may be asked again), at most
/// dispatch_round_limit rounds. An accept of the live offer is journaled,
/// then the order is asked (assign_rider); ok -> journaled, rider_assigned
/// to the rider and ok to it; conflict -> the dispatch stops, the rider
/// gets conflict and its offer is withdrawn.
///
/// Timers survive crashes and passivation: each offer expiry, round retry
/// and a watchdog are reminders (reminder_set to the target's reminder
/// shard, tags "offer:<id>", "round:<n>", "watch") as well as local
/// delayed messages (precise and cheap while the activation lives; an
/// offer's only once its rider holds it, since CAF cannot cancel a delayed
/// message and a refused offer's would linger until the expiry). On
/// recovery an offer whose expiry passed expires at once; otherwise it is
/// asked again (offer_request is idempotent at the rider) and re-armed; an
/// accepted offer re-asks the order; an assignment re-tells the rider.

#include "actors/domain.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace courier::cluster {
struct entity_context;
}

namespace courier::actors {

/// Rounds (searches with retries in between) before a dispatch gives up;
/// with the default 10 s retry that is an hour.
inline constexpr std::uint32_t dispatch_round_limit = 360;
/// Grid rings searched at most (bounds one search's fan-out: 3k(k+1)+1 cells).
inline constexpr int dispatch_rings_max = 12;

/// Where dispatch's timers live.
enum class dispatch_timers : std::uint8_t {
  local,   ///< delayed messages only (tests without a reminder entity)
  durable, ///< also reminders (production)
};

/// Ops and tests: where a dispatch is -> dispatch_view.
struct dispatch_view_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dispatch_view_query&) {
    return f();
  }
};
struct dispatch_view {
  std::string phase;          ///< idle, searching, offering, accepted, assigned, stopped
  std::string offer_id;       ///< the live offer ("" if none)
  std::string rider_id;       ///< its rider, or the assigned rider
  std::uint32_t offers_made = 0;
  std::uint32_t round = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dispatch_view& x) {
    return f(x.phase, x.offer_id, x.rider_id, x.offers_made, x.round);
  }
};

/// Spawns the activation of one dispatch entity.
caf::actor spawn_dispatch_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                                std::shared_ptr<const domain_services> services,
                                dispatch_timers timers = dispatch_timers::durable);

} // namespace courier::actors
