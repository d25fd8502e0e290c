#include "actors/order_state.hpp"

#include "core/assert.hpp"
#include "geo/distance.hpp"

#include <cmath>

namespace courier::actors {

using msg::order_status;

double distance_m(geo_point a, geo_point b) noexcept {
  return geo::distance_m({a.lat, a.lng}, {b.lat, b.lng});
}

std::uint32_t eta_s(double metres, double speed_mps) noexcept {
  if (!(speed_mps > 0) || !(metres > 0))
    return 0;
  // Bounded so a corrupt position can not overflow the wire field.
  constexpr double eta_s_max = 24.0 * 3600.0;
  return static_cast<std::uint32_t>(std::ceil(std::fmin(metres / speed_mps, eta_s_max)));
}

bool is_terminal(order_status s) noexcept {
  return s == order_status::delivered || s == order_status::payment_failed ||
         s == order_status::rejected || s == order_status::cancelled;
}

int status_rank(order_status s) noexcept {
  switch (s) {
    case order_status::payment_failed: return 1; // only ever follows placed
    case order_status::rejected: return 8;
    case order_status::cancelled: return 8;
    default: return static_cast<int>(s);
  }
}

const char* payment_state(const order_data& d) noexcept {
  if (d.captured)
    return "captured";
  if (d.voided)
    return "voided";
  if (!d.auth_known)
    return "pending";
  switch (d.auth) {
    case pay_outcome::approved: return "authorized";
    case pay_outcome::declined: return "declined";
    case pay_outcome::failed: break;
  }
  return "auth_failed"; // the provider did not answer: it is voided next

}

bool transition_allowed(order_status from, order_status to) noexcept {
  using S = order_status;
  switch (from) {
    case S::placed:
      return to == S::paid || to == S::payment_failed || to == S::cancelled;
    case S::paid:
      return to == S::accepted || to == S::rejected || to == S::cancelled;
    case S::accepted:
      return to == S::cooking || to == S::ready || to == S::rejected ||
             to == S::cancelled;
    case S::cooking:
      return to == S::ready || to == S::picked_up || to == S::cancelled;
    case S::ready:
      return to == S::picked_up || to == S::cancelled;
    case S::picked_up:
      return to == S::delivering || to == S::delivered;
    case S::delivering:
      return to == S::delivered;
    default:
      return false; // terminal
  }
}

bool order_state::may_view(const order_actor_id& who) const {
  switch (who.role) {
    case msg::role::admin: return true;
    case msg::role::customer: return who.id == data_.customer_id;
    case msg::role::store: return who.id == data_.store_id;
    case msg::role::rider: return !data_.rider_id.empty() && who.id == data_.rider_id;
  }
  return false;
}

void order_state::restore_archived(order_data d) {
  COURIER_ASSERT(!exists());
  COURIER_ASSERT(d.version > 0);
  COURIER_ASSERT(is_terminal(d.status));
  // Everything it owed was confirmed before it was archived: say so, so
  // pending_effects() stays empty and nothing is ever sent again.
  // Archives written before the payment fields were kept say nothing:
  // then everything it owed was confirmed, so a delivered order was
  // captured and any other one voided.
  d.auth_known = true;
  if (!d.captured && !d.voided) {
    d.captured = d.status == msg::order_status::delivered;
    d.voided = !d.captured;
  }
  d.done_mask = (1U << order_effect_count) - 1;
  data_ = std::move(d);
  COURIER_ASSERT(pending_effects().empty());
}

core::error order_state::check(const order_actor_id& who, order_status to) const {
  using S = order_status;
  const auto& d = data_;
  bool store_step = to == S::accepted || to == S::rejected || to == S::cooking ||
                    to == S::ready;
  bool rider_step = to == S::picked_up || to == S::delivering || to == S::delivered;
  bool allowed_actor = false;
  switch (who.role) {
    case msg::role::customer:
      allowed_actor = to == S::cancelled && who.id == d.customer_id;
      break;
    case msg::role::store:
      allowed_actor = store_step && who.id == d.store_id;
      break;
    case msg::role::rider:
      allowed_actor = rider_step && !d.rider_id.empty() && who.id == d.rider_id;
      break;
    case msg::role::admin:
      // Payment outcomes are the saga's, never a person's.
      allowed_actor = to != S::placed && to != S::paid && to != S::payment_failed;
      break;
  }
  if (!exists())
    return {core::errc::not_found, "no order " + d.order_id};
  if (!allowed_actor)
    return {core::errc::forbidden, "not allowed to set " +
                                       std::string{msg::to_string(to)}};
  if (!transition_allowed(d.status, to))
    return {core::errc::conflict, std::string{msg::to_string(d.status)} + " -> " +
                                      std::string{msg::to_string(to)}};
  if (rider_step && d.rider_id.empty())
    return {core::errc::conflict, "no rider assigned"};
  return {};
}

core::result<order_event> order_state::decide_change(const order_actor_id& who,
                                                     order_status to,
                                                     core::time_ms now,
                                                     std::string reason) const {
  auto err = check(who, to);
  if (err.code != core::errc::none)
    return err;
  order_event ev;
  ev.what = order_event::kind::status;
  ev.to = to;
  ev.at_ms = now;
  ev.reason = std::move(reason);
  return ev;
}

core::result<std::vector<order_event>>
order_state::decide_assign(const std::string& rider_id, const std::string& offer_id,
                           core::time_ms now) const {
  using S = order_status;
  const auto& d = data_;
  if (!exists())
    return core::error{core::errc::not_found, "no order " + d.order_id};
  if (!d.rider_id.empty()) {
    if (d.rider_id == rider_id && d.offer_id == offer_id)
      return std::vector<order_event>{}; // a retried assignment
    return core::error{core::errc::conflict, "order has a rider"};
  }
  if (d.status != S::accepted && d.status != S::cooking && d.status != S::ready)
    return core::error{core::errc::conflict, "order is not waiting for a rider"};
  order_event ev;
  ev.what = order_event::kind::assigned;
  ev.rider_id = rider_id;
  ev.offer_id = offer_id;
  ev.at_ms = now;
  return std::vector<order_event>{ev};
}

std::vector<order_event> order_state::decide_payment(pay_step step, pay_outcome outcome,
                                                     core::time_ms now) const {
  const auto& d = data_;
  std::vector<order_event> out;
  if (!exists())
    return out;
  bool duplicate = (step == pay_step::authorize && d.auth_known) ||
                   (step == pay_step::capture && d.captured) ||
                   (step == pay_step::void_auth && d.voided);
  if (duplicate)
    return out;
  order_event ev;
  ev.what = order_event::kind::payment;
  ev.step = step;
  ev.outcome = outcome;
  out.push_back(ev);
  if (step == pay_step::authorize && d.status == order_status::placed) {
    order_event st;
    st.what = order_event::kind::status;
    st.to = outcome == pay_outcome::approved ? order_status::paid
                                             : order_status::payment_failed;
    st.at_ms = now;
    out.push_back(st);
  }
  return out;
}

void order_state::apply_status(const order_event& ev) {
  auto& d = data_;
  COURIER_ASSERT(transition_allowed(d.status, ev.to));
  COURIER_ASSERT(status_rank(ev.to) > status_rank(d.status));
  // The saga's invariant: an order that ends without delivery never holds a
  // captured payment (capture happens only after delivered, which is final).
  if (ev.to == order_status::cancelled || ev.to == order_status::rejected)
    COURIER_ASSERT(!d.captured);
  if (ev.to == order_status::accepted)
    d.dispatch_started = true;
  d.status = ev.to;
  d.status_at_ms = ev.at_ms;
  if (ev.to == order_status::accepted)
    d.accepted_at_ms = ev.at_ms;
  if (ev.to == order_status::paid)
    d.store_involved = true;
  d.version += 1;
}

void order_state::apply_payment(const order_event& ev) {
  auto& d = data_;
  switch (ev.step) {
    case pay_step::authorize:
      d.auth_known = true;
      d.auth = ev.outcome;
      break;
    case pay_step::capture:
      COURIER_ASSERT(d.status == order_status::delivered);
      if (ev.outcome == pay_outcome::approved)
        d.captured = true;
      else
        d.capture_failures += 1;
      break;
    case pay_step::void_auth:
      COURIER_ASSERT(!d.captured);
      if (ev.outcome == pay_outcome::approved)
        d.voided = true;
      else
        d.void_failures += 1;
      break;
  }
}

void order_state::apply(const order_event& ev) {
  auto& d = data_;
  auto version_before = d.version;
  switch (ev.what) {
    case order_event::kind::placed:
      COURIER_ASSERT(!exists());
      d.customer_id = ev.customer_id;
      d.request_id = ev.request_id;
      d.store_id = ev.store_id;
      d.lines = ev.lines;
      d.total_minor = ev.total_minor;
      d.dropoff = ev.dropoff;
      d.store_at = ev.store_at;
      d.store_cell = ev.store_cell;
      d.store_radius_m = ev.store_radius_m;
      d.placed_at_ms = ev.at_ms;
      d.status_at_ms = ev.at_ms;
      d.status = order_status::placed;
      d.version = 1;
      break;
    case order_event::kind::status:
      apply_status(ev);
      break;
    case order_event::kind::assigned:
      COURIER_ASSERT(d.rider_id.empty());
      d.rider_id = ev.rider_id;
      d.offer_id = ev.offer_id;
      d.version += 1;
      break;
    case order_event::kind::payment:
      apply_payment(ev);
      break;
    case order_event::kind::effect_done:
      COURIER_ASSERT(ev.effect < order_effect_count);
      d.done_mask |= 1U << ev.effect;
      // Journals from before store_sync confirmed the new_order notice this
      // way: the store had it as of now.
      if (ev.effect == static_cast<std::uint8_t>(order_effect::store_sync))
        d.store_synced_version = std::max(d.store_synced_version, d.version);
      break;
    case order_event::kind::store_synced:
      d.store_synced_version = std::max(d.store_synced_version, ev.synced_version);
      d.store_synced_arriving = d.store_synced_arriving || ev.synced_arriving;
      break;
    case order_event::kind::nearby:
      d.nearby_sent = true;
      break;
    case order_event::kind::arriving:
      d.arriving_sent = true;
      d.arriving_eta_s = ev.eta_s;
      break;
    case order_event::kind::alerted:
      d.alerted = true;
      break;
  }
  COURIER_ASSERT(d.version >= version_before);
}

std::vector<order_effect> order_state::pending_effects() const {
  using S = order_status;
  using E = order_effect;
  const auto& d = data_;
  std::vector<order_effect> out;
  if (!exists())
    return out;
  bool ended_unpaid = d.status == S::rejected || d.status == S::cancelled;
  if (!done(E::reminder_set))
    out.push_back(E::reminder_set);
  if (!d.auth_known && (d.status == S::placed || d.status == S::cancelled))
    out.push_back(E::authorize);
  if (d.status == S::delivered && !d.captured && d.capture_failures < pay_attempts_max)
    out.push_back(E::capture);
  // An authorization whose every attempt failed (timeouts) may still hold
  // money at the provider: the answer was lost, not the hold. It is voided
  // like an approved one (issue #12 item 4); a declined one holds nothing.
  bool auth_may_hold = d.auth_known && (d.auth == pay_outcome::approved ||
                                        (d.auth == pay_outcome::failed &&
                                         d.status == S::payment_failed));
  if ((ended_unpaid || d.status == S::payment_failed) && auth_may_hold && !d.voided &&
      d.void_failures < pay_attempts_max)
    out.push_back(E::void_auth);
  // The store records every change from `paid` on (issue #12 items 1, 2):
  // a tablet that was not connected, or connected to another activation,
  // catches up from the store's snapshot.
  if (d.store_involved && (d.store_synced_version < d.version ||
                           (d.arriving_sent && !d.store_synced_arriving)))
    out.push_back(E::store_sync);
  bool awaiting_rider = d.status == S::accepted || d.status == S::cooking ||
                        d.status == S::ready;
  if (awaiting_rider && d.rider_id.empty() && !done(E::dispatch_start))
    out.push_back(E::dispatch_start);
  if (ended_unpaid && d.dispatch_started && !done(E::dispatch_stop))
    out.push_back(E::dispatch_stop);
  // Any ending frees the rider: also `rejected`, since a store may reject
  // an order a rider was already assigned to (issue #12, item 3).
  if (is_terminal(d.status) && !d.rider_id.empty() && !done(E::rider_released))
    out.push_back(E::rider_released);
  if (is_terminal(d.status) && d.alerted && !done(E::delay_cleared))
    out.push_back(E::delay_cleared);
  if (out.empty() && is_terminal(d.status) && !done(E::reminder_cancel))
    out.push_back(E::reminder_cancel);
  return out;
}

std::string order_state::op_id(pay_step step) const {
  const auto& d = data_;
  switch (step) {
    case pay_step::authorize: return d.order_id + ":auth";
    case pay_step::capture:
      return d.order_id + ":capture:" + std::to_string(d.capture_failures);
    case pay_step::void_auth:
      return d.order_id + ":void:" + std::to_string(d.void_failures);
  }
  return {};
}

bool order_state::before_pickup() const noexcept {
  return status_rank(data_.status) < status_rank(order_status::picked_up);
}

} // namespace courier::actors
