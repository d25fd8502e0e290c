// The pure order state machine and its journal encoding.
#include "actors/journal_events.hpp"
#include "actors/order_state.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace courier;
using namespace courier::actors;
using S = msg::order_status;

namespace {
order_state placed() {
  order_state st;
  st.set_id("o-1");
  order_event ev;
  ev.what = order_event::kind::placed;
  ev.customer_id = "c-1";
  ev.request_id = "q-1";
  ev.store_id = "s-1";
  ev.lines = {{"kimbap", 2, 450}};
  ev.total_minor = 900;
  ev.at_ms = 1000;
  st.apply(ev);
  return st;
}
order_actor_id as(msg::role r, std::string id) { return {r, std::move(id)}; }
} // namespace

TEST_CASE("statuses_only_move_forward_along_the_allowed_edges") {
  const S all[] = {S::placed, S::paid, S::accepted, S::cooking, S::ready, S::picked_up,
                   S::delivering, S::delivered, S::payment_failed, S::rejected, S::cancelled};
  for (auto from : all)
    for (auto to : all)
      if (transition_allowed(from, to))
        CHECK(status_rank(to) > status_rank(from));
  for (auto t : {S::delivered, S::payment_failed, S::rejected, S::cancelled})
    for (auto to : all)
      CHECK_FALSE(transition_allowed(t, to));
  CHECK_FALSE(transition_allowed(S::picked_up, S::cancelled));
}

TEST_CASE("who_may_change_what") {
  auto st = placed();
  for (auto& ev : st.decide_payment(pay_step::authorize, pay_outcome::approved, 2000))
    st.apply(ev);
  CHECK(st.data().status == S::paid);
  CHECK(st.data().version == 2);
  auto code = [&](msg::role r, const char* id, S to) {
    auto res = st.decide_change(as(r, id), to, 3000);
    return res ? core::errc::none : res.err().code;
  };
  CHECK(code(msg::role::customer, "c-2", S::cancelled) == core::errc::forbidden);
  CHECK(code(msg::role::store, "s-1", S::cancelled) == core::errc::forbidden);
  CHECK(code(msg::role::admin, "a", S::paid) == core::errc::forbidden);
  CHECK(code(msg::role::store, "s-1", S::cooking) == core::errc::conflict);
  CHECK(code(msg::role::store, "s-1", S::accepted) == core::errc::none);
  CHECK(code(msg::role::rider, "r-1", S::picked_up) == core::errc::forbidden);
}

TEST_CASE("the_outbox_follows_the_saga") {
  using E = order_effect;
  auto st = placed();
  auto has = [&](E e) {
    auto p = st.pending_effects();
    return std::find(p.begin(), p.end(), e) != p.end();
  };
  CHECK(has(E::authorize));
  CHECK(has(E::reminder_set));
  // Cancelled while authorizing: the authorization still has to land, then
  // be voided.
  st.apply(*st.decide_change(as(msg::role::customer, "c-1"), S::cancelled, 2000));
  CHECK(has(E::authorize));
  for (auto& ev : st.decide_payment(pay_step::authorize, pay_outcome::approved, 2100))
    st.apply(ev);
  CHECK(st.data().status == S::cancelled); // no regression to paid
  CHECK(has(E::void_auth));
  CHECK(st.op_id(pay_step::void_auth) == "o-1:void:0");
  for (auto& ev : st.decide_payment(pay_step::void_auth, pay_outcome::failed, 2200))
    st.apply(ev);
  CHECK(st.op_id(pay_step::void_auth) == "o-1:void:1"); // a fresh attempt
  for (auto& ev : st.decide_payment(pay_step::void_auth, pay_outcome::approved, 2300))
    st.apply(ev);
  CHECK_FALSE(has(E::void_auth));
  CHECK(st.decide_payment(pay_step::void_auth, pay_outcome::approved, 2400).empty());
}

TEST_CASE("order_events_round_trip_through_the_journal_encoding") {
  order_event ev;
  ev.what = order_event::kind::placed;
  ev.customer_id = "c-\"1";
  ev.lines = {{"a", 1, 100}, {"b", 3, 250}};
  ev.total_minor = 850;
  ev.dropoff = {37.5, 127.03};
  ev.store_radius_m = 2500;
  ev.at_ms = 42;
  auto back = decode_order_event(encode(ev));
  REQUIRE(back.ok());
  CHECK(back->customer_id == ev.customer_id);
  CHECK(back->lines.size() == 2);
  CHECK(back->lines[1].price_minor == 250);
  CHECK(back->dropoff.lng == doctest::Approx(127.03));
  CHECK(back->store_radius_m == 2500);
  CHECK_FALSE(decode_order_event("{not json").ok());
  CHECK_FALSE(decode_order_event(R"({"t":99})").ok());
  payment_event pe;
  pe.op_id = "o-1:auth";
  pe.amount_minor = 850;
  pe.reply_kind = "order";
  pe.reply_key = "o-1";
  auto pb = decode_payment_event(encode(pe));
  REQUIRE(pb.ok());
  CHECK(pb->reply_key == "o-1");
}

TEST_CASE("a_rider_assigned_to_an_order_the_store_then_rejects_is_released") {
  // Issue #12 item 3: assigned while `accepted`, then the store says no.
  using E = order_effect;
  auto st = placed();
  for (auto& ev : st.decide_payment(pay_step::authorize, pay_outcome::approved, 2000))
    st.apply(ev);
  st.apply(*st.decide_change(as(msg::role::store, "s-1"), S::accepted, 3000));
  auto assigned = st.decide_assign("r-7", "f-1", 3100);
  REQUIRE(assigned);
  for (auto& ev : *assigned)
    st.apply(ev);
  REQUIRE(st.data().rider_id == "r-7");
  st.apply(*st.decide_change(as(msg::role::store, "s-1"), S::rejected, 3200));
  auto p = st.pending_effects();
  CHECK(std::find(p.begin(), p.end(), E::rider_released) != p.end());
}

TEST_CASE("an_authorization_that_failed_by_timeouts_is_voided_a_declined_one_is_not") {
  // Issue #12 item 4: a timed-out authorization may hold money.
  using E = order_effect;
  auto timed_out = placed();
  for (auto& ev : timed_out.decide_payment(pay_step::authorize, pay_outcome::failed, 2000))
    timed_out.apply(ev);
  CHECK(timed_out.data().status == S::payment_failed);
  auto p = timed_out.pending_effects();
  CHECK(std::find(p.begin(), p.end(), E::void_auth) != p.end());
  for (auto& ev : timed_out.decide_payment(pay_step::void_auth, pay_outcome::approved, 2100))
    timed_out.apply(ev);
  p = timed_out.pending_effects();
  CHECK(std::find(p.begin(), p.end(), E::void_auth) == p.end());

  auto declined = placed();
  for (auto& ev : declined.decide_payment(pay_step::authorize, pay_outcome::declined, 2000))
    declined.apply(ev);
  p = declined.pending_effects();
  CHECK(std::find(p.begin(), p.end(), E::void_auth) == p.end());
}

TEST_CASE("the_payment_state_follows_the_saga_and_survives_the_archive") {
  auto st = placed();
  CHECK(std::string(payment_state(st.data())) == "pending");
  for (auto& ev : st.decide_payment(pay_step::authorize, pay_outcome::approved, 2000))
    st.apply(ev);
  CHECK(std::string(payment_state(st.data())) == "authorized");
  st.apply(*st.decide_change(as(msg::role::customer, "c-1"), S::cancelled, 2100));
  for (auto& ev : st.decide_payment(pay_step::void_auth, pay_outcome::approved, 2200))
    st.apply(ev);
  CHECK(std::string(payment_state(st.data())) == "voided");

  // The archive keeps how the payment ended; older entries without it are
  // read as "delivered = captured, anything else voided".
  auto back = decode_archived_order(encode_archived_order(st.data()));
  REQUIRE(back.ok());
  CHECK(back->voided);
  CHECK_FALSE(back->captured);
  order_state restored;
  restored.set_id("o-1");
  restored.restore_archived(*back);
  CHECK(std::string(payment_state(restored.data())) == "voided");

  auto declined = placed();
  for (auto& ev : declined.decide_payment(pay_step::authorize, pay_outcome::declined, 2000))
    declined.apply(ev);
  CHECK(std::string(payment_state(declined.data())) == "declined");
}
