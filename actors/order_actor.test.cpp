// Order entity scenarios in the deterministic harness (fake dispatch, rider
// and region entities; the test plays store, rider and dispatch).
#include "actors/order_testing.hpp"

#include <chrono>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testing;
using namespace std::chrono_literals;
using msg::order_status;

namespace {

const caller customer_c1{msg::role::customer, "c-1"};
const caller store_s1{msg::role::store, "s-1"};

core::order_id place_paid(domain_world& d, const std::string& request = "q-1") {
  auto m = d.place("c-1", request, "s-1");
  REQUIRE(m.match_elements<msg::order_placed>());
  d.w.advance(1s); // provider latency
  return m.get_as<msg::order_placed>(0).order_id;
}

msg::ok_reply assign(domain_world& d, const core::order_id& id, const std::string& rider) {
  auto m = d.ask(order_ref(id), assign_rider{core::offer_id{"f-1"}, core::rider_id{rider}});
  REQUIRE(m.match_elements<msg::ok_reply>());
  return m.get_as<msg::ok_reply>(0);
}

void move_rider(domain_world& d, const core::order_id& id, const std::string& rider,
                msg::lat_lng at) {
  d.send(d.p, order_ref(id), rider_moved{core::rider_id{rider}, at.lat, at.lng, 0});
  d.w.run();
}

} // namespace

TEST_CASE("order_id_for_is_stable_and_separates_customers") {
  auto a = order_id_for(core::customer_id{"c-1"}, core::request_id{"q-1"});
  CHECK(a == order_id_for(core::customer_id{"c-1"}, core::request_id{"q-1"}));
  CHECK(a != order_id_for(core::customer_id{"c-2"}, core::request_id{"q-1"}));
  CHECK(order_id_for(core::customer_id{"ab"}, core::request_id{"c"}) !=
        order_id_for(core::customer_id{"a"}, core::request_id{"bc"}));
  CHECK(a.str().size() == 34);
  CHECK(a.str().rfind("o-", 0) == 0);
}

TEST_CASE("happy_path_runs_to_delivered_with_capture_pushes_and_effects") {
  domain_world d{harness::pick_seed("order.happy")};
  d.upsert_store("s-1", gangnam, 3000);
  auto store_gw = d.w.make_probe();
  REQUIRE(d.ask(store_ref(core::store_id{"s-1"}), subscribe_cmd{store_s1, store_gw.handle})
              .match_elements<store_snapshot>());
  auto id = place_paid(d);
  auto cust_gw = d.w.make_probe();
  auto snap = d.subscribe(id, cust_gw, customer_c1);
  REQUIRE(snap.match_elements<msg::order_snapshot>());
  CHECK(snap.get_as<msg::order_snapshot>(0).status == order_status::paid);
  CHECK(snap.get_as<msg::order_snapshot>(0).version == 2);
  CHECK(count_ops(d.ledger(id), payment_op::authorize, payment_outcome::approved) == 1);
  // The store got new_order once.
  int new_orders = 0;
  while (auto m = store_gw.next_any())
    new_orders += m->match_elements<push_atom, std::string, msg::new_order>();
  CHECK(new_orders == 1);

  auto ok = d.act(id, msg::role::store, "s-1", order_action::accept);
  REQUIRE(ok.match_elements<msg::ok_reply>());
  CHECK(*ok.get_as<msg::ok_reply>(0).version == 3);
  auto starts = d.log->of<dispatch_start>(dispatch_ref(id));
  REQUIRE(starts.size() == 1);
  CHECK(starts[0].radius_m == 0.0); // the node's dispatch radius, not the delivery radius
  CHECK(starts[0].store.lat == doctest::Approx(gangnam.lat));

  CHECK(*assign(d, id, "r-1").version == 4);
  // Near the store before pickup: rider_arriving once.
  move_rider(d, id, "r-1", {37.4985, 127.0280});
  move_rider(d, id, "r-1", {37.4984, 127.0279});
  int arriving = 0;
  while (auto m = store_gw.next_any()) {
    arriving += m->match_elements<push_atom, std::string, msg::rider_arriving>();
  }
  CHECK(arriving == 1);

  CHECK(d.act(id, msg::role::store, "s-1", order_action::cooking).match_elements<msg::ok_reply>());
  CHECK(d.act(id, msg::role::store, "s-1", order_action::ready).match_elements<msg::ok_reply>());
  CHECK(d.act(id, msg::role::rider, "r-1", order_action::picked_up).match_elements<msg::ok_reply>());
  CHECK(d.act(id, msg::role::rider, "r-1", order_action::delivering).match_elements<msg::ok_reply>());
  move_rider(d, id, "r-1", {37.5019, 127.0309}); // ~15 m from the drop-off
  move_rider(d, id, "r-1", {37.5020, 127.0310});
  CHECK(d.act(id, msg::role::rider, "r-1", order_action::delivered).match_elements<msg::ok_reply>());
  d.w.advance(1s);

  auto pushes = status_pushes(cust_gw);
  std::vector<order_status> seen;
  for (auto& s : pushes)
    seen.push_back(s.status);
  CHECK(seen == std::vector<order_status>{order_status::accepted, order_status::cooking,
                                          order_status::ready, order_status::picked_up,
                                          order_status::delivering, order_status::delivered});
  auto v = d.view(id);
  CHECK(v.status == order_status::delivered);
  CHECK(v.version == 9);
  auto l = d.ledger(id);
  CHECK(count_ops(l, payment_op::capture, payment_outcome::approved) == 1);
  CHECK(count_ops(l, payment_op::void_auth, payment_outcome::approved) == 0);
  CHECK(d.log->of<rider_released>(rider_ref(core::rider_id{"r-1"})).size() == 1);
  CHECK(d.log->of<dispatch_stop>(dispatch_ref(id)).empty());
}

TEST_CASE("rider_nearby_is_pushed_once_and_positions_carry_eta") {
  domain_world d{harness::pick_seed("order.nearby")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.act(id, msg::role::store, "s-1", order_action::accept);
  assign(d, id, "r-1");
  d.act(id, msg::role::store, "s-1", order_action::ready);
  d.act(id, msg::role::rider, "r-1", order_action::picked_up);
  auto gw = d.w.make_probe();
  d.subscribe(id, gw, customer_c1);
  move_rider(d, id, "r-1", {37.5000, 127.0290});
  move_rider(d, id, "r-1", {37.5019, 127.0309});
  move_rider(d, id, "r-1", {37.5020, 127.0310});
  int nearby = 0;
  std::vector<std::uint32_t> etas;
  while (auto m = gw.next_any()) {
    nearby += m->match_elements<push_atom, std::string, msg::rider_nearby>();
    if (m->match_elements<push_atom, std::string, msg::rider_position>())
      etas.push_back(m->get_as<msg::rider_position>(2).eta_s);
  }
  CHECK(nearby == 1);
  REQUIRE(etas.size() == 3);
  CHECK(etas[0] > etas[1]);
  CHECK(etas[2] == 0);
}

TEST_CASE("place_order_is_idempotent_and_another_customer_gets_conflict") {
  domain_world d{harness::pick_seed("order.idempotent")};
  d.upsert_store("s-1", gangnam, 3000);
  auto first = d.place("c-1", "q-1", "s-1");
  auto again = d.place("c-1", "q-1", "s-1");
  REQUIRE(first.match_elements<msg::order_placed>());
  REQUIRE(again.match_elements<msg::order_placed>());
  CHECK(first.get_as<msg::order_placed>(0) == again.get_as<msg::order_placed>(0));
  auto id = first.get_as<msg::order_placed>(0).order_id;
  auto other = d.ask(order_ref(id), place_order_cmd{{msg::role::customer, "c-2"}, id,
                                                    domain_world::order_body("q-1", "s-1")});
  CHECK(domain_world::code_of(other) == core::errc::conflict);
  d.w.advance(1s);
  CHECK(d.ledger(id).ops.size() == 1); // one authorization, not two
  CHECK(d.view(id).version == 2);
}

TEST_CASE("placing_checks_store_existence_open_flag_radius_and_total") {
  domain_world d{harness::pick_seed("order.place_checks")};
  CHECK(domain_world::code_of(d.place("c-1", "q-0", "s-404")) == core::errc::not_found);
  d.upsert_store("s-1", gangnam, 300);
  CHECK(domain_world::code_of(d.place("c-1", "q-1", "s-1")) == core::errc::out_of_area);
  d.upsert_store("s-1", gangnam, 3000, false);
  CHECK(domain_world::code_of(d.place("c-1", "q-2", "s-1")) == core::errc::out_of_area);
  d.upsert_store("s-1", gangnam, 3000, true);
  d.log->region_cap_m = 200; // the region holds a smaller cap
  CHECK(domain_world::code_of(d.place("c-1", "q-3", "s-1")) == core::errc::out_of_area);
  d.log->region_cap_m = none_i64;
  auto id = order_id_for(core::customer_id{"c-1"}, core::request_id{"q-4"});
  auto body = domain_world::order_body("q-4", "s-1");
  body.total = msg::money{1};
  CHECK(domain_world::code_of(d.ask(order_ref(id), place_order_cmd{customer_c1, id, body})) ==
        core::errc::bad_request);
  CHECK(d.place("c-1", "q-5", "s-1").match_elements<msg::order_placed>());
}

TEST_CASE("wrong_actors_are_forbidden_and_illegal_or_stale_steps_conflict") {
  domain_world d{harness::pick_seed("order.forbidden")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  auto code = [&](msg::role r, const std::string& who, order_action a) {
    return domain_world::code_of(d.act(id, r, who, a));
  };
  CHECK(code(msg::role::customer, "c-2", order_action::cancel) == core::errc::forbidden);
  CHECK(code(msg::role::customer, "c-1", order_action::accept) == core::errc::forbidden);
  CHECK(code(msg::role::store, "s-2", order_action::accept) == core::errc::forbidden);
  CHECK(code(msg::role::rider, "r-1", order_action::picked_up) == core::errc::forbidden);
  CHECK(code(msg::role::store, "s-1", order_action::ready) == core::errc::conflict);
  CHECK(code(msg::role::store, "s-1", order_action::accept) == core::errc::none);
  CHECK(code(msg::role::store, "s-1", order_action::accept) == core::errc::conflict);
  assign(d, id, "r-1");
  CHECK(domain_world::code_of(d.ask(order_ref(id), assign_rider{core::offer_id{"f-2"},
                                                                core::rider_id{"r-2"}})) ==
        core::errc::conflict);
  CHECK(code(msg::role::rider, "r-2", order_action::picked_up) == core::errc::forbidden);
  CHECK(code(msg::role::rider, "r-1", order_action::picked_up) == core::errc::conflict);
  CHECK(code(msg::role::store, "s-1", order_action::cooking) == core::errc::none);
  CHECK(code(msg::role::rider, "r-1", order_action::picked_up) == core::errc::none);
  CHECK(code(msg::role::customer, "c-1", order_action::cancel) == core::errc::conflict);
  CHECK(code(msg::role::rider, "r-1", order_action::picked_up) == core::errc::conflict);
  // Viewing: only the parties.
  auto gw = d.w.make_probe();
  CHECK(domain_world::code_of(d.subscribe(id, gw, {msg::role::customer, "c-9"})) ==
        core::errc::forbidden);
  CHECK(domain_world::code_of(d.subscribe(id, gw, {msg::role::rider, "r-1"})) ==
        core::errc::none);
  CHECK(domain_world::code_of(d.act(order_id_for(core::customer_id{"x"}, core::request_id{"y"}),
                                    msg::role::admin, "a", order_action::cancel)) ==
        core::errc::not_found);
}

TEST_CASE("a_declined_payment_ends_payment_failed_without_capture_or_void") {
  domain_config cfg;
  cfg.payment_decline_rate = 1.0;
  domain_world d{harness::pick_seed("order.decline"), cfg};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  CHECK(d.view(id).status == order_status::payment_failed);
  auto l = d.ledger(id);
  REQUIRE(l.ops.size() == 1);
  CHECK(count_ops(l, payment_op::authorize, payment_outcome::declined) == 1);
  CHECK(domain_world::code_of(d.act(id, msg::role::store, "s-1", order_action::accept)) ==
        core::errc::conflict);
}

TEST_CASE("cancel_before_pickup_voids_the_authorization_and_stops_dispatch") {
  domain_world d{harness::pick_seed("order.cancel")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.act(id, msg::role::store, "s-1", order_action::accept);
  assign(d, id, "r-1");
  auto ok = d.act(id, msg::role::customer, "c-1", order_action::cancel);
  REQUIRE(ok.match_elements<msg::ok_reply>());
  d.w.advance(1s);
  CHECK(d.view(id).status == order_status::cancelled);
  auto l = d.ledger(id);
  CHECK(count_ops(l, payment_op::void_auth, payment_outcome::approved) == 1);
  CHECK(count_ops(l, payment_op::capture, payment_outcome::approved) == 0);
  CHECK(d.log->of<dispatch_stop>(dispatch_ref(id)).size() == 1);
  CHECK(d.log->of<rider_released>(rider_ref(core::rider_id{"r-1"})).size() == 1);
}

TEST_CASE("cancel_while_authorizing_voids_once_the_authorization_lands") {
  domain_world d{harness::pick_seed("order.cancel_early")};
  d.upsert_store("s-1", gangnam, 3000);
  auto m = d.place("c-1", "q-1", "s-1");
  auto id = m.get_as<msg::order_placed>(0).order_id;
  REQUIRE(d.act(id, msg::role::customer, "c-1", order_action::cancel)
              .match_elements<msg::ok_reply>());
  d.w.advance(2s);
  auto l = d.ledger(id);
  CHECK(count_ops(l, payment_op::authorize, payment_outcome::approved) == 1);
  CHECK(count_ops(l, payment_op::void_auth, payment_outcome::approved) == 1);
  CHECK(d.view(id).status == order_status::cancelled);
}

TEST_CASE("the_30_min_delay_alert_due_while_the_node_was_down_fires_after_recovery") {
  domain_world d{harness::pick_seed("order.delay_crash")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.w.advance(10min);
  // Down for 40 minutes: the alert came due meanwhile. The node restarts,
  // wakes the reminder shards, and the alert fires right away.
  d.w.crash();
  d.w.advance(40min);
  d.restart();
  d.w.advance(1s);
  auto m = d.ask(delays_ref(), delayed_orders_query{});
  REQUIRE(m.match_elements<msg::delayed_orders>());
  auto board = m.get_as<msg::delayed_orders>(0);
  REQUIRE(board.orders.size() == 1);
  CHECK(board.orders[0].order_id == id);
  CHECK(board.orders[0].status == order_status::paid);
  CHECK(board.orders[0].age_s >= 50 * 60);
  // Finishing the order takes it off the board.
  d.act(id, msg::role::customer, "c-1", order_action::cancel);
  d.w.advance(1s);
  auto after = d.ask(delays_ref(), delayed_orders_query{}).get_as<msg::delayed_orders>(0);
  CHECK(after.orders.empty());
}

TEST_CASE("an_order_delivered_in_time_never_shows_on_the_board") {
  domain_world d{harness::pick_seed("order.in_time")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.act(id, msg::role::store, "s-1", order_action::accept);
  assign(d, id, "r-1");
  d.act(id, msg::role::store, "s-1", order_action::ready);
  d.act(id, msg::role::rider, "r-1", order_action::picked_up);
  d.act(id, msg::role::rider, "r-1", order_action::delivered);
  d.w.advance(45min);
  auto board = d.ask(delays_ref(), delayed_orders_query{}).get_as<msg::delayed_orders>(0);
  CHECK(board.orders.empty());
}

TEST_CASE("a_shrunk_delivery_radius_does_not_shrink_the_rider_search") {
  // Issue #12 item 6: dispatch searched riders within the store's delivery
  // radius, so a rider_shortage cap narrowed the search when riders were
  // scarce. The search radius is the node's dispatch radius.
  domain_world d{harness::pick_seed("order.search_radius")};
  d.log->region_cap_m = 800; // e.g. a rider_shortage trigger on the store's cell
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.act(id, msg::role::store, "s-1", order_action::accept);
  d.w.advance(1s);
  auto starts = d.log->of<dispatch_start>(dispatch_ref(id));
  REQUIRE(starts.size() >= 1);
  CHECK(starts.back().radius_m == 0.0); // 0: the dispatch actor's --dispatch-radius-m
}

TEST_CASE("a_store_rejecting_an_order_with_a_rider_releases_the_rider") {
  // Issue #12 item 3, through the actor.
  domain_world d{harness::pick_seed("order.reject_release")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.act(id, msg::role::store, "s-1", order_action::accept);
  assign(d, id, "r-1");
  auto ok = d.act(id, msg::role::store, "s-1", order_action::reject);
  REQUIRE(ok.match_elements<msg::ok_reply>());
  d.w.advance(1s);
  CHECK(d.view(id).status == order_status::rejected);
  CHECK(d.log->of<rider_released>(rider_ref(core::rider_id{"r-1"})).size() == 1);
}

namespace {
/// Approves everything but voids, which fail for good (transiently, forever).
class voids_fail final : public payment_provider {
public:
  provider_decision decide(const provider_call& call) override {
    if (call.op == static_cast<std::uint8_t>(payment_op::void_auth))
      return {provider_answer::transient, std::chrono::milliseconds{5}};
    return {provider_answer::approved, std::chrono::milliseconds{5}};
  }
};
} // namespace

TEST_CASE("a_void_that_gives_up_is_reported_once_never_silent") {
  // Issue #12 item 4: after pay_attempts_max failed rounds the order stopped
  // retrying and nobody was told.
  domain_world d{harness::pick_seed("order.void_gives_up")};
  std::vector<std::pair<std::string, bool>> told;
  d.svc->observe_payment_given_up = [&](const std::string& order_id, bool void_auth) {
    told.emplace_back(order_id, void_auth);
  };
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  d.svc->payments = std::make_shared<voids_fail>();
  REQUIRE(d.act(id, msg::role::customer, "c-1", order_action::cancel)
              .match_elements<msg::ok_reply>());
  for (int i = 0; i < 240; ++i)
    d.w.advance(std::chrono::seconds{15});
  REQUIRE(told.size() == 1);
  CHECK(told[0].first == id.str());
  CHECK(told[0].second);
  CHECK(count_ops(d.ledger(id), payment_op::void_auth, payment_outcome::approved) == 0);
}

TEST_CASE("a_settled_payment_passivates_and_answers_the_capture_from_its_journal") {
  // Issue #11 (memory): a payment entity is idle from the authorization to
  // the order's end; it asks to be passivated after payment_idle.
  domain_world d{harness::pick_seed("order.payment_idle")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  CHECK(d.live(kind::payment) == 1);
  d.w.advance(std::chrono::milliseconds{d.svc->cfg.payment_idle} + 1s);
  CHECK(d.live(kind::payment) == 0);
  CHECK(d.router_stats().passivations_total >= 1);

  REQUIRE(d.act(id, msg::role::store, "s-1", order_action::accept).match_elements<msg::ok_reply>());
  REQUIRE(*assign(d, id, "r-1").version == 4);
  for (auto a : {order_action::cooking, order_action::ready})
    REQUIRE(d.act(id, msg::role::store, "s-1", a).match_elements<msg::ok_reply>());
  for (auto a : {order_action::picked_up, order_action::delivering})
    REQUIRE(d.act(id, msg::role::rider, "r-1", a).match_elements<msg::ok_reply>());
  move_rider(d, id, "r-1", {37.5020, 127.0310});
  REQUIRE(d.act(id, msg::role::rider, "r-1", order_action::delivered).match_elements<msg::ok_reply>());
  d.w.advance(1s);
  auto l = d.ledger(id); // activates it again: the ledger is read from the journal
  CHECK(count_ops(l, payment_op::authorize, payment_outcome::approved) == 1);
  CHECK(count_ops(l, payment_op::capture, payment_outcome::approved) == 1);
  CHECK(d.view(id).status == order_status::delivered);
}

namespace {
/// Answers the first `slow` attempts of every call with a transient error
/// after 100 ms, then approves: a call that takes a few seconds.
class slow_calls final : public payment_provider {
public:
  explicit slow_calls(std::uint32_t slow) : slow_(slow) {}
  provider_decision decide(const provider_call& call) override {
    if (call.attempt < slow_)
      return {provider_answer::transient, std::chrono::milliseconds{100}};
    return {provider_answer::approved, std::chrono::milliseconds{5}};
  }

private:
  std::uint32_t slow_;
};
} // namespace

TEST_CASE("a_payment_told_to_passivate_mid_call_settles_the_call_first") {
  // The router's idle scan (300 ms here) reaches the payment while its
  // authorization retries (backoff 200 + 400 + 800 + 1600 ms): it keeps
  // running until the call ends, so the order hears at once instead of
  // after re-requesting it.
  cluster::router_config rcfg;
  rcfg.idle_timeout = 300ms;
  rcfg.idle_scan_interval = 100ms;
  domain_world d{harness::pick_seed("order.payment_mid_call"), {}, harness::order_policy::random,
                 rcfg};
  d.svc->payments = std::make_shared<slow_calls>(4);
  d.upsert_store("s-1", gangnam, 3000);
  auto m = d.place("c-1", "q-1", "s-1");
  REQUIRE(m.match_elements<msg::order_placed>());
  auto id = m.get_as<msg::order_placed>(0).order_id;
  d.w.advance(2s);
  CHECK(d.live(kind::payment) == 1); // told to stop long ago, still calling
  d.w.advance(2s);
  CHECK(d.live(kind::payment) == 0); // settled, then stopped
  CHECK(d.view(id).status == order_status::paid);
  CHECK(count_ops(d.ledger(id), payment_op::authorize, payment_outcome::approved) == 1);
}

TEST_CASE("the_router_watches_subscriber_gateways_for_entities_and_tells_them_when_one_goes") {
  // Issue #11: entities no longer monitor the node-wide gateway (CAF's
  // demonitor walks every monitor on it). The router watches each gateway
  // once; an unsubscribe, a passivation and the gateway's death all drop
  // the entity's entry.
  domain_world d{harness::pick_seed("order.gateway_watch")};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  auto gw1 = d.w.make_probe();
  auto gw2 = d.w.make_probe();
  REQUIRE(d.subscribe(id, gw1, customer_c1).match_elements<msg::order_snapshot>());
  REQUIRE(d.subscribe(id, gw2, customer_c1).match_elements<msg::order_snapshot>());
  auto s = d.router_stats();
  CHECK(s.gateways_watched == 2);
  CHECK(s.gateway_watches == 2);

  REQUIRE(d.ask(order_ref(id), unsubscribe_cmd{gw2.handle}).match_elements<msg::ok_reply>());
  s = d.router_stats();
  CHECK(s.gateways_watched == 1);
  CHECK(s.gateway_watches == 1);

  // gw1 dies: the order stops pushing to it, the router forgets it.
  caf::anon_send_exit(gw1.handle, caf::exit_reason::kill);
  d.w.run();
  s = d.router_stats();
  CHECK(s.gateways_watched == 0);
  CHECK(s.gateway_watches == 0);
  auto gw3 = d.w.make_probe();
  REQUIRE(d.subscribe(id, gw3, customer_c1).match_elements<msg::order_snapshot>());
  REQUIRE(d.act(id, msg::role::store, "s-1", order_action::accept).match_elements<msg::ok_reply>());
  CHECK(status_pushes(gw3).size() == 1);
  CHECK(d.router_stats().gateway_watches == 1);
}

TEST_CASE("a_passivated_subscriber_leaves_no_gateway_watch_behind") {
  cluster::router_config rcfg;
  rcfg.idle_timeout = 300ms;
  rcfg.idle_scan_interval = 100ms;
  domain_world d{harness::pick_seed("order.gateway_watch_passivated"), {},
                 harness::order_policy::random, rcfg};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = place_paid(d);
  auto gw = d.w.make_probe();
  REQUIRE(d.subscribe(id, gw, customer_c1).match_elements<msg::order_snapshot>());
  CHECK(d.router_stats().gateway_watches >= 1);
  d.w.advance(3s); // everything idle passivates
  CHECK(d.live(kind::order) == 0);
  CHECK(d.router_stats().gateway_watches == 0);
  CHECK(d.router_stats().gateways_watched == 0);
}
