#include "actors/journal_events.hpp"

#include "journal.pb.h"

#include <type_traits>

namespace courier::actors {

namespace pb = courier::journal::v1;

namespace {

// Every C++ enum maps to its proto mirror as value + 1 (0 is *_UNSPECIFIED).
// Pin the first and last values so a change on either side breaks the build.
static_assert(pb::ORDER_STATUS_PLACED == 1 + static_cast<int>(msg::order_status::placed));
static_assert(pb::ORDER_STATUS_CANCELLED == 1 + static_cast<int>(msg::order_status::cancelled));
static_assert(pb::RadiusTriggerKind_MAX ==
              1 + static_cast<int>(msg::radius_trigger_kind::restore));
static_assert(pb::PayStep_MAX == 1 + static_cast<int>(pay_step::void_auth));
static_assert(pb::PayOutcome_MAX == 1 + static_cast<int>(pay_outcome::failed));
static_assert(pb::OrderEffect_MAX == static_cast<int>(order_effect_count));
static_assert(pb::OrderEffect_MAX == 1 + static_cast<int>(order_effect::reminder_cancel));
// payment_op / payment_outcome (protocol.hpp, CAF) are held as uint8 here:
// PaymentOp_MAX == 4 (authorize..refund), PaymentOutcome_MAX == 3.
static_assert(pb::PaymentOp_MAX == 4 && pb::PaymentOutcome_MAX == 3);
static_assert(pb::OrderEvent::Kind_MAX == 1 + static_cast<int>(order_event::kind::store_synced));
static_assert(pb::PaymentEvent::Kind_MAX == 1 + static_cast<int>(payment_event::kind::outcome));
static_assert(pb::StoreEvent::Kind_MAX == 1 + static_cast<int>(store_event::kind::order));
static_assert(pb::ReminderEvent::Kind_MAX == 1 + static_cast<int>(reminder_event::kind::fired));
static_assert(pb::DelaysEvent::Kind_MAX == 1 + static_cast<int>(delays_event::kind::remove));
static_assert(pb::RegionEvent::Kind_MAX == 1 + static_cast<int>(region_event::kind::radius));

/// The proto value of a C++ enum (or a uint8 holding one).
template <class P, class E>
P to_pb(E x) {
  return static_cast<P>(static_cast<int>(x) + 1);
}

/// The C++ value of proto enum value `v` whose largest value is `max`;
/// false for unspecified (missing) or unknown.
template <class E>
bool from_pb(int v, int max, E& out) {
  if (v < 1 || v > max)
    return false;
  out = static_cast<E>(v - 1);
  return true;
}

core::error corrupt(const char* what) {
  return core::error{core::errc::internal, std::string{"corrupt journal record: "} + what};
}

void to_pb(const delays_event& ev, pb::DelaysEvent& p) {
  p.set_what(to_pb<pb::DelaysEvent::Kind>(ev.what));
  p.set_order_id(ev.order_id);
  p.set_status(to_pb<pb::OrderStatus>(ev.status));
  p.set_placed_at_ms(ev.placed_at_ms);
}

core::result<delays_event> from_pb(const pb::DelaysEvent& p) {
  delays_event ev;
  if (!from_pb(p.what(), pb::DelaysEvent::Kind_MAX, ev.what))
    return corrupt("delays event kind missing or unknown");
  if (!from_pb(p.status(), pb::OrderStatus_MAX, ev.status))
    return corrupt("delays event status missing or unknown");
  ev.order_id = p.order_id();
  ev.placed_at_ms = p.placed_at_ms();
  return ev;
}

} // namespace

std::string encode(const order_event& ev) {
  pb::OrderEvent p;
  p.set_what(to_pb<pb::OrderEvent::Kind>(ev.what));
  p.set_customer_id(ev.customer_id);
  p.set_request_id(ev.request_id);
  p.set_store_id(ev.store_id);
  for (auto& l : ev.lines) {
    auto* pl = p.add_lines();
    pl->set_sku(l.sku);
    pl->set_qty(l.qty);
    pl->set_price_minor(l.price_minor);
  }
  p.set_total_minor(ev.total_minor);
  p.mutable_dropoff()->set_lat(ev.dropoff.lat);
  p.mutable_dropoff()->set_lng(ev.dropoff.lng);
  p.mutable_store_at()->set_lat(ev.store_at.lat);
  p.mutable_store_at()->set_lng(ev.store_at.lng);
  p.set_store_cell(ev.store_cell);
  p.set_store_radius_m(ev.store_radius_m);
  p.set_at_ms(ev.at_ms);
  p.set_to(to_pb<pb::OrderStatus>(ev.to));
  p.set_reason(ev.reason);
  p.set_rider_id(ev.rider_id);
  p.set_offer_id(ev.offer_id);
  p.set_step(to_pb<pb::PayStep>(ev.step));
  p.set_outcome(to_pb<pb::PayOutcome>(ev.outcome));
  p.set_effect(to_pb<pb::OrderEffect>(ev.effect));
  p.set_distance_m(ev.distance_m);
  p.set_eta_s(ev.eta_s);
  p.set_synced_version(ev.synced_version);
  p.set_synced_arriving(ev.synced_arriving);
  return p.SerializeAsString();
}

std::string encode_archived_order(const order_data& d) {
  pb::ArchivedOrder p;
  p.set_order_id(d.order_id);
  p.set_customer_id(d.customer_id);
  p.set_request_id(d.request_id);
  p.set_store_id(d.store_id);
  p.set_rider_id(d.rider_id);
  p.set_status(to_pb<pb::OrderStatus>(d.status));
  p.set_version(d.version);
  p.set_total_minor(d.total_minor);
  p.set_placed_at_ms(d.placed_at_ms);
  p.set_status_at_ms(d.status_at_ms);
  p.set_captured(d.captured);
  p.set_voided(d.voided);
  return p.SerializeAsString();
}

core::result<order_data> decode_archived_order(const std::string& bytes) {
  pb::ArchivedOrder p;
  if (!p.ParseFromString(bytes))
    return corrupt("archived order does not parse");
  order_data d;
  if (!from_pb(p.status(), pb::OrderStatus_MAX, d.status))
    return corrupt("archived order status missing or unknown");
  if (p.version() == 0 || p.order_id().empty())
    return corrupt("archived order without id or version");
  d.order_id = p.order_id();
  d.customer_id = p.customer_id();
  d.request_id = p.request_id();
  d.store_id = p.store_id();
  d.rider_id = p.rider_id();
  d.version = p.version();
  d.total_minor = p.total_minor();
  d.placed_at_ms = p.placed_at_ms();
  d.status_at_ms = p.status_at_ms();
  d.captured = p.captured();
  d.voided = p.voided();
  return d;
}

core::result<order_event> decode_order_event(const std::string& bytes) {
  pb::OrderEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("order event does not parse");
  order_event ev;
  if (!from_pb(p.what(), pb::OrderEvent::Kind_MAX, ev.what))
    return corrupt("order event kind missing or unknown");
  if (!from_pb(p.to(), pb::OrderStatus_MAX, ev.to))
    return corrupt("order event status missing or unknown");
  if (!from_pb(p.step(), pb::PayStep_MAX, ev.step))
    return corrupt("order event pay step missing or unknown");
  if (!from_pb(p.outcome(), pb::PayOutcome_MAX, ev.outcome))
    return corrupt("order event pay outcome missing or unknown");
  if (!from_pb(p.effect(), pb::OrderEffect_MAX, ev.effect))
    return corrupt("order event effect missing or unknown");
  ev.customer_id = p.customer_id();
  ev.request_id = p.request_id();
  ev.store_id = p.store_id();
  ev.lines.reserve(static_cast<std::size_t>(p.lines_size()));
  for (auto& l : p.lines())
    ev.lines.push_back({l.sku(), l.qty(), l.price_minor()});
  ev.total_minor = p.total_minor();
  ev.dropoff = {p.dropoff().lat(), p.dropoff().lng()};
  ev.store_at = {p.store_at().lat(), p.store_at().lng()};
  ev.store_cell = p.store_cell();
  ev.store_radius_m = p.store_radius_m();
  ev.at_ms = p.at_ms();
  ev.reason = p.reason();
  ev.rider_id = p.rider_id();
  ev.offer_id = p.offer_id();
  ev.distance_m = p.distance_m();
  ev.eta_s = p.eta_s();
  ev.synced_version = p.synced_version();
  ev.synced_arriving = p.synced_arriving();
  return ev;
}

std::string encode(const payment_event& ev) {
  pb::PaymentEvent p;
  p.set_what(to_pb<pb::PaymentEvent::Kind>(ev.what));
  p.set_op_id(ev.op_id);
  p.set_op(to_pb<pb::PaymentOp>(ev.op));
  p.set_amount_minor(ev.amount_minor);
  p.set_reply_kind(ev.reply_kind);
  p.set_reply_key(ev.reply_key);
  p.set_outcome(to_pb<pb::PaymentOutcome>(ev.outcome));
  return p.SerializeAsString();
}

core::result<payment_event> decode_payment_event(const std::string& bytes) {
  pb::PaymentEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("payment event does not parse");
  payment_event ev;
  if (!from_pb(p.what(), pb::PaymentEvent::Kind_MAX, ev.what))
    return corrupt("payment event kind missing or unknown");
  if (!from_pb(p.op(), pb::PaymentOp_MAX, ev.op))
    return corrupt("payment event op missing or unknown");
  if (!from_pb(p.outcome(), pb::PaymentOutcome_MAX, ev.outcome))
    return corrupt("payment event outcome missing or unknown");
  if (p.op_id().empty())
    return corrupt("payment event without op_id");
  ev.op_id = p.op_id();
  ev.amount_minor = p.amount_minor();
  ev.reply_kind = p.reply_kind();
  ev.reply_key = p.reply_key();
  return ev;
}

namespace {

void to_pb(const store_order& o, pb::StoreOrder& p) {
  p.set_order_id(o.order.order_id.str());
  for (auto& it : o.order.items) {
    auto* l = p.add_lines();
    l->set_sku(it.sku);
    l->set_qty(it.qty);
    l->set_price_minor(it.price.minor_units);
  }
  p.set_total_minor(o.order.total.minor_units);
  p.set_status(to_pb<pb::OrderStatus>(o.status));
  p.set_version(o.version);
  p.set_at_ms(o.at_ms);
  p.set_arriving(o.arriving);
  p.set_arriving_eta_s(o.arriving_eta_s);
}

core::result<store_order> from_pb(const pb::StoreOrder& p) {
  store_order o;
  if (!from_pb(p.status(), pb::OrderStatus_MAX, o.status))
    return corrupt("store order status missing or unknown");
  o.order.order_id = core::order_id{p.order_id()};
  o.order.items.reserve(static_cast<std::size_t>(p.lines_size()));
  for (auto& l : p.lines())
    o.order.items.push_back({l.sku(), l.qty(), msg::money{l.price_minor()}});
  o.order.total = msg::money{p.total_minor()};
  o.version = p.version();
  o.at_ms = p.at_ms();
  o.arriving = p.arriving();
  o.arriving_eta_s = p.arriving_eta_s();
  return o;
}

void to_pb(const store_event& ev, pb::StoreEvent& p) {
  p.set_what(to_pb<pb::StoreEvent::Kind>(ev.what));
  p.set_lat(ev.lat);
  p.set_lng(ev.lng);
  p.set_base_radius_m(ev.base_radius_m);
  p.set_open(ev.open);
  p.set_trigger(to_pb<pb::RadiusTriggerKind>(ev.trigger));
  p.set_trigger_radius_m(ev.trigger_radius_m);
  if (ev.what == store_event::kind::order)
    to_pb(ev.order, *p.mutable_order());
}

core::result<store_event> from_pb(const pb::StoreEvent& p) {
  store_event ev;
  if (!from_pb(p.what(), pb::StoreEvent::Kind_MAX, ev.what))
    return corrupt("store event kind missing or unknown");
  if (!from_pb(p.trigger(), pb::RadiusTriggerKind_MAX, ev.trigger))
    return corrupt("store event trigger missing or unknown");
  ev.lat = p.lat();
  ev.lng = p.lng();
  ev.base_radius_m = p.base_radius_m();
  ev.open = p.open();
  ev.trigger_radius_m = p.trigger_radius_m();
  if (ev.what == store_event::kind::order) {
    auto o = from_pb(p.order());
    if (!o)
      return o.err();
    ev.order = std::move(*o);
  }
  return ev;
}

} // namespace

std::string encode(const store_event& ev) {
  pb::StoreEvent p;
  to_pb(ev, p);
  return p.SerializeAsString();
}

core::result<store_event> decode_store_event(const std::string& bytes) {
  pb::StoreEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("store event does not parse");
  return from_pb(p);
}

std::string encode_store_snapshot(const store_snapshot_record& snap) {
  pb::StoreSnapshot p;
  for (auto& ev : snap.events)
    to_pb(ev, *p.add_events());
  for (auto r : snap.held)
    p.add_held_radius_m(r);
  return p.SerializeAsString();
}

core::result<store_snapshot_record> decode_store_snapshot(const std::string& bytes) {
  pb::StoreSnapshot p;
  if (!p.ParseFromString(bytes))
    return corrupt("store snapshot does not parse");
  store_snapshot_record out;
  if (p.held_radius_m_size() != static_cast<int>(out.held.size()))
    return corrupt("store snapshot radius slots");
  for (std::size_t i = 0; i < out.held.size(); ++i)
    out.held[i] = p.held_radius_m(static_cast<int>(i));
  out.events.reserve(static_cast<std::size_t>(p.events_size()));
  for (auto& e : p.events()) {
    auto ev = from_pb(e);
    if (!ev)
      return ev.err();
    out.events.push_back(std::move(*ev));
  }
  return out;
}

namespace {

void to_pb(const reminder_event& ev, pb::ReminderEvent& p) {
  p.set_what(to_pb<pb::ReminderEvent::Kind>(ev.what));
  p.set_target_kind(ev.target_kind);
  p.set_target_key(ev.target_key);
  p.set_tag(ev.tag);
  p.set_due_ms(ev.due_ms);
  p.set_tries(ev.tries);
}

core::result<reminder_event> from_pb(const pb::ReminderEvent& p) {
  reminder_event ev;
  if (!from_pb(p.what(), pb::ReminderEvent::Kind_MAX, ev.what))
    return corrupt("reminder event kind missing or unknown");
  ev.target_kind = p.target_kind();
  ev.target_key = p.target_key();
  ev.tag = p.tag();
  ev.due_ms = p.due_ms();
  ev.tries = p.tries();
  return ev;
}

} // namespace

std::string encode(const reminder_event& ev) {
  pb::ReminderEvent p;
  to_pb(ev, p);
  return p.SerializeAsString();
}

core::result<reminder_event> decode_reminder_event(const std::string& bytes) {
  pb::ReminderEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("reminder event does not parse");
  return from_pb(p);
}

std::string encode_reminder_snapshot(const std::vector<reminder_event>& timers) {
  pb::ReminderSnapshot p;
  for (auto& t : timers)
    to_pb(t, *p.add_timers());
  return p.SerializeAsString();
}

core::result<std::vector<reminder_event>> decode_reminder_snapshot(const std::string& bytes) {
  pb::ReminderSnapshot p;
  if (!p.ParseFromString(bytes))
    return corrupt("reminder snapshot does not parse");
  std::vector<reminder_event> out;
  out.reserve(static_cast<std::size_t>(p.timers_size()));
  for (auto& t : p.timers()) {
    auto ev = from_pb(t);
    if (!ev)
      return ev.err();
    if (ev->what != reminder_event::kind::set)
      return corrupt("reminder snapshot holds a timer that is not a set");
    out.push_back(std::move(*ev));
  }
  return out;
}

std::string encode(const delays_event& ev) {
  pb::DelaysEvent p;
  to_pb(ev, p);
  return p.SerializeAsString();
}

core::result<delays_event> decode_delays_event(const std::string& bytes) {
  pb::DelaysEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("delays event does not parse");
  return from_pb(p);
}

std::string encode_delays_snapshot(const std::vector<delays_event>& entries) {
  pb::DelaysSnapshot p;
  for (auto& e : entries)
    to_pb(e, *p.add_entries());
  return p.SerializeAsString();
}

core::result<std::vector<delays_event>> decode_delays_snapshot(const std::string& bytes) {
  pb::DelaysSnapshot p;
  if (!p.ParseFromString(bytes))
    return corrupt("delays snapshot does not parse");
  std::vector<delays_event> out;
  out.reserve(static_cast<std::size_t>(p.entries_size()));
  for (auto& e : p.entries()) {
    auto ev = from_pb(e);
    if (!ev)
      return ev.err();
    out.push_back(std::move(*ev));
  }
  return out;
}

std::string encode(const region_event& ev) {
  pb::RegionEvent p;
  p.set_what(to_pb<pb::RegionEvent::Kind>(ev.what));
  p.set_trigger(to_pb<pb::RadiusTriggerKind>(ev.trigger));
  p.set_radius_m(ev.radius_m);
  return p.SerializeAsString();
}

core::result<region_event> decode_region_event(const std::string& bytes) {
  pb::RegionEvent p;
  if (!p.ParseFromString(bytes))
    return corrupt("region event does not parse");
  region_event ev;
  if (!from_pb(p.what(), pb::RegionEvent::Kind_MAX, ev.what))
    return corrupt("region event kind missing or unknown");
  if (!from_pb(p.trigger(), pb::RadiusTriggerKind_MAX, ev.trigger))
    return corrupt("region event trigger missing or unknown");
  ev.radius_m = p.radius_m();
  return ev;
}

} // namespace courier::actors
