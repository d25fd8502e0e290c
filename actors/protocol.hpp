#pragma once
/// \file
/// The actors layer's contract: every message entities send each other and
/// that the gateway sends them, with the entity kinds, tunables and
/// services they share. One header so the whole domain conversation can be
/// read in one place; each entity's .hpp says which of these it handles.
///
/// Conventions:
/// - Client commands arrive as `*_cmd` structs carrying the authenticated
///   `caller` (from the token; never from the message body) and the
///   client's struct from messages/; the reply is the client's reply struct
///   (msg::ok_reply, msg::order_placed, ...) or a caf::error made with
///   cluster::to_caf_error (codes are PROTOCOL.md's).
/// - Entities reach each other only by cluster::entity_ref via the router.
/// - Pushes to clients go to gateway actors as (push_atom, topic, msg::X).
/// - No std::optional in these structs: CAF 0.17 cannot inspect it; use the
///   named sentinels below.

#include "actors/journal_events.hpp"
#include "cluster/entity_ref.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "messages/client.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::actors {

// -- kinds and topics ---------------------------------------------------------

/// Entity kinds (the `kind` of cluster::entity_ref).
namespace kind {
inline const std::string order = "order";
inline const std::string payment = "payment";
inline const std::string store = "store";
inline const std::string rider = "rider";
inline const std::string region = "region";
inline const std::string dispatch = "dispatch";
inline const std::string reminder = "reminder";
inline const std::string delays = "delays";
} // namespace kind

inline cluster::entity_ref order_ref(const core::order_id& id) { return {kind::order, id.str()}; }
inline cluster::entity_ref payment_ref(const core::order_id& id) { return {kind::payment, id.str()}; }
inline cluster::entity_ref store_ref(const core::store_id& id) { return {kind::store, id.str()}; }
inline cluster::entity_ref rider_ref(const core::rider_id& id) { return {kind::rider, id.str()}; }
inline cluster::entity_ref dispatch_ref(const core::order_id& id) { return {kind::dispatch, id.str()}; }
inline cluster::entity_ref region_ref(const std::string& cell) { return {kind::region, cell}; }
/// The single delayed-order board ("delays:all").
inline cluster::entity_ref delays_ref() { return {kind::delays, "all"}; }

/// "No value" for numeric fields that the protocol marks optional.
inline constexpr std::int64_t none_i64 = -1;

// -- who is asking ------------------------------------------------------------

/// The authenticated client behind a command (from its token).
struct caller {
  msg::role role = msg::role::customer;
  std::string id;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, caller& x) {
    return f(x.role, x.id);
  }
};

/// Internal callers (entity to entity) use this identity.
inline caller system_caller() { return caller{msg::role::admin, "system"}; }

// -- pushes to gateways ---------------------------------------------------------

/// (push_atom, std::string topic, msg::X): deliver msg::X to every session of
/// this gateway subscribed to `topic` ("order:o-1", "store:s-1", "rider:r-1",
/// "region:<cell>"). X is one of order_status_msg, rider_position,
/// rider_nearby, new_order, rider_arriving, offer, region_stats.
using push_atom = caf::atom_constant<caf::atom("a.push")>;

/// (resubscribe_atom, std::string topic): an activation with subscribers is
/// stopping (passivation, its key moving to another node, a journal error);
/// its subscriptions live in its memory only, so each gateway subscribes
/// again through the router and the next activation, wherever it runs,
/// knows it.
using resubscribe_atom = caf::atom_constant<caf::atom("a.resub")>;

/// Sends (resubscribe_atom, topic) to every gateway in `gateways`.
template <class Self, class Gateways>
void ask_to_resubscribe(Self* self, const Gateways& gateways, const std::string& topic) {
  for (auto& gw : gateways)
    self->send(gw, resubscribe_atom::value, topic);
}

/// A gateway asks an entity for pushes on its topic; the entity keeps the
/// gateway actor (monitored, deduplicated) until unsubscribe or its death.
struct subscribe_cmd {
  caller who;
  caf::actor gateway;
  /// A gateway subscribing again (its subscription may have been lost with
  /// a broken connection) asks a store for the orders that ended within
  /// this many ms too: its sessions may have missed them meanwhile. 0: open
  /// orders only (a new session).
  std::int64_t recent_ended_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, subscribe_cmd& x) {
    return f(x.who, x.gateway, x.recent_ended_ms);
  }
};
/// Stops pushes to `gateway` (its last session on the topic left).
struct unsubscribe_cmd {
  caf::actor gateway;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, unsubscribe_cmd& x) {
    return f(x.gateway);
  }
};

// -- order:<order_id> ---------------------------------------------------------

/// Customer places an order -> msg::order_placed. The gateway derives the
/// order id from (customer, request_id) (order_id_for), so a retry reaches
/// the same entity and gets the same answer.
struct place_order_cmd {
  caller who;
  core::order_id order_id;
  msg::place_order body;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, place_order_cmd& x) {
    return f(x.who, x.order_id, x.body);
  }
};

/// What a store, rider or customer does to an order.
enum class order_action : std::uint8_t {
  accept,     ///< store: accept_order (prep_minutes)
  reject,     ///< store: reject_order (reason)
  cooking,    ///< store
  ready,      ///< store
  picked_up,  ///< assigned rider
  delivering, ///< assigned rider
  delivered,  ///< assigned rider
  cancel,     ///< customer (or admin)
};

/// A state change request -> msg::ok_reply{version} or error (forbidden,
/// conflict, not_found).
struct order_cmd {
  caller who;
  order_action action = order_action::accept;
  std::uint32_t prep_minutes = 0;
  std::string reason;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, order_cmd& x) {
    return f(x.who, x.action, x.prep_minutes, x.reason);
  }
};

/// subscribe_cmd on an order -> msg::order_snapshot (forbidden unless the
/// caller is the order's customer, store, rider or an admin).

/// REST GET /v1/orders/{id} -> order_view.
struct order_query {
  caller who;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, order_query& x) {
    return f(x.who);
  }
};
struct order_view {
  core::order_id order_id;
  core::customer_id customer_id;
  core::store_id store_id;
  msg::order_status status = msg::order_status::placed;
  std::uint64_t version = 0;
  std::string rider_id;          ///< empty: none assigned
  std::int64_t eta_s = none_i64;
  std::int64_t placed_at_ms = 0;
  std::string payment; ///< payment_state() of the order

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, order_view& x) {
    return f(x.order_id, x.customer_id, x.store_id, x.status, x.version,
             x.rider_id, x.eta_s, x.placed_at_ms, x.payment);
  }
};

/// dispatch -> order: this rider accepted offer `offer_id` -> msg::ok_reply
/// or conflict (order cancelled or already assigned to someone else).
struct assign_rider {
  core::offer_id offer_id;
  core::rider_id rider_id;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, assign_rider& x) {
    return f(x.offer_id, x.rider_id);
  }
};

/// assigned rider -> order: where the rider is now (for subscribers' pushes,
/// eta, rider_nearby and rider_arriving).
struct rider_moved {
  core::rider_id rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_moved& x) {
    return f(x.rider_id, x.lat, x.lng, x.at_ms);
  }
};

// -- payment:<order_id> -------------------------------------------------------

enum class payment_op : std::uint8_t { authorize, capture, void_auth, refund };
enum class payment_outcome : std::uint8_t {
  approved,  ///< done
  declined,  ///< final no (authorize only)
  failed,    ///< gave up after the bounded retries
};

/// order -> payment: perform `op` once (deduplicated by op_id); the result
/// comes back later as payment_result to `reply_to` (retries and provider
/// latency make it asynchronous).
struct payment_request {
  std::string op_id;
  payment_op op = payment_op::authorize;
  std::int64_t amount_minor = 0;
  cluster::entity_ref reply_to;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payment_request& x) {
    return f(x.op_id, x.op, x.amount_minor, x.reply_to);
  }
};
struct payment_result {
  std::string op_id;
  payment_op op = payment_op::authorize;
  payment_outcome outcome = payment_outcome::approved;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payment_result& x) {
    return f(x.op_id, x.op, x.outcome);
  }
};

// -- store:<store_id> ---------------------------------------------------------

/// Admin upsert_store -> msg::ok_reply.
struct store_upsert_cmd {
  caller who;
  msg::upsert_store body;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_upsert_cmd& x) {
    return f(x.who, x.body);
  }
};
/// order -> store: may an order to `dropoff` be placed? -> store_info
/// (not_found for a store never upserted).
struct store_check {
  msg::lat_lng dropoff;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_check& x) {
    return f(x.dropoff);
  }
};
struct store_info {
  core::store_id store_id;
  msg::lat_lng location;
  std::int64_t base_radius_m = 0;
  std::int64_t effective_radius_m = 0;
  bool open = false;
  double dropoff_distance_m = 0.0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_info& x) {
    return f(x.store_id, x.location, x.base_radius_m, x.effective_radius_m,
             x.open, x.dropoff_distance_m);
  }
};
/// Admin radius_trigger for `store:<id>` or a region cell -> msg::radius_result.
struct radius_trigger_cmd {
  caller who;
  msg::radius_trigger body;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, radius_trigger_cmd& x) {
    return f(x.who, x.body);
  }
};
/// store -> region: the region's held radius cap -> region_radius.
struct region_radius_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_radius_query&) {
    return f();
  }
};
struct region_radius {
  std::int64_t radius_m = none_i64; ///< none_i64: no cap held

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_radius& x) {
    return f(x.radius_m);
  }
};
/// order -> store (the outbox effect store_sync): the order's latest state
/// -> msg::ok_reply once the store journaled it (an error otherwise: the
/// order sends it again). Repeats and stale ones are answered ok.
struct store_sync {
  store_order order;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_sync& x) {
    return f(x.order);
  }
};
/// The store's answer to subscribe_cmd: its open orders (paid and not yet
/// ended), oldest first, for the session to catch up on.
struct store_snapshot {
  std::vector<store_order> orders;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_snapshot& x) {
    return f(x.orders);
  }
};

// -- rider:<rider_id> ---------------------------------------------------------

/// Rider position -> msg::ack{highest seq accepted}.
struct position_cmd {
  caller who;
  msg::position body;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, position_cmd& x) {
    return f(x.who, x.body);
  }
};
/// Rider availability -> msg::ok_reply.
struct availability_cmd {
  caller who;
  bool available = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, availability_cmd& x) {
    return f(x.who, x.available);
  }
};
/// Rider accept/reject of an offer -> msg::ok_reply or conflict.
struct offer_answer_cmd {
  caller who;
  core::offer_id offer_id;
  bool accept = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, offer_answer_cmd& x) {
    return f(x.who, x.offer_id, x.accept);
  }
};
/// Rider status report -> msg::ok_reply{version} (the rider entity checks
/// the order is its assigned one and forwards an order_cmd).
struct rider_status_cmd {
  caller who;
  msg::status_report body;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_status_cmd& x) {
    return f(x.who, x.body);
  }
};
/// dispatch -> rider: would you take this? -> offer_reply. The rider pushes
/// msg::offer to its sessions (topic "rider:<id>") when it takes the offer.
struct offer_request {
  msg::offer offer;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, offer_request& x) {
    return f(x.offer);
  }
};
struct offer_reply {
  bool offered = false; ///< false: rider unavailable, busy or holding an offer

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, offer_reply& x) {
    return f(x.offered);
  }
};
/// dispatch -> rider: the offer is gone (expired or order cancelled).
struct offer_withdrawn {
  core::offer_id offer_id;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, offer_withdrawn& x) {
    return f(x.offer_id);
  }
};
/// dispatch -> rider: the order confirmed you (after assign_rider succeeded).
struct rider_assigned {
  core::order_id order_id;
  core::offer_id offer_id;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_assigned& x) {
    return f(x.order_id, x.offer_id);
  }
};
/// order -> rider: the order ended (delivered or cancelled); free again.
struct rider_released {
  core::order_id order_id;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_released& x) {
    return f(x.order_id);
  }
};

// -- region:<h3 cell> ---------------------------------------------------------

enum class rider_state : std::uint8_t { available, busy, offline };

/// How a region message reached the cell handling it: from the rider
/// itself, from the cell's split parent (handing down), or from a child
/// that is no longer active (handing up). region_actor.hpp has the rules.
enum class region_via : std::uint8_t { rider, parent, child };

/// rider -> region (the cell it reports to: the deepest active cell of its
/// position, as far as it knows): where it is and whether it can take
/// offers. A rider that moves out of that cell sends region_rider_leave to
/// it first. Regions forward it (up or down) when they do not own it.
struct region_rider_update {
  core::rider_id rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0;
  rider_state state = rider_state::available;
  /// The rider's highest accepted position seq: a cell drops a forwarded
  /// update older than what it holds (two paths to one cell can reorder).
  std::uint64_t seq = 0;
  /// The cell the rider addressed ("" = the cell that receives it); the
  /// cell that ends up owning it tells the rider to report there instead.
  std::string reported_to;
  region_via via = region_via::rider;
  std::uint8_t hops = 0; ///< forwards so far (bounded: region_forward_hops_max)

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_rider_update& x) {
    return f(x.rider_id, x.lat, x.lng, x.at_ms, x.state, x.seq, x.reported_to, x.via, x.hops);
  }
};
/// rider -> region: the rider is no longer in this cell from its position
/// `seq` on; (lat,lng) is where it was in the cell (a split cell routes
/// the leave down by it).
struct region_rider_leave {
  core::rider_id rider_id;
  std::uint64_t seq = 0;
  double lat = 0.0;
  double lng = 0.0;
  region_via via = region_via::rider;
  std::uint8_t hops = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_rider_leave& x) {
    return f(x.rider_id, x.seq, x.lat, x.lng, x.via, x.hops);
  }
};
/// region -> rider: report to `cell` from now on; it is the deepest active
/// cell of the rider's position `seq` (deeper after a split, higher after
/// a merge). The rider ignores it if older than one it took, or if its
/// position is no longer inside `cell`.
struct region_route {
  std::string cell;
  std::uint64_t seq = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_route& x) {
    return f(x.cell, x.seq);
  }
};
/// dispatch -> region: available riders with a fresh position within
/// `radius_m` of (lat,lng), nearest first, at most `limit` -> region_candidates.
struct region_find_riders {
  double lat = 0.0;
  double lng = 0.0;
  double radius_m = 0.0;
  std::uint32_t limit = 0;
  std::vector<core::rider_id> exclude;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_find_riders& x) {
    return f(x.lat, x.lng, x.radius_m, x.limit, x.exclude);
  }
};
struct rider_candidate {
  core::rider_id rider_id;
  double lat = 0.0;
  double lng = 0.0;
  double distance_m = 0.0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, rider_candidate& x) {
    return f(x.rider_id, x.lat, x.lng, x.distance_m);
  }
};
struct region_candidates {
  std::vector<rider_candidate> riders;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_candidates& x) {
    return f(x.riders);
  }
};
/// order -> region (the store's cell at cfg.region_res): an order entered
/// `to` (and left `from`, unless it is new), for live stats. It is counted
/// in the deepest active cell containing the store.
struct region_order_delta {
  core::order_id order_id;
  msg::order_status to = msg::order_status::placed;
  bool is_new = false;
  msg::order_status from = msg::order_status::placed; ///< valid if !is_new
  double lat = 0.0; ///< the drop-off, for the live map
  double lng = 0.0;
  /// The store (pickup): a split region hands the delta down to the child
  /// containing it. 0,0 (unknown) keeps the order at the cell addressed.
  double store_lat = 0.0;
  double store_lng = 0.0;
  region_via via = region_via::rider; ///< rider: from the order itself

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_order_delta& x) {
    return f(x.order_id, x.to, x.is_new, x.from, x.lat, x.lng, x.store_lat, x.store_lng,
             x.via);
  }
};
/// Admin REST stats -> msg::region_stats.
struct region_stats_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, region_stats_query&) {
    return f();
  }
};

// -- dispatch:<order_id> ------------------------------------------------------

/// order -> dispatch: find a rider (idempotent: a second start is ignored).
struct dispatch_start {
  core::order_id order_id;
  core::store_id store_id;
  msg::lat_lng store;
  msg::lat_lng dropoff;
  double radius_m = 0.0; ///< rider search radius; 0 = the node's --dispatch-radius-m

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dispatch_start& x) {
    return f(x.order_id, x.store_id, x.store, x.dropoff, x.radius_m);
  }
};
/// order -> dispatch: stop (order cancelled/rejected); withdraws any offer.
struct dispatch_stop {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dispatch_stop&) {
    return f();
  }
};
/// rider -> dispatch: the rider's answer -> msg::ok_reply or conflict.
struct dispatch_answer {
  core::offer_id offer_id;
  core::rider_id rider_id;
  bool accept = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, dispatch_answer& x) {
    return f(x.offer_id, x.rider_id, x.accept);
  }
};

// -- reminder:<shard> and delays:all -----------------------------------------

/// Durable timers (Orleans-style reminders): survive passivation and node
/// restarts. Set/cancel are idempotent per (target, tag).
struct reminder_set {
  cluster::entity_ref target;
  std::string tag;
  core::time_ms due_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, reminder_set& x) {
    return f(x.target, x.tag, x.due_ms);
  }
};
struct reminder_cancel {
  cluster::entity_ref target;
  std::string tag;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, reminder_cancel& x) {
    return f(x.target, x.tag);
  }
};
/// reminder -> target when due (at least once; the target deduplicates by tag).
struct reminder_fired {
  std::string tag;
  core::time_ms due_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, reminder_fired& x) {
    return f(x.tag, x.due_ms);
  }
};
/// Node start: wake every reminder shard so it re-arms its timers.
struct reminder_wake {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, reminder_wake&) {
    return f();
  }
};

/// order -> delays:all: this order is late (its 30 min alert fired), or
/// its status changed, or it finished (remove).
struct delay_update {
  core::order_id order_id;
  msg::order_status status = msg::order_status::placed;
  core::time_ms placed_at_ms = 0;
  bool finished = false;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, delay_update& x) {
    return f(x.order_id, x.status, x.placed_at_ms, x.finished);
  }
};
/// Admin delayed_orders -> msg::delayed_orders (age from the caller's clock).
struct delayed_orders_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, delayed_orders_query&) {
    return f();
  }
};

} // namespace courier::actors
