#pragma once
/// \file
/// store:<store_id>: a store's location, open flag and delivery radius, and
/// the fan-out of its order notifications to the store's sessions.
///
/// Handles (protocol.hpp):
/// - store_upsert_cmd (admin) -> msg::ok_reply; journaled.
/// - radius_trigger_cmd (admin, target "store:<id>") -> msg::radius_result;
///   applied in arrival order through radius_policy, journaled first.
/// - store_check (from an order) -> store_info; not_found for a store never
///   upserted. effective_radius_m = min(the store's own effective radius,
///   the cap held by region:<store's cell>), the latter asked with
///   region_radius_query; if that ask fails the store's own is used.
/// - subscribe_cmd (a store caller with this id, or admin) -> store_snapshot
///   (its open orders, for the session to catch up on); unsubscribe_cmd ->
///   msg::ok_reply.
/// - store_sync (an order's outbox) -> msg::ok_reply once journaled; what is
///   new (new_order, order_status, rider_arriving) is pushed on
///   "store:<id>" to every subscribed gateway; repeats and stale syncs are
///   answered ok and push nothing. Open orders are journaled, so a store
///   session that connects later, or to another activation, still learns
///   of them (issue #12 item 1).
/// - cluster::moved_atom (the router, after this key ran on another node):
///   reads the stream again and pushes what that activation recorded.

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace courier::actors {

/// How long a store waits for its region's radius cap before using its own.
inline constexpr std::chrono::milliseconds region_radius_timeout{500};
/// Orders a store holds open (paid, not ended); a sync for one more is
/// answered `overloaded` and the order's outbox tries again later.
inline constexpr std::size_t store_open_orders_max = 1024;
/// Ended orders a store remembers, so a late sync never reopens one.
inline constexpr std::size_t store_closed_orders_max = 512;
/// Of those, the newest keep their items and total, for a gateway that
/// subscribes again (subscribe_cmd::recent_ended_ms); older ones keep id
/// and final status only.
inline constexpr std::size_t store_closed_bodies_max = 32;
static_assert(store_closed_bodies_max <= store_closed_orders_max);
/// Events between snapshots of a store's stream (bounds recovery reads).
inline constexpr std::size_t store_snapshot_every = 128;

/// Gateway actors subscribed to an entity's pushes: deduplicated, bounded,
/// monitored by the owner (which calls `remove` on their down_msg). Shared
/// by the store and order entities.
class gateway_set {
public:
  explicit gateway_set(std::size_t max) : max_(max) {}
  /// Adds `gw` (no-op if present). False if the set is full.
  bool add(const caf::actor& gw);
  /// Removes the gateway with this address; true if it was there.
  bool remove(const caf::actor_addr& addr);
  /// Sends (push_atom, topic, x) to every gateway.
  template <class Self, class T>
  void push(Self* self, const std::string& topic, const T& x) const {
    for (auto& gw : gws_)
      self->send(gw, push_atom::value, topic, x);
  }
  std::size_t size() const noexcept { return gws_.size(); }
  const std::vector<caf::actor>& all() const noexcept { return gws_; }

private:
  std::size_t max_;
  std::vector<caf::actor> gws_;
};

/// The H3 cell (region_res) of a point, as a string; empty if the point is
/// not a valid coordinate.
std::string region_cell_of(double lat, double lng, int res);

/// Spawns the store entity of `ctx.self` (a router factory calls this).
caf::actor spawn_store_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services);

} // namespace courier::actors
