// The order-rate sizing rule (sizing.hpp): Little's law over the riders,
// with a rider's busy time per order taken from the model itself.
#include "tools/sim/city.hpp"
#include "tools/sim/rider_model.hpp"
#include "tools/sim/sizing.hpp"
#include "tools/sim/store_model.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::sim;

namespace {

/// Plays one order through the models as the agents do: the store gets it
/// at 0, the rider is assigned when the store accepts (starting
/// `start_m` from the store), looks at its order every position tick,
/// picks up once ready and reports delivered on arrival. The rider's busy
/// time (accept -> delivered), sim ms.
sim_ms busy_time_ms(const city_plan& city, const order_spec& o, double start_m,
                    std::uint64_t seed) {
  const auto& store_at = city.stores[o.store_index].at;
  store_model store(store_params{}, seed);
  REQUIRE(store.on_new_order(core::order_id{"o"}, 0) == new_order_outcome::scheduled);
  sim_ms accepted = *store.next_due();
  auto acts = store.take_due(accepted);
  REQUIRE(acts.size() == 1);
  REQUIRE(acts[0].kind == store_action_kind::accept);
  sim_ms ready = accepted + static_cast<sim_ms>(acts[0].prep_minutes) * 60'000;

  rider_params params;
  params.reject_rate = 0.0;
  rider_model rider(offset(store_at, 45.0, start_m), store_at, 1000.0, params, seed);
  rider.assign(core::order_id{"o"}, store_at, o.dropoff);
  sim_ms now = accepted;
  for (int tick = 0; tick < 10'000; ++tick) {
    now += rider_position_interval_ms;
    auto ev = rider.advance(rider_position_interval_ms, now);
    if (ev == rider_event::arrived_at_dropoff) {
      rider.delivered();
      return now - accepted;
    }
    if (rider.phase() == rider_phase::at_store && rider.should_pick_up(now >= ready, now))
      rider.picked_up();
  }
  FAIL("the order was never delivered");
  return 0;
}

} // namespace

TEST_CASE("sized_rate_is_riders_times_utilization_over_the_busy_time") {
  // 200 riders, 60 % busy, 15 sim minutes per order at speedup 10 (1.5 wall
  // minutes): 120 busy riders finish 80 orders per wall minute.
  CHECK(sized_orders_per_min(200, 0.6, 900.0, 10.0) == doctest::Approx(80.0));
  // Twice the speedup, twice the rate; all riders busy is the ceiling.
  CHECK(sized_orders_per_min(200, 0.6, 900.0, 20.0) == doctest::Approx(160.0));
  CHECK(sized_orders_per_min(200, 1.0, 900.0, 10.0) == doctest::Approx(133.333).epsilon(0.001));
}

TEST_CASE("auto_rate_is_the_default_and_a_given_rate_wins") {
  auto sized = parse_args({"--riders", "200", "--speedup", "10"});
  REQUIRE(sized.config);
  CHECK_FALSE(sized.config->orders_per_min);
  double cycle = rider_cycle_s(store_params{}, rider_params{}, sized.config->hotspot_share);
  CHECK(effective_orders_per_min(*sized.config) ==
        doctest::Approx(sized_orders_per_min(200, utilization_default, cycle, 10.0)));
  // The demo, 600/min against 200 riders at speedup 5, needed more
  // than every rider busy all the time: the backlog could only grow.
  CHECK(600.0 > sized_orders_per_min(200, 1.0, cycle, 5.0) * 5);
  auto fixed = parse_args({"--orders-per-min", "42", "--riders", "200"});
  REQUIRE(fixed.config);
  CHECK(effective_orders_per_min(*fixed.config) == doctest::Approx(42.0));
  auto back = parse_args({"--orders-per-min", "42", "--orders-per-min", "auto"});
  REQUIRE(back.config);
  CHECK_FALSE(back.config->orders_per_min);
  CHECK(parse_args({"--orders-per-min", "fast"}).error.find("auto") != std::string::npos);
  CHECK(parse_args({"--utilization", "0"}).error.find("--utilization") != std::string::npos);
}

TEST_CASE("busy_time_formula_matches_the_rider_and_store_models") {
  // Orders drawn as the sim draws them (seed 15), each played through the
  // store and rider models with a rider starting 400 m from the store (a
  // nearest free rider): the mean busy time is what sizing assumes.
  sim_config cfg;
  cfg.stores = 50;
  cfg.riders = 10;
  rng_t rng{15};
  auto city = make_city(cfg, rng);
  const int orders = 400;
  double total_ms = 0.0;
  for (int i = 0; i < orders; ++i) {
    auto o = make_order(city, rng);
    total_ms += static_cast<double>(busy_time_ms(city, o, 400.0, 1000 + i));
  }
  double mean_s = total_ms / orders / 1000.0;
  double formula_s = rider_cycle_s(store_params{}, rider_params{}, cfg.hotspot_share);
  MESSAGE("mean busy time " << mean_s << " s, formula " << formula_s << " s");
  CHECK(mean_s == doctest::Approx(formula_s).epsilon(0.08));
}
