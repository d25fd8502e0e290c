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
///   orders; its next update brings it back. Only owners (below) sweep.
/// - region_find_riders (dispatch) -> region_candidates: available riders
///   with a position fresher than cfg.rider_position_fresh within the
///   radius, nearest first, at most `limit`, minus `exclude`.
/// - region_order_delta (orders) -> live order stats (soft), in the owner.
/// - region_probe_query (tests, ops) -> region_probe.
/// - region_stats_query -> msg::region_stats; subscribe_cmd (admin) ->
///   msg::region_stats now, then (push_atom, "region:<cell>",
///   msg::region_stats) at most once per cfg.region_stats_interval, only
///   when something changed; unsubscribe_cmd -> msg::ok_reply.
/// - radius_trigger_cmd (admin, target = this cell) -> msg::radius_result
///   via radius_policy (a region has no base radius: the effective radius
///   is the held cap; none held reads as 0 with a reason); journaled,
///   applied in arrival order. region_radius_query -> region_radius.
///
/// Hot-cell split, nested (cfg.region_res -> ... -> cfg.region_split_max_res):
/// Terms: the *root* is the cell at cfg.region_res (what riders, orders
/// and dispatch address first). A cell below it is *in the tree* while its
/// parent is split (soft state: set by region_adopt, region_activate or any
/// message its parent forwards down; cleared when its parent drains it).
/// The *owner* of a rider or an order is the deepest cell in the tree that
/// contains its position (a rider's position; an order's store): a root or
/// in-tree cell that is not split. Only owners index riders and count
/// active orders.
/// Invariants:
/// I1 A split cell holds no riders and no active order it can place in a
///    child; it keeps only its children's last reported counts
///    (split_children), its own finished-order counters and the orders
///    without a store position.
/// I2 Each rider is indexed by at most one owner (exactly one once its
///    last update has landed); a cell that gets a message it does not own
///    passes it on: a split cell down to the child of the position (a
///    leave, which may name an old position, to every child), a cell not
///    in the tree up to its parent. Forwards are bounded by
///    region_forward_hops_max; nothing is lost in a transition.
/// I3 Riders report straight to their owner. An owner that got a rider's
///    update the rider addressed to another cell (reported_to) tells the
///    rider region_route{cell, seq}: "go deeper" after a split hands it
///    down, "go up" after a merge takes it back (both sent at once for
///    every handed rider). So in steady state a split cell sees no rider
///    message. The rider re-derives its cell from the root when its
///    position leaves the cell it reports to (rider_actor.cpp).
/// I4 Two paths to one cell (forwarded, direct) can reorder: updates and
///    leaves carry the rider's seq; an owner drops a forwarded message
///    older than its entry or than a leave it remembers (bounded
///    tombstones: region_tombstones_max, region_tombstone_ttl_ms), and a
///    forwarded one as old as an entry that came direct. The rider's own
///    messages to one cell arrive in order and always apply.
/// I5 Splitting: an owner above cfg.region_split_riders riders, with
///    res < cfg.region_split_max_res, journals "split" and tells each child
///    region_adopt{its riders and active orders} (the child forgets what it
///    held before). Merging: a split cell whose children all reported
///    (region_load, at most one per cfg.region_load_interval each, subtree
///    totals) fewer than cfg.region_merge_riders riders asks each child to
///    drain (region_handover_req{drain}; a split child drains its own
///    children first and journals "merged"), waiting for every answer
///    before it handles anything else (await), indexes what comes back,
///    journals "merged" and is an owner again.
/// I6 Orders: region_order_delta always goes to the root (the store's cell)
///    and is passed down by the store position to the owner; one order's
///    deltas take one path, in order, and a split hands an order down before
///    any later delta, a merge takes it back before handling the next
///    (await), so each order is counted once. Finished orders are counters
///    where they finished; a merge adds a child's to the parent's.
///    region_stats and region_find_riders at a split cell ask its children
///    (recursively) and sum / merge nearest-first (`limit`); the live map of
///    a split cell is its children's, gathered at each stats tick while it
///    has subscribers.
/// Recovery: "split"/"merged" are the only journaled split events (each
/// cell its own; journals from the one-level split replay unchanged). A
/// cell that recovers split sends its children region_activate (they are in
/// the tree; they answer region_load at once) and merges only once all have
/// reported. A split cell that crashes loses nothing (its riders are in its
/// children). A child that crashes comes back empty and not in the tree:
/// its riders' next updates go up to the parent, come back down and put
/// it back in the tree (so a rider is missing at most until its next
/// update). A cell below the root recovering "split" is in the tree.

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

/// Forwards one rider message may take (up 2, down 2 in a 7 -> 9 tree);
/// beyond, it is dropped and counted (a routing bug, not a load case).
inline constexpr std::uint8_t region_forward_hops_max = 8;

/// Parent -> child: send me your riders and orders (and forget them if
/// `drain`) -> region_handover.
struct region_handover_req {
  bool drain = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_handover_req& x) {
    return f(x.drain);
  }
};
/// A rider handed between cells, with when the handing cell last heard of
/// it (silence is not reset by a split or a merge).
struct handed_rider {
  region_rider_update rider;
  core::time_ms heard_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, handed_rider& x) {
    return f(x.rider, x.heard_ms);
  }
};
/// An active order handed between cells.
struct handed_order {
  core::order_id order_id;
  msg::order_status status = msg::order_status::placed;
  double store_lat = 0.0;
  double store_lng = 0.0;
  double dropoff_lat = 0.0;
  double dropoff_lng = 0.0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, handed_order& x) {
    return f(x.order_id, x.status, x.store_lat, x.store_lng, x.dropoff_lat, x.dropoff_lng);
  }
};
/// Finished orders of one status counted by a cell.
struct handed_count {
  msg::order_status status = msg::order_status::delivered;
  std::uint32_t count = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, handed_count& x) {
    return f(x.status, x.count);
  }
};
/// What a cell holds, handed to another: child -> parent (the answer to
/// region_handover_req) or parent -> child (inside region_adopt).
struct region_handover {
  std::vector<handed_rider> riders;
  std::vector<handed_order> orders;
  std::vector<handed_count> finished;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_handover& x) {
    return f(x.riders, x.orders, x.finished);
  }
};
/// Parent -> child at a split: you are in the tree; forget what you held
/// and take these (the riders are told to report to you).
struct region_adopt {
  region_handover cargo;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_adopt& x) {
    return f(x.cargo);
  }
};
/// Parent -> child after the parent recovered split: you are in the tree;
/// report your load now.
struct region_activate {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_activate&) {
    return f();
  }
};
/// Child -> parent: the riders in the child's subtree (at most one per
/// cfg.region_load_interval, and when the parent activates it).
struct region_load {
  std::string child;
  std::uint32_t riders_available = 0;
  std::uint32_t riders_busy = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_load& x) {
    return f(x.child, x.riders_available, x.riders_busy);
  }
};
/// Tests and ops: what one region activation holds -> region_probe.
struct region_probe_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_probe_query&) {
    return f();
  }
};
struct region_probe {
  bool split = false;
  bool owner = false;            ///< indexes riders (root or in the tree, not split)
  std::uint32_t riders = 0;      ///< riders in this cell's own index
  std::uint32_t orders = 0;      ///< active orders in this cell's own stats
  std::uint64_t rider_msgs = 0;  ///< rider updates and leaves handled, any route
  std::uint64_t stale = 0;       ///< forwarded rider messages dropped as older
  std::uint64_t dropped = 0;     ///< updates refused (full, foreign, too many hops)

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_probe& x) {
    return f(x.split, x.owner, x.riders, x.orders, x.rider_msgs, x.stale, x.dropped);
  }
};

/// Spawns the activation of one region entity.
caf::actor spawn_region_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services);

/// Registers the message types of the rider side (region, history) that
/// are not in protocol.hpp. Call from register_domain_types.
void register_rider_side_types(caf::actor_system_config& cfg);

} // namespace courier::actors
