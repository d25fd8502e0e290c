// Location history: the store (retention, thinning, aggregates, files) and
// the writer actor fed by riders.
#include "actors/history_actor.hpp"
#include "actors/location_history.hpp"
#include "actors/rider_test_kit.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testkit;
using namespace std::chrono_literals;

namespace {
constexpr core::time_ms t0 = 1'767'225'600'000; // a minute boundary
}

TEST_CASE("history_keeps_5s_detail_and_minute_means_and_prunes_by_retention") {
  location_history h;
  std::vector<history_point> batch;
  for (int s = 0; s < 120; ++s) // one point a second for two minutes
    batch.push_back(history_point{"r-1", 37.0 + s * 1e-5, 127.0, t0 + s * 1000});
  h.write(batch);
  auto detail = h.detail("r-1", t0, t0 + 120'000);
  CHECK(detail.size() == 24); // one per 5 s
  CHECK(h.stats().thinned == 96);
  auto minutes = h.minutes("r-1", t0, t0 + 120'000);
  REQUIRE(minutes.size() == 2);
  CHECK(minutes[0].count == 60);
  CHECK(minutes[0].lat == doctest::Approx(37.0 + 29.5e-5));
  CHECK(h.detail("r-1", t0 + 60'000, t0 + 70'000).size() == 2);
  CHECK(h.detail("r-2", t0, t0 + 1).empty());
  h.prune(t0 + 24 * 3'600'000LL + 60'000); // detail window passed the first minute
  CHECK(h.detail("r-1", t0, t0 + 120'000).size() == 12);
  CHECK(h.minutes("r-1", t0, t0 + 120'000).size() == 2);
  h.prune(t0 + 8 * 24 * 3'600'000LL);
  CHECK(h.riders() == 0);
}

TEST_CASE("history_bounds_riders_and_reloads_its_segment_files") {
  char tmpl[] = "/tmp/courier-history-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  history_limits lim;
  lim.riders_max = 2;
  {
    location_history h{lim, dir};
    h.write({{"a", 1, 2, t0}, {"b", 1, 2, t0}, {"c", 1, 2, t0}, {"a", 3, 4, t0 + 61'000}});
    CHECK(h.stats().refused == 1);
    CHECK(h.riders() == 2);
  }
  location_history again{lim, dir};
  CHECK(again.detail("a", t0, t0 + 100'000).size() == 2);
  CHECK(again.minutes("a", t0, t0 + 60'000).size() == 1); // the closed minute
  again.prune(t0 + 10 * 24 * 3'600'000LL);
  location_history empty{lim, dir};
  CHECK(empty.riders() == 0);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("rider_positions_reach_the_history_writer_in_batches_and_are_queryable") {
  rig r{harness::pick_seed("history.writer")};
  auto store_ptr = std::make_shared<location_history>();
  r.svc->history = store_ptr;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  for (int i = 1; i <= 6; ++i) {
    r.position("r-1", static_cast<std::uint64_t>(i), offset_m(a.lat, a.lng, i * 10.0, 0));
    r.w.advance(5s);
  }
  auto writer = r.w.sys().registry().get<caf::actor>(history_registry_key());
  REQUIRE(writer != nullptr);
  auto now = r.w.clock().now_ms();
  history_query q{"r-1", now - 3'600'000, now + 1, history_series::detail};
  caf::send_as(r.p.handle, writer, q);
  r.w.run();
  auto reply = r.p.next<history_reply>();
  REQUIRE(reply.has_value());
  CHECK(reply->samples.size() == 6);
  q.series = history_series::minutes;
  caf::send_as(r.p.handle, writer, q);
  r.w.run();
  auto mins = r.p.next<history_reply>();
  REQUIRE(mins.has_value());
  CHECK_FALSE(mins->samples.empty());
  // The writer is a node service: stop it before the world goes.
  r.w.sys().registry().erase(history_registry_key());
  caf::anon_send_exit(writer, caf::exit_reason::kill);
  r.w.run();
}
