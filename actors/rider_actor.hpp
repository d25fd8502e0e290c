#pragma once
/// \file
/// The rider entity, `rider:<rider_id>` (PROTOCOL.md, "Rider").
///
/// Handles (protocol.hpp):
/// - position_cmd -> msg::ack{highest seq accepted}; a stale seq is dropped
///   but acked; only the rider itself may report (else forbidden). Soft
///   state: keeps its region up to date (region_rider_update with its
///   seq, to the cell it reports to: its region_res cell, or the deeper
///   one a region_route named while the position stays inside it;
///   region_rider_leave with the old position to that cell when the
///   position leaves it, then the update goes to the deepest ancestor
///   still containing the position, or to the new region_res cell;
///   region_actor.hpp), forwards rider_moved to its assigned order, and tells the
///   node's history writer (history_actor.hpp). Checkpointed by position
///   marks (rider_state.hpp: when, and what a crash may lose); the ack
///   never waits for one, and a cell change reaches the regions only once
///   its mark is written. A passivation (or handoff) marks before stopping.
/// - availability_cmd -> msg::ok_reply (journaled).
/// - offer_request (dispatch) -> offer_reply; a taken offer is journaled and
///   pushed as (push_atom, "rider:<id>", msg::offer) to subscribed gateways.
///   Idempotent: asking again for the held offer answers offered=true.
/// - offer_answer_cmd -> msg::ok_reply | conflict: forwarded to
///   dispatch:<order> as dispatch_answer; its verdict goes back.
/// - rider_assigned, rider_released, offer_withdrawn: journaled state.
/// - region_route (regions): where to report from now on (soft; ignored if
///   older than the last taken or if the position is not inside the cell).
/// - rider_status_cmd -> msg::ok_reply{version}: only for the assigned
///   order, forwarded as order_cmd to order:<id>; the reply is relayed.
/// - subscribe_cmd (the rider itself or an admin) -> msg::ok_reply, then
///   the pushes a (re)connecting session is owed: the offer it holds (until
///   it expires) and msg::assignment for the order it is assigned to;
///   unsubscribe_cmd.
///
/// Invariant: a rider holds at most one offer and at most one order, never
/// both (rider_state asserts it on every change).

#include "actors/domain.hpp"
#include "cluster/entity_ref.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace courier::cluster {
struct entity_context;
}

namespace courier::actors {

/// Events journaled between two snapshots of a rider: a recovery reads at
/// most this many small records. At one position mark per 30 s a rider who
/// keeps riding snapshots about every half hour.
inline constexpr std::size_t rider_snapshot_every = 64;

/// Ops and tests: what a rider holds now -> rider_view.
struct rider_view_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_view_query&) {
    return f();
  }
};
struct rider_view {
  bool available = false;
  std::string offer_id;   ///< empty: none
  std::string order_id;   ///< empty: none
  std::uint64_t last_seq = 0;
  std::string cell;       ///< region cell ("" before the first position)
  std::string report_cell; ///< the (deepest known) cell region updates go to

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_view& x) {
    return f(x.available, x.offer_id, x.order_id, x.last_seq, x.cell, x.report_cell);
  }
};

/// Spawns the activation of one rider entity (the router's factory calls it).
caf::actor spawn_rider_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services);

} // namespace courier::actors
