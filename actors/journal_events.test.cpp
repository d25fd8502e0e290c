// Every journal event type (journal.proto) survives encode/decode exactly,
// and a corrupt record is an `internal` error, never an exception.
#include "actors/dispatch_state.hpp"
#include "actors/journal_events.hpp"
#include "actors/rider_state.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::actors;

namespace {

template <class R>
void check_internal(const R& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == core::errc::internal);
  CHECK_FALSE(r.err().message.empty());
}

} // namespace

TEST_CASE("journal_order_events_round_trip_every_kind") {
  for (int k = 0; k <= static_cast<int>(order_event::kind::alerted); ++k) {
    order_event ev;
    ev.what = static_cast<order_event::kind>(k);
    ev.customer_id = "c-1";
    ev.request_id = "req-1";
    ev.store_id = "s-1";
    ev.lines = {{"sku-1", 2, 300}, {"sku-2", 1, 250}};
    ev.total_minor = 850;
    ev.dropoff = {37.4979123456789, 127.0276};
    ev.store_at = {-33.5, 151.25};
    ev.store_cell = "8830e1d8dbfffff";
    ev.store_radius_m = 2500;
    ev.at_ms = 1'700'000'000'123;
    ev.to = msg::order_status::cancelled;
    ev.reason = "changed my mind";
    ev.rider_id = "r-9";
    ev.offer_id = "o-1-3";
    ev.step = pay_step::void_auth;
    ev.outcome = pay_outcome::failed;
    ev.effect = static_cast<std::uint8_t>(order_effect::reminder_cancel);
    ev.distance_m = 123.25;
    auto back = decode_order_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->customer_id == ev.customer_id);
    CHECK(back->request_id == ev.request_id);
    CHECK(back->store_id == ev.store_id);
    REQUIRE(back->lines.size() == 2);
    CHECK(back->lines[0].sku == "sku-1");
    CHECK(back->lines[0].qty == 2);
    CHECK(back->lines[1].price_minor == 250);
    CHECK(back->total_minor == ev.total_minor);
    CHECK(back->dropoff.lat == ev.dropoff.lat);
    CHECK(back->dropoff.lng == ev.dropoff.lng);
    CHECK(back->store_at.lat == ev.store_at.lat);
    CHECK(back->store_at.lng == ev.store_at.lng);
    CHECK(back->store_cell == ev.store_cell);
    CHECK(back->store_radius_m == ev.store_radius_m);
    CHECK(back->at_ms == ev.at_ms);
    CHECK(back->to == ev.to);
    CHECK(back->reason == ev.reason);
    CHECK(back->rider_id == ev.rider_id);
    CHECK(back->offer_id == ev.offer_id);
    CHECK(back->step == ev.step);
    CHECK(back->outcome == ev.outcome);
    CHECK(back->effect == ev.effect);
    CHECK(back->distance_m == ev.distance_m);
    CHECK(encode(*back) == encode(ev));
  }
  // A default event (all enums at their first C++ value) round-trips too.
  auto def = decode_order_event(encode(order_event{}));
  REQUIRE(def.ok());
  CHECK(def->to == msg::order_status::placed);
  CHECK(def->step == pay_step::authorize);
  CHECK(def->effect == 0);
  check_internal(decode_order_event("{not json"));
  check_internal(decode_order_event(std::string{"\x08\x63", 2})); // what = 99
  check_internal(decode_order_event(""));                         // what missing
}

TEST_CASE("journal_payment_store_reminder_delays_events_round_trip") {
  for (auto what : {payment_event::kind::requested, payment_event::kind::outcome}) {
    payment_event ev{what, "o-1:auth", 3, 850, "order", "o-1", 2};
    auto back = decode_payment_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->op_id == ev.op_id);
    CHECK(back->op == ev.op);
    CHECK(back->amount_minor == ev.amount_minor);
    CHECK(back->reply_kind == ev.reply_kind);
    CHECK(back->reply_key == ev.reply_key);
    CHECK(back->outcome == ev.outcome);
  }
  check_internal(decode_payment_event(encode(payment_event{}))); // op_id empty
  check_internal(decode_payment_event("\xff"));

  for (auto what : {store_event::kind::upserted, store_event::kind::trigger}) {
    store_event ev{what, 37.5, 127.03, 3000, true, msg::radius_trigger_kind::restore, 1500};
    auto back = decode_store_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->lat == ev.lat);
    CHECK(back->lng == ev.lng);
    CHECK(back->base_radius_m == ev.base_radius_m);
    CHECK(back->open == ev.open);
    CHECK(back->trigger == ev.trigger);
    CHECK(back->trigger_radius_m == ev.trigger_radius_m);
  }
  check_internal(decode_store_event("\xff"));

  for (auto what : {reminder_event::kind::set, reminder_event::kind::cancel,
                    reminder_event::kind::fired}) {
    reminder_event ev{what, "order", "o-1", "delay", 1'700'000'000'000};
    auto back = decode_reminder_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->target_kind == ev.target_kind);
    CHECK(back->target_key == ev.target_key);
    CHECK(back->tag == ev.tag);
    CHECK(back->due_ms == ev.due_ms);
  }
  check_internal(decode_reminder_event(""));

  std::vector<delays_event> all;
  for (auto what : {delays_event::kind::upsert, delays_event::kind::remove}) {
    delays_event ev{what, "o-7", msg::order_status::delivering, 42};
    auto back = decode_delays_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->order_id == ev.order_id);
    CHECK(back->status == ev.status);
    CHECK(back->placed_at_ms == ev.placed_at_ms);
    all.push_back(ev);
  }
  check_internal(decode_delays_event(""));
  auto snap = decode_delays_snapshot(encode_delays_snapshot(all));
  REQUIRE(snap.ok());
  REQUIRE(snap->size() == 2);
  CHECK((*snap)[1].what == delays_event::kind::remove);
  CHECK((*snap)[0].status == msg::order_status::delivering);
  auto empty = decode_delays_snapshot(encode_delays_snapshot({}));
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  check_internal(decode_delays_snapshot("\xff"));
}

TEST_CASE("journal_rider_dispatch_region_events_round_trip") {
  for (int k = 0; k <= static_cast<int>(rider_event::kind::position_mark); ++k) {
    rider_event ev;
    ev.what = static_cast<rider_event::kind>(k);
    ev.available = true;
    ev.offer = held_offer{"o-1-1", "o-1", 37.49, 127.02, 37.51, 127.04, 123.25, 99};
    if (ev.what == rider_event::kind::position_mark)
      ev.mark = position_mark{42, "8730e1ca2ffffff", 37.4979123456789, 127.0276, 1000, 2000};
    auto back = rider_event::decode(ev.encode());
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->available == ev.available);
    CHECK(back->offer.offer_id == ev.offer.offer_id);
    CHECK(back->offer.order_id == ev.offer.order_id);
    CHECK(back->offer.store_lat == ev.offer.store_lat);
    CHECK(back->offer.store_lng == ev.offer.store_lng);
    CHECK(back->offer.dropoff_lat == ev.offer.dropoff_lat);
    CHECK(back->offer.dropoff_lng == ev.offer.dropoff_lng);
    CHECK(back->offer.distance_m == ev.offer.distance_m);
    CHECK(back->offer.expires_ms == ev.offer.expires_ms);
    CHECK(back->mark.seq == ev.mark.seq);
    CHECK(back->mark.cell == ev.mark.cell);
    CHECK(back->mark.lat == ev.mark.lat);
    CHECK(back->mark.lng == ev.mark.lng);
    CHECK(back->mark.at_ms == ev.mark.at_ms);
    CHECK(back->mark.marked_ms == ev.mark.marked_ms);
  }
  check_internal(rider_event::decode(""));

  for (int k = 0; k <= static_cast<int>(dispatch_event::kind::round); ++k) {
    dispatch_event ev;
    ev.what = static_cast<dispatch_event::kind>(k);
    ev.spec = dispatch_spec{"o-2", "s-2", 37.4979123456789, 127.0276, 1, 2, 2500.5};
    ev.offer = dispatch_offer{"o-2-1", "r-1", 123456789, 88.5, true};
    ev.offer_id = "o-2-1";
    ev.round = 4;
    auto back = dispatch_event::decode(ev.encode());
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->spec.order_id == ev.spec.order_id);
    CHECK(back->spec.store_id == ev.spec.store_id);
    CHECK(back->spec.store_lat == ev.spec.store_lat);
    CHECK(back->spec.store_lng == ev.spec.store_lng);
    CHECK(back->spec.dropoff_lat == ev.spec.dropoff_lat);
    CHECK(back->spec.dropoff_lng == ev.spec.dropoff_lng);
    CHECK(back->spec.radius_m == ev.spec.radius_m);
    CHECK(back->offer.offer_id == ev.offer.offer_id);
    CHECK(back->offer.rider_id == ev.offer.rider_id);
    CHECK(back->offer.expires_ms == ev.offer.expires_ms);
    CHECK(back->offer.distance_m == ev.offer.distance_m);
    CHECK(back->offer.accepted == ev.offer.accepted);
    CHECK(back->offer_id == ev.offer_id);
    CHECK(back->round == ev.round);
  }
  check_internal(dispatch_event::decode(""));

  for (auto what : {region_event::kind::split, region_event::kind::merged,
                    region_event::kind::radius}) {
    region_event ev{what, msg::radius_trigger_kind::weather, 1200};
    auto back = decode_region_event(encode(ev));
    REQUIRE(back.ok());
    CHECK(back->what == ev.what);
    CHECK(back->trigger == ev.trigger);
    CHECK(back->radius_m == ev.radius_m);
  }
  check_internal(decode_region_event(""));
  check_internal(decode_region_event("\xff"));
}
