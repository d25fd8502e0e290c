// Unit tests of courier-sim's pure simulation classes: no sockets, injected
// sim time, seeded rngs (each test names its seed).
#include "messages/validate.hpp"
#include "tools/sim/city.hpp"
#include "tools/sim/order_pacer.hpp"
#include "tools/sim/rider_model.hpp"
#include "tools/sim/sim_clock.hpp"
#include "tools/sim/sim_config.hpp"
#include "tools/sim/store_model.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace courier;
using namespace courier::sim;

namespace {
const point gangnam{gangnam_lat, gangnam_lng};
}

TEST_CASE("parse_args_reads_every_flag_and_defaults_the_rest") {
  auto r = parse_args({"--transport", "tcp", "--riders=10", "--speedup", "12.5", "--seed", "42",
                       "--hotspot-share", "0.7", "--json-summary", "/tmp/x.json"});
  REQUIRE(r.config);
  CHECK(r.config->transport == transport_kind::tcp);
  CHECK(r.config->riders == 10);
  CHECK(r.config->speedup == doctest::Approx(12.5));
  CHECK(r.config->seed == 42);
  CHECK(r.config->hotspot_share == doctest::Approx(0.7));
  CHECK(r.config->json_summary == "/tmp/x.json");
  CHECK(r.config->stores == 50);
  CHECK(r.config->http_ports == std::vector<std::uint16_t>{8080});
  CHECK(r.config->secret == "courier-demo-secret");
}

TEST_CASE("parse_args_takes_one_port_or_one_per_node") {
  auto r = parse_args({"--http-port", "8081,8082,8083", "--tcp-port=7071", "--ledger", "/tmp/l"});
  REQUIRE(r.config);
  CHECK(r.config->http_ports == std::vector<std::uint16_t>{8081, 8082, 8083});
  CHECK(r.config->tcp_ports == std::vector<std::uint16_t>{7071});
  CHECK(r.config->ledger == "/tmp/l");
  for (const char* bad : {"", "0", "8081,", ",8081", "8081,,8082", "70000", "80a"})
    CHECK_MESSAGE(parse_args({"--http-port", bad}).error.find("--http-port") != std::string::npos,
                  bad);
}

TEST_CASE("parse_args_rejects_bad_values_with_the_flag_named") {
  CHECK(parse_args({"--riders", "-1"}).error.find("--riders") != std::string::npos);
  CHECK(parse_args({"--speedup", "0"}).error.find("--speedup") != std::string::npos);
  CHECK(parse_args({"--transport", "udp"}).error.find("ws or tcp") != std::string::npos);
  CHECK(parse_args({"--hotspot-share", "1.5"}).error.find("--hotspot-share") != std::string::npos);
  CHECK(parse_args({"--nope"}).error.find("unknown") != std::string::npos);
  CHECK(parse_args({"--seed"}).error.find("needs a value") != std::string::npos);
  CHECK(parse_args({"--secret-file", "/nonexistent/secret"}).error.find("cannot read") !=
        std::string::npos);
  CHECK(parse_args({"--help"}).help);
}

TEST_CASE("offset_and_bearing_agree_with_haversine_distance") {
  for (double bearing : {0.0, 45.0, 90.0, 200.0, 359.0}) {
    point p = offset(gangnam, bearing, 1000.0);
    CHECK(distance_m(gangnam, p) == doctest::Approx(1000.0).epsilon(0.002));
    CHECK(bearing_deg(gangnam, p) == doctest::Approx(bearing).epsilon(0.01));
  }
  point far = offset(gangnam, 90, 500);
  point mid = move_toward(gangnam, far, 200);
  CHECK(distance_m(gangnam, mid) == doctest::Approx(200).epsilon(0.01));
  point end = move_toward(mid, far, 1000);
  CHECK(end.lat == far.lat);
  CHECK(end.lng == far.lng);
}

TEST_CASE("make_city_puts_the_hotspot_share_near_gangnam_and_is_seed_deterministic") {
  sim_config cfg;
  cfg.stores = 100;
  cfg.riders = 40;
  cfg.customers = 3;
  cfg.hotspot_share = 0.25;
  rng_t a(7), b(7);
  auto city = make_city(cfg, a);
  auto again = make_city(cfg, b);
  REQUIRE(city.stores.size() == 100);
  REQUIRE(city.riders.size() == 40);
  REQUIRE(city.customers.size() == 3);
  CHECK(city.customers[2].str() == "c-3");
  std::size_t hot = 0;
  for (std::size_t i = 0; i < city.stores.size(); ++i) {
    CHECK(city.stores[i].at.lat == again.stores[i].at.lat);
    if (distance_m(city.stores[i].at, gangnam) <= hotspot_radius_m)
      ++hot;
  }
  // 25 are placed in the hot spot; a few of the spread ones may land there too.
  CHECK(hot >= 25);
  CHECK(hot < 40);
  for (std::size_t i = 0; i < 10; ++i) // the first 25% of riders roam at Gangnam
    CHECK(distance_m(city.riders[i].start, gangnam) <= hotspot_radius_m + 1);
}

TEST_CASE("make_order_totals_exactly_and_drops_off_inside_the_store_radius") {
  sim_config cfg;
  cfg.stores = 5;
  rng_t rng(11);
  auto city = make_city(cfg, rng);
  for (int i = 0; i < 500; ++i) {
    auto o = make_order(city, rng);
    const auto& store = city.stores[o.store_index];
    CHECK(distance_m(store.at, o.dropoff) <= store.radius_m * dropoff_radius_share + 1);
    std::int64_t sum = 0;
    for (const auto& it : o.items)
      sum += it.price.minor_units * it.qty;
    CHECK(sum == o.total.minor_units);
    // What the sim sends passes the node's own validation.
    msg::place_order p{core::request_id{"q-1"}, store.id, o.items, o.total,
                       msg::lat_lng{o.dropoff.lat, o.dropoff.lng}};
    CHECK(msg::validate(msg::client_body{p}).ok());
  }
}

TEST_CASE("order_pacer_releases_at_the_rate_and_sheds_bursts_past_the_cap") {
  order_pacer p(600); // 10 per second
  CHECK(p.take_due(0) == 0);
  CHECK(p.take_due(99) == 0);
  CHECK(p.take_due(100) == 1);
  CHECK(p.take_due(1000) == 9);
  CHECK(p.take_due(500) == 0); // time going backwards releases nothing
  CHECK(p.take_due(60'000) == pacer_burst_max); // a 59 s stall: 590 owed
  CHECK(p.shed() == 590 - pacer_burst_max);
  CHECK(p.released() + p.shed() == 600);
}

TEST_CASE("sim_clock_scales_wall_time_by_the_speedup") {
  sim_clock c(10);
  CHECK(c.to_sim(500) == 5000);
  CHECK(c.to_wall(5000) == 500); // a 5 s position interval is 0.5 s of wall time
  CHECK(c.to_wall(0) == 1);
}

TEST_CASE("rider_travels_to_store_then_dropoff_at_travel_speed") {
  rider_params params;
  params.reject_rate = 0.0;
  rider_model r(gangnam, gangnam, 1000, params, /*seed=*/3);
  CHECK(r.wants_offer());
  point store = offset(gangnam, 90, 100);   // 100 m east
  point dropoff = offset(store, 0, 300);    // then 300 m north
  r.assign(core::order_id{"o-1"}, store, dropoff);
  CHECK(r.phase() == rider_phase::to_store);
  CHECK_FALSE(r.wants_offer()); // busy riders say no
  CHECK(r.advance(10'000, 10'000) == rider_event::none); // 50 m of 100
  CHECK(distance_m(r.where(), store) == doctest::Approx(50).epsilon(0.02));
  CHECK(r.speed_mps() == doctest::Approx(5.0).epsilon(0.02));
  CHECK(r.advance(10'000, 20'000) == rider_event::arrived_at_store);
  CHECK(r.phase() == rider_phase::at_store);
  CHECK_FALSE(r.should_pick_up(false, 25'000));
  CHECK(r.should_pick_up(true, 25'000));
  CHECK(r.should_pick_up(false, 20'000 + params.pickup_wait_max_ms));
  r.picked_up();
  CHECK(r.advance(50'000, 70'000) == rider_event::none);
  CHECK(r.advance(20'000, 90'000) == rider_event::arrived_at_dropoff);
  r.delivered();
  CHECK(r.phase() == rider_phase::idle);
  CHECK_FALSE(r.order());
}

TEST_CASE("idle_rider_wanders_but_stays_near_its_roam_disc") {
  rider_model r(gangnam, gangnam, 300, rider_params{}, /*seed=*/99);
  double max_d = 0;
  for (int i = 0; i < 2000; ++i) {
    r.advance(5000, 5000 * (i + 1));
    max_d = std::max(max_d, distance_m(r.where(), gangnam));
  }
  // One step (7.5 m) past the edge at most before it turns back.
  CHECK(max_d <= 300 + 8);
  CHECK(max_d > 100); // it does move
  CHECK(r.next_seq() == 1);
  CHECK(r.next_seq() == 2);
}

TEST_CASE("reject_rate_is_honoured_over_many_offers") {
  rider_params params;
  params.reject_rate = 0.3;
  rider_model r(gangnam, gangnam, 1000, params, /*seed=*/5);
  int accepted = 0;
  for (int i = 0; i < 10'000; ++i)
    accepted += r.wants_offer() ? 1 : 0;
  CHECK(accepted == doctest::Approx(7000).epsilon(0.03));
}

TEST_CASE("store_accepts_then_cooks_then_is_ready_after_prep_minutes") {
  store_params p;
  p.accept_delay_min_ms = p.accept_delay_max_ms = 10'000;
  p.prep_minutes_min = p.prep_minutes_max = 5;
  p.cooking_delay_ms = 60'000;
  store_model s(p, /*seed=*/1);
  CHECK_FALSE(s.next_due());
  REQUIRE(s.on_new_order(core::order_id{"o-1"}, 0) == new_order_outcome::scheduled);
  CHECK(s.on_new_order(core::order_id{"o-1"}, 0) == new_order_outcome::known); // duplicate push
  CHECK(*s.next_due() == 10'000);
  CHECK(s.take_due(9'999).empty());
  auto a = s.take_due(10'000);
  REQUIRE(a.size() == 1);
  CHECK(a[0].kind == store_action_kind::accept);
  CHECK(a[0].prep_minutes == 5);
  CHECK(*s.next_due() == 70'000);
  auto c = s.take_due(70'000);
  REQUIRE(c.size() == 1);
  CHECK(c[0].kind == store_action_kind::cooking);
  CHECK(*s.next_due() == 10'000 + 5 * 60'000);
  auto r = s.take_due(1'000'000);
  REQUIRE(r.size() == 1);
  CHECK(r[0].kind == store_action_kind::ready);
  CHECK(s.open_orders() == 0);
  CHECK_FALSE(s.next_due());
  // A snapshot after a reconnect re-sends new_order for an order it has
  // cooked: it is not cooked again.
  CHECK(s.on_new_order(core::order_id{"o-1"}, 2'000'000) == new_order_outcome::known);
  CHECK_FALSE(s.next_due());
}

TEST_CASE("a_store_with_a_reject_rate_declines_about_that_share_once_per_order") {
  store_params p;
  p.reject_rate = 0.25;
  p.orders_max = 100000;
  store_model s(p, /*seed=*/3);
  int declined = 0;
  for (int i = 0; i < 4000; ++i) {
    core::order_id id{"o-" + std::to_string(i)};
    if (s.on_new_order(id, 0) == new_order_outcome::declined) {
      ++declined;
      CHECK(s.on_new_order(id, 0) == new_order_outcome::known); // a re-send is not re-decided
    }
  }
  CHECK(declined > 850);
  CHECK(declined < 1150);
}

TEST_CASE("store_bounds_open_orders_and_forgets_failed_ones") {
  store_params p;
  p.orders_max = 2;
  store_model s(p, /*seed=*/2);
  CHECK(s.on_new_order(core::order_id{"o-1"}, 0) == new_order_outcome::scheduled);
  CHECK(s.on_new_order(core::order_id{"o-2"}, 0) == new_order_outcome::scheduled);
  CHECK(s.on_new_order(core::order_id{"o-3"}, 0) == new_order_outcome::full);
  s.forget(core::order_id{"o-1"});
  CHECK(s.open_orders() == 1);
  auto due = s.take_due(10'000'000); // everything, in order, for o-2 only
  REQUIRE(due.size() == 3);
  for (const auto& a : due)
    CHECK(a.order_id.str() == "o-2");
  CHECK(s.on_new_order(core::order_id{"o-3"}, 0) == new_order_outcome::scheduled);
  CHECK(s.on_new_order(core::order_id{"o-1"}, 0) == new_order_outcome::known); // forgotten, not new
}
