// Store entity: upsert, radius triggers in arrival order, store_check with
// the region cap, subscriptions and deduplicated notifications.
#include "actors/order_testing.hpp"
#include "actors/store_actor.hpp"

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testing;

namespace {
radius_trigger_cmd trigger(msg::radius_trigger_kind k, std::int64_t radius_m) {
  radius_trigger_cmd c;
  c.who = {msg::role::admin, "a-1"};
  c.body.target = "store:s-1";
  c.body.trigger = k;
  c.body.radius_m = static_cast<decltype(c.body.radius_m)>(radius_m);
  return c;
}
} // namespace

TEST_CASE("radius_triggers_are_answered_in_arrival_order_and_survive_a_crash") {
  domain_world d{harness::pick_seed("store.triggers")};
  d.upsert_store("s-1", gangnam, 3000);
  using K = msg::radius_trigger_kind;
  // Sent back to back from one sender: applied and answered in this order.
  std::vector<std::pair<radius_trigger_cmd, std::pair<std::int64_t, bool>>> script{
      {trigger(K::weather, 2000), {2000, true}},
      {trigger(K::rider_shortage, 2500), {2000, false}},
      {trigger(K::weather, 4000), {2500, true}},
      {trigger(K::manual, 1000), {1000, true}},
      {trigger(K::restore, 0), {3000, true}},
      {trigger(K::restore, 0), {3000, false}},
      {trigger(K::system_error, 1500), {1500, true}},
  };
  d.p.clear();
  for (auto& [cmd, expected] : script)
    d.send(d.p, store_ref(core::store_id{"s-1"}), cmd);
  d.w.run();
  for (auto& [cmd, expected] : script) {
    auto r = d.p.next<msg::radius_result>();
    REQUIRE(r.has_value());
    CHECK(r->target == "store:s-1");
    CHECK(static_cast<std::int64_t>(r->radius_m) == expected.first);
    CHECK(r->applied == expected.second);
  }
  d.crash_and_restart();
  auto info = d.ask(store_ref(core::store_id{"s-1"}), store_check{gangnam});
  REQUIRE(info.match_elements<store_info>());
  CHECK(info.get_as<store_info>(0).effective_radius_m == 1500);
}

TEST_CASE("store_check_uses_the_smaller_region_cap_and_unknown_stores_are_not_found") {
  domain_world d{harness::pick_seed("store.check")};
  CHECK(domain_world::code_of(d.ask(store_ref(core::store_id{"s-1"}), store_check{gangnam})) ==
        core::errc::not_found);
  d.upsert_store("s-1", gangnam, 3000);
  d.log->region_cap_m = 1200;
  auto info = d.ask(store_ref(core::store_id{"s-1"}), store_check{nearby_dropoff});
  REQUIRE(info.match_elements<store_info>());
  CHECK(info.get_as<store_info>(0).effective_radius_m == 1200);
  CHECK(info.get_as<store_info>(0).dropoff_distance_m == doctest::Approx(550).epsilon(0.1));
  auto forbidden = d.ask(store_ref(core::store_id{"s-1"}),
                         store_upsert_cmd{{msg::role::store, "s-1"}, {}});
  CHECK(domain_world::code_of(forbidden) == core::errc::forbidden);
}

TEST_CASE("store_sessions_get_each_notification_once") {
  domain_world d{harness::pick_seed("store.notify")};
  d.upsert_store("s-1", gangnam, 3000);
  auto gw = d.w.make_probe();
  CHECK(domain_world::code_of(d.ask(store_ref(core::store_id{"s-1"}),
                                    subscribe_cmd{{msg::role::store, "s-2"}, gw.handle})) ==
        core::errc::forbidden);
  d.ask(store_ref(core::store_id{"s-1"}), subscribe_cmd{{msg::role::store, "s-1"}, gw.handle});
  store_notify n;
  n.kind = store_notify::what::new_order;
  n.new_order.order_id = core::order_id{"o-1"};
  d.ask(store_ref(core::store_id{"s-1"}), n);
  d.ask(store_ref(core::store_id{"s-1"}), n); // an outbox repeat
  int pushes = 0;
  while (auto m = gw.next_any())
    pushes += m->match_elements<push_atom, std::string, msg::new_order>();
  CHECK(pushes == 1);
}
