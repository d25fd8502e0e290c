#pragma once
/// \file
/// The order's state machine as a pure class (no CAF): what an order is, who
/// may change it how, and which effects it still owes the world. The order
/// actor is a thin shell around it: it asks `decide_*` for the events a
/// command produces, journals them, then `apply`s them and performs the
/// effects `pending_effects()` lists (the outbox, derived from state, so a
/// recovered order knows exactly what it still has to send).
///
/// Versions: `version` starts at 1 when the order is placed and goes up by
/// one on every client-visible change (a status change or a rider
/// assignment). Bookkeeping events (payment outcomes that do not change the
/// status, confirmations of effects, "rider_nearby sent") do not bump it.

#include "core/clock.hpp"
#include "core/result.hpp"
#include "messages/domain.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace courier::actors {

/// A point in WGS84 degrees (kept CAF-free; the actor converts msg::lat_lng).
struct geo_point {
  double lat = 0.0;
  double lng = 0.0;
};

/// Great-circle distance in metres (geo::distance_m, haversine).
double distance_m(geo_point a, geo_point b) noexcept;

/// Seconds to cover `metres` at `speed_mps` (rounded up; 0 for speed <= 0).
std::uint32_t eta_s(double metres, double speed_mps) noexcept;

/// One line of an order (price per unit, minor units).
struct order_line {
  std::string sku;
  std::uint32_t qty = 0;
  std::int64_t price_minor = 0;
};

/// The payment steps an order drives, and how each ended.
enum class pay_step : std::uint8_t { authorize, capture, void_auth };
enum class pay_outcome : std::uint8_t { approved, declined, failed };

/// Who is acting on the order (the caller's role and id).
struct order_actor_id {
  msg::role role = msg::role::customer;
  std::string id;
};

/// Everything the order journals. One flat struct per event keeps the codec
/// trivial; `kind` says which fields are meaningful.
struct order_event {
  enum class kind : std::uint8_t {
    placed,      ///< customer, request, store, lines, total, dropoff, store_at, store_cell, at_ms
    status,      ///< to, at_ms, reason
    assigned,    ///< rider_id, offer_id, at_ms
    payment,     ///< step, outcome
    effect_done, ///< effect
    nearby,      ///< rider_nearby sent (distance_m)
    arriving,    ///< rider_arriving sent
    alerted,     ///< the 30 min delay alert went to delays:all
    store_synced, ///< the store recorded the order up to synced_version (and arriving)
  };
  kind what = kind::status;
  std::string customer_id;
  std::string request_id;
  std::string store_id;
  std::vector<order_line> lines;
  std::int64_t total_minor = 0;
  geo_point dropoff;
  geo_point store_at;
  std::string store_cell;
  std::int64_t store_radius_m = 0; ///< the store's effective radius when placed
  core::time_ms at_ms = 0;
  msg::order_status to = msg::order_status::placed;
  std::string reason;
  std::string rider_id;
  std::string offer_id;
  pay_step step = pay_step::authorize;
  pay_outcome outcome = pay_outcome::approved;
  std::uint8_t effect = 0;
  double distance_m = 0.0;
  std::uint32_t eta_s = 0;          ///< arriving: the rider's ETA to the store
  std::uint64_t synced_version = 0; ///< store_synced
  bool synced_arriving = false;     ///< store_synced: rider_arriving included
};

/// Effects an order owes; each is re-sent until confirmed (journaled).
enum class order_effect : std::uint8_t {
  authorize,        ///< payment_request authorize (confirmed by its result)
  capture,          ///< payment_request capture (after delivered)
  void_auth,        ///< payment_request void (after rejected/cancelled)
  /// store_sync: the store records the order's latest state (from `paid`:
  /// its items, each status, rider_arriving), so its sessions get them or a
  /// snapshot of them; owed again after every change the store has not
  /// recorded. Confirmed by a store_synced event, not by its done bit.
  store_sync,
  dispatch_start,   ///< dispatch_start to dispatch:<id>
  dispatch_stop,    ///< dispatch_stop on reject/cancel after dispatch started
  rider_released,   ///< rider_released on delivered/cancelled
  reminder_set,     ///< the durable delay-alert timer
  delay_cleared,    ///< delays:all forgets a finished order it was told about
  reminder_cancel,  ///< the timer is no longer needed (all else done)
};
inline constexpr std::size_t order_effect_count = 10;

/// Attempts per payment step before the order stops asking (an operator
/// alert; the reminder re-activates the order to try again later).
inline constexpr std::uint32_t pay_attempts_max = 16;

/// The order's whole state.
struct order_data {
  std::string order_id;
  std::string customer_id;
  std::string request_id;
  std::string store_id;
  std::vector<order_line> lines;
  std::int64_t total_minor = 0;
  geo_point dropoff;
  geo_point store_at;
  std::string store_cell;
  std::int64_t store_radius_m = 0;
  core::time_ms placed_at_ms = 0;
  msg::order_status status = msg::order_status::placed;
  std::uint64_t version = 0; ///< 0: not placed
  core::time_ms status_at_ms = 0;
  core::time_ms accepted_at_ms = 0; ///< when the store accepted (0: not yet)
  std::string rider_id;
  std::string offer_id;
  bool nearby_sent = false;
  bool arriving_sent = false;
  std::uint32_t arriving_eta_s = 0;
  bool alerted = false;
  bool store_involved = false;          ///< it was paid: the store is told from then on
  std::uint64_t store_synced_version = 0; ///< the store recorded up to this version
  bool store_synced_arriving = false;   ///< ... and the arriving notice
  bool dispatch_started = false;     ///< dispatch_start was owed at some point
  // payment saga
  bool auth_known = false;
  pay_outcome auth = pay_outcome::approved;
  bool captured = false;
  bool voided = false;
  std::uint32_t capture_failures = 0;
  std::uint32_t void_failures = 0;
  std::uint32_t done_mask = 0;       ///< confirmed order_effects (bit per effect)
};

/// True for delivered, payment_failed, rejected, cancelled.
bool is_terminal(msg::order_status s) noexcept;

/// Where an order's payment stands, as GET /v1/orders/{id} shows it:
/// "pending" (no authorization answer yet), "declined", "auth_failed" (no
/// answer from the provider; voided next), "authorized", "captured" or
/// "voided". Lets an outside check prove an
/// order never ends off the main line with its payment captured.
const char* payment_state(const order_data& d) noexcept;

/// True if an order may move from `from` to `to` (ignoring who asks).
bool transition_allowed(msg::order_status from, msg::order_status to) noexcept;

/// Rank on the main line (placed=0 .. delivered=7); off-line statuses rank
/// after everything they can follow, so "never earlier" is `rank` order
/// within one order's history.
int status_rank(msg::order_status s) noexcept;

/// The order state machine.
class order_state {
public:
  /// Whether a placed event was applied.
  bool exists() const noexcept { return data_.version > 0; }
  const order_data& data() const noexcept { return data_; }
  void set_id(std::string order_id) { data_.order_id = std::move(order_id); }

  /// May `who` see this order (subscribe, query)? customer, its store, its
  /// rider, admin.
  bool may_view(const order_actor_id& who) const;

  /// A status change requested by `who` -> the status event, or forbidden
  /// (wrong actor) / conflict (illegal or stale) / not_found.
  core::result<order_event> decide_change(const order_actor_id& who,
                                          msg::order_status to,
                                          core::time_ms now,
                                          std::string reason = {}) const;

  /// dispatch assigns a rider -> assigned event; conflict if the order is
  /// past dispatch or already has another rider. An identical repeat is a
  /// no-op (empty events).
  core::result<std::vector<order_event>> decide_assign(const std::string& rider_id,
                                                       const std::string& offer_id,
                                                       core::time_ms now) const;

  /// The payment entity reported `step` -> events (status changes included).
  /// Duplicates (outcome already known) give no events.
  std::vector<order_event> decide_payment(pay_step step, pay_outcome outcome,
                                          core::time_ms now) const;

  /// Becomes the archived final state `d` (decode_archived_order): a
  /// finished order that owes nothing, for reads after its stream was
  /// dropped. Precondition: nothing was applied yet; `d` is terminal.
  void restore_archived(order_data d);

  /// Applies one journaled event (also used by recovery).
  void apply(const order_event& ev);

  /// What the order still owes the world, in the order to send it.
  std::vector<order_effect> pending_effects() const;

  /// The payment op id of `step` for the current attempt (deduplicated by
  /// the payment entity).
  std::string op_id(pay_step step) const;

  /// Target of the rider's current leg: the store before pickup, else the
  /// drop-off.
  bool before_pickup() const noexcept;

private:
  bool done(order_effect e) const noexcept {
    return (data_.done_mask >> static_cast<unsigned>(e)) & 1U;
  }
  /// forbidden / not_found / conflict for `who` moving the order to `to`;
  /// errc::none when allowed.
  core::error check(const order_actor_id& who, msg::order_status to) const;
  void apply_payment(const order_event& ev);
  void apply_status(const order_event& ev);

  order_data data_;
};

} // namespace courier::actors
