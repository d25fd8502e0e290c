// Unit tests of courier-sim's measuring: percentiles, position matching,
// the order book and the report formats.
#include "tools/sim/latency.hpp"
#include "tools/sim/order_book.hpp"
#include "tools/sim/stats.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace courier;
using namespace courier::sim;

TEST_CASE("histogram_percentiles_are_nearest_rank") {
  latency_histogram h;
  CHECK(h.summarize().count == 0);
  for (int i = 1; i <= 100; ++i)
    h.add(i);
  auto s = h.summarize();
  CHECK(s.count == 100);
  CHECK(s.p50_ms == 50);
  CHECK(s.p90_ms == 90);
  CHECK(s.p99_ms == 99);
  CHECK(s.max_ms == 100);
  CHECK(s.mean_ms == doctest::Approx(50.5));
}

TEST_CASE("histogram_keeps_a_bounded_reservoir_but_exact_count_and_max") {
  latency_histogram h(1000);
  for (int i = 0; i < 100'000; ++i)
    h.add(i % 100);
  h.add(5000);
  auto s = h.summarize();
  CHECK(s.count == 100'001);
  CHECK(s.max_ms == 5000);
  CHECK(s.p50_ms == doctest::Approx(50).epsilon(0.15));
}

TEST_CASE("position_matcher_prefers_the_exact_time_and_falls_back_to_the_latest_earlier") {
  position_matcher m;
  core::rider_id r{"r-1"};
  m.on_sent(r, 1000, 10);
  m.on_sent(r, 1500, 20);
  m.on_sent(r, 2000, 30);
  auto exact = m.find(r, 1500);
  REQUIRE(exact);
  CHECK(exact->sent_us == 20);
  CHECK(exact->exact);
  auto stamped = m.find(r, 1700); // the server stamped its own receive time
  REQUIRE(stamped);
  CHECK(stamped->sent_us == 20);
  CHECK_FALSE(stamped->exact);
  CHECK_FALSE(m.find(r, 999));
  CHECK_FALSE(m.find(core::rider_id{"r-2"}, 1500));
  for (int i = 0; i < 200; ++i) // the ring forgets the oldest
    m.on_sent(r, 3000 + i, 100 + i);
  CHECK_FALSE(m.find(r, 2000));
}

TEST_CASE("order_book_records_command_times_and_the_first_offer_once") {
  order_book b(2);
  core::order_id o{"o-1"};
  CHECK_FALSE(b.first_offer(o)); // no accept_order time known yet
  b.command_sent(o, msg::order_status::accepted, 500);
  CHECK_FALSE(b.first_offer(o)); // the first offer already came
  core::order_id o2{"o-2"};
  b.command_sent(o2, msg::order_status::accepted, 700);
  CHECK(*b.first_offer(o2) == 700);
  CHECK_FALSE(b.first_offer(o2));
  CHECK_FALSE(b.is_ready(o2));
  b.mark_ready(o2);
  CHECK(b.is_ready(o2));
  b.placed(core::order_id{"o-3"}, 1); // full: not tracked
  CHECK_FALSE(b.place_sent_at(core::order_id{"o-3"}));
  b.forget(o);
  b.placed(core::order_id{"o-3"}, 1);
  CHECK(*b.place_sent_at(core::order_id{"o-3"}) == 1);
  CHECK(b.size() == 2);
}

TEST_CASE("stats_report_counts_errors_by_code_and_matches_positions") {
  sim_stats s;
  s.count_error(core::errc::conflict);
  s.count_error(core::errc::conflict);
  s.count_error(core::errc::out_of_area);
  s.positions_sent += 1;
  s.position_sent(core::rider_id{"r-1"}, 1000, 1'000'000);
  s.position_received(core::rider_id{"r-1"}, 1000, 1'012'000);
  s.position_received(core::rider_id{"r-9"}, 1000, 1'012'000);
  auto r = s.report(3.0, 42, "ws");
  CHECK(r.counters.errors[static_cast<std::size_t>(core::errc::conflict)] == 2);
  CHECK(r.counters.unmatched_positions == 1);
  auto pos = r.latencies[static_cast<std::size_t>(metric::position_to_push)];
  CHECK(pos.count == 1);
  CHECK(pos.p50_ms == doctest::Approx(12.0));
  CHECK(r.exact_position_matches == 1);

  auto line = progress_line(r.counters, 3.0);
  CHECK(line.find("conflict=2") != std::string::npos);
  CHECK(line.find("p99_ms") == std::string::npos);
  CHECK(line.find("out_of_area=1") != std::string::npos);
  CHECK(summary_text(r).find("position_to_push") != std::string::npos);
  auto j = nlohmann::json::parse(summary_json(r));
  CHECK(j["seed"] == 42);
  CHECK(j["counters"]["positions_sent"] == 1);
  CHECK(j["errors"]["conflict"] == 2);
  CHECK(j["latency_ms"]["position_to_push"]["count"] == 1);
}

TEST_CASE("the_progress_window_holds_only_the_samples_since_the_last_take") {
  sim_stats s;
  for (int i = 1; i <= 100; ++i)
    s.add(metric::place_to_placed, i);
  auto first = s.take_window();
  CHECK(first[static_cast<std::size_t>(metric::place_to_placed)].count == 100);
  CHECK(first[static_cast<std::size_t>(metric::place_to_placed)].p99_ms == 99);

  s.add(metric::place_to_placed, 500);
  s.position_sent(core::rider_id{"r-1"}, 1000, 1'000'000);
  s.position_received(core::rider_id{"r-1"}, 1000, 1'007'000);
  auto second = s.take_window();
  CHECK(second[static_cast<std::size_t>(metric::place_to_placed)].count == 1);
  CHECK(second[static_cast<std::size_t>(metric::place_to_placed)].p99_ms == 500);
  CHECK(second[static_cast<std::size_t>(metric::position_to_push)].p99_ms ==
        doctest::Approx(7.0));
  // The run's own percentiles still see every sample.
  CHECK(s.report(1.0, 1, "ws").latencies[static_cast<std::size_t>(metric::place_to_placed)].count ==
        101);

  auto line = progress_line(s.counters(), 2.0, &second);
  CHECK(line.find("| p99_ms place_to_placed=500") != std::string::npos);
  CHECK(line.find("position_to_push=7") != std::string::npos);
  CHECK(line.find("place_to_accepted=-") != std::string::npos);
}
