#pragma once
/// \file
/// The region entity, `region:<h3 cell>`: the riders in one cell, its live
/// stats and its radius triggers.
///
/// Handles (protocol.hpp):
/// - region_rider_update / region_rider_leave (riders): soft state, kept in
///   region_index (offline = leave). A rider not heard from for
///   cfg.region_rider_silence (by this cell's clock, not the position's
///   time: a phone's clock may be off) is dropped by a sweep every
///   cfg.region_prune_interval (at most region_prune_scan_max riders
///   looked at per sweep), so it is no longer counted, drawn or offered
///   orders; its next update brings it back. A split parent prunes its
///   directory and sends the child a leave (the children sweep too).
/// - region_find_riders (dispatch) -> region_candidates: available riders
///   with a position fresher than cfg.rider_position_fresh within the
///   radius, nearest first, at most `limit`, minus `exclude`.
/// - region_order_delta (orders) -> live order stats (soft).
/// - region_stats_query -> msg::region_stats; subscribe_cmd (admin) ->
///   msg::region_stats now, then (push_atom, "region:<cell>",
///   msg::region_stats) at most once per cfg.region_stats_interval, only
///   when something changed; unsubscribe_cmd -> msg::ok_reply.
/// - radius_trigger_cmd (admin, target = this cell) -> msg::radius_result
///   via radius_policy (a region has no base radius: the effective radius
///   is the held cap; none held reads as 0 with a reason); journaled,
///   applied in arrival order. region_radius_query -> region_radius.
///
/// Hot-cell split (cells at cfg.region_res only; children do not split):
/// 1. When an update makes the cell hold more than cfg.region_split_riders
///    riders, the parent journals "split", tells each of its 7 children
///    region_reset (forget anything from an earlier split), then hands each
///    rider to the child containing its position (a region_rider_update
///    from the parent). From then on the parent keeps only a directory
///    (rider -> child, available or busy) and forwards every update and
///    leave to the child of the rider's position; a rider that moves
///    between children gets a leave at the old child first. The parent is
///    one actor and forwards in arrival order, and CAF keeps per-sender
///    order, so each child sees each rider's updates in order and a rider
///    is in exactly one child.
/// 2. region_find_riders at a split parent is asked of its children and the
///    answers merged (nearest first, `limit`).
/// 3. When the directory falls below cfg.region_merge_riders, the parent
///    asks every child to hand its riders back and forget them
///    (region_handover_req{drain}) and waits for all answers before it
///    handles anything else (await), so no update can slip between; it
///    indexes them, journals "merged" and is a plain cell again.
/// 4. A parent that recovers in the split state asks its children for their
///    riders (without draining) before anything else, to rebuild the
///    directory. A child that crashed refills from the riders' next updates
///    (positions come every few seconds; the parent still forwards them).
/// Riders always address their cell at cfg.region_res and the parent
/// forwards, so a rider never has to learn about a split, and no rider can
/// be lost or counted twice by a rider racing a split. Order stats stay
/// with the parent: region_order_delta carries no position to place an
/// order in a child, and the parent's count is exact.

#include "actors/domain.hpp"
#include "actors/protocol.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <vector>

namespace courier::cluster {
struct entity_context;
}

namespace courier::actors {

/// Riders one cell indexes; an update beyond it is dropped (counted).
inline constexpr std::size_t region_riders_max = 100'000;
/// Active orders one cell tracks for stats.
inline constexpr std::size_t region_orders_max = 200'000;
/// Riders one silence sweep looks at (about; region_index::prune_silent).
/// A cell with more needs several sweeps (cfg.region_prune_interval apart)
/// for a full pass; cells split above cfg.region_split_riders (400), so in
/// practice every sweep is a full pass.
inline constexpr std::size_t region_prune_scan_max = 4096;

/// Parent -> child: send me your riders (and forget them if `drain`).
struct region_handover_req {
  bool drain = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_handover_req& x) {
    return f(x.drain);
  }
};
/// Child -> parent: the riders it held.
struct region_handover {
  std::vector<region_rider_update> riders;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_handover& x) {
    return f(x.riders);
  }
};
/// Parent -> child: forget every rider (a new split begins).
struct region_reset {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_reset&) {
    return f();
  }
};

/// Spawns the activation of one region entity.
caf::actor spawn_region_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services);

/// Registers the message types of the rider side (region, history) that
/// are not in protocol.hpp. Call from register_domain_types.
void register_rider_side_types(caf::actor_system_config& cfg);

} // namespace courier::actors
