// Location history in Redis (cluster mode) against a real redis-server:
// queries across hours, two nodes writing one rider, retention by
// EXPIREAT, the size gauges, and Redis going away.
#include "storage/history_redis_backend.hpp"
#include "storage/history_writer.hpp"
#include "storage/tests/redis_server.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace courier;
using namespace courier::storage;

namespace {

/// Redis expires keys by its own clock, so these tests run near real time:
/// the hour that began before the test (the clock is still injected).
core::time_ms this_hour() {
  auto now = core::system_clock{}.now_ms();
  return history_hour_of(now) * history_hour_ms;
}

std::unique_ptr<history_writer> redis_writer(const testing::redis_server& server,
                                             history_limits limits = {}) {
  auto b = history_redis_backend::open(server.url(), limits);
  REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.err().message));
  return std::make_unique<history_writer>(std::move(*b), limits);
}

void feed(history_writer& w, const std::string& rider, core::time_ms start, int seconds) {
  for (int s = 0; s < seconds; ++s)
    w.add(history_point{rider, 37.0 + s * 1e-5, 127.0, start + s * 1000}, start + s * 1000);
}

} // namespace

TEST_CASE("history_in_redis_answers_raw_and_minutes_across_an_hour_boundary_on_any_node") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  const core::time_ms h = this_hour();
  const core::time_ms start = h - 60'000; // the last minute of the previous hour
  auto n1 = redis_writer(server);
  feed(*n1, "r:1", start, 120); // ':' in an id stays unambiguous (hour first)
  n1->close(start + 120'000);
  auto n2 = redis_writer(server); // another node: it never saw the rider
  const core::time_ms now = start + 120'000;
  auto raw = n2->query("r:1", history_detail::raw, start, now, now);
  REQUIRE(raw.ok());
  REQUIRE(raw->samples.size() == 24);
  CHECK(raw->samples.front().at_ms == start);
  CHECK(raw->samples.back().at_ms == start + 115'000);
  auto minutes = n2->query("r:1", history_detail::minute, start, now, now);
  REQUIRE(minutes.ok());
  REQUIRE(minutes->samples.size() == 2);
  CHECK(minutes->samples[0].count == 60);
  CHECK(minutes->samples[1].at_ms == h);

  auto client = server.client();
  auto key = history_redis_backend::key(history_detail::raw, history_hour_of(start), "r:1");
  auto ttl = client->command({"PTTL", key});
  REQUIRE(ttl.ok());
  // Expires when the hour is 24 h old: about 23 h from now.
  CHECK(ttl->integer > 22 * history_hour_ms);
  CHECK(ttl->integer <= 24 * history_hour_ms);
  auto min_key = history_redis_backend::key(history_detail::minute, history_hour_of(start), "r:1");
  auto min_ttl = client->command({"PTTL", min_key});
  REQUIRE(min_ttl.ok());
  CHECK(min_ttl->integer > 6 * 24 * history_hour_ms);

  n2->tick(now);
  auto s = n2->stats();
  CHECK(s.segments == 4); // raw and minute keys of two hours
  CHECK(s.bytes == (24 + 2) * 20);
}

TEST_CASE("history_in_redis_merges_one_minute_written_by_two_nodes") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  const core::time_ms m = this_hour() + 60'000;
  auto n1 = redis_writer(server);
  auto n2 = redis_writer(server);
  // The rider was handed off mid-minute: 20 s on n1, 40 s on n2.
  feed(*n1, "r-7", m, 20);
  n1->close(m + 20'000);
  for (int s = 20; s < 60; ++s)
    n2->add(history_point{"r-7", 38.0, 127.0, m + s * 1000}, m + s * 1000);
  n2->close(m + 60'000);
  auto page = n1->query("r-7", history_detail::minute, m, m + 60'000, m + 60'000);
  REQUIRE(page.ok());
  REQUIRE(page->samples.size() == 1);
  CHECK(page->samples[0].count == 60);
  CHECK(page->samples[0].lat == doctest::Approx((20 * 37.0 + 19 * 10 * 1e-5 + 40 * 38.0) / 60)
                                    .epsilon(1e-7));
}

TEST_CASE("history_in_redis_drops_and_counts_while_redis_is_down_and_queries_fail_cleanly") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  const core::time_ms h = this_hour();
  history_limits lim;
  auto b = history_redis_backend::open(server.url(), lim, std::chrono::milliseconds{300});
  REQUIRE(b.ok());
  history_writer w{std::move(*b), lim};
  feed(w, "r-1", h, 10);
  server.stop();
  w.close(h + 10'000);
  auto s = w.stats();
  CHECK(s.write_failures >= 1);
  CHECK(s.dropped[0][static_cast<std::size_t>(history_drop::write_error)] == 2);
  auto page = w.query("r-1", history_detail::raw, h, h + 10'000, h + 10'000);
  REQUIRE_FALSE(page.ok());
  CHECK(page.err().code == core::errc::unavailable);
  CHECK(w.stats().query_errors == 1);
}
