// The history actor fed by riders, in virtual time: positions reach the
// writer, its ticks flush them to the file segments, queries answer raw
// points and minute means. The store itself is tested in storage/tests.
#include "actors/history_actor.hpp"
#include "actors/rider_test_kit.hpp"
#include "storage/history_file_backend.hpp"
#include "storage/history_writer.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testkit;
using namespace std::chrono_literals;

TEST_CASE("rider_positions_reach_the_history_actor_are_flushed_by_its_ticks_and_queryable") {
  storage::testing::temp_dir dir;
  rig r{harness::pick_seed("history.writer")};
  storage::history_limits limits;
  auto files = storage::history_file_backend::open(dir.path(), limits);
  REQUIRE(files.ok());
  auto writer = std::make_shared<storage::history_writer>(std::move(*files), limits);
  r.svc->history = writer;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  const auto start = r.w.clock().now_ms();
  for (int i = 1; i <= 18; ++i) { // 90 s of positions, one per 5 s
    r.position("r-1", static_cast<std::uint64_t>(i), offset_m(a.lat, a.lng, i * 10.0, 0));
    r.w.advance(5s);
  }
  auto actor = r.w.sys().registry().get<caf::actor>(history_registry_key());
  REQUIRE(actor != nullptr);
  // The actor's own ticks wrote them (flush_interval is 30 s): no flush asked.
  CHECK(writer->stats().written[0] > 0);
  auto now = r.w.clock().now_ms();
  history_query q{"r-1", start, now + 1, storage::history_detail::raw};
  caf::send_as(r.p.handle, actor, q);
  r.w.run();
  auto reply = r.p.next<history_reply>();
  REQUIRE(reply.has_value());
  CHECK(reply->error.code == core::errc::none);
  REQUIRE(reply->samples.size() == 18);
  CHECK(reply->samples.front().at_ms == start);
  CHECK_FALSE(reply->truncated);
  q.detail = storage::history_detail::minute;
  caf::send_as(r.p.handle, actor, q);
  r.w.run();
  auto mins = r.p.next<history_reply>();
  REQUIRE(mins.has_value());
  std::uint32_t counted = 0;
  for (auto& m : mins->samples)
    counted += m.count;
  CHECK(counted == 18);
  // Older than the raw retention: clipped and marked.
  q = history_query{"r-1", now - 48 * 3'600'000LL, now, storage::history_detail::raw};
  caf::send_as(r.p.handle, actor, q);
  r.w.run();
  auto old = r.p.next<history_reply>();
  REQUIRE(old.has_value());
  CHECK(old->truncated);
  CHECK(old->from_ms == now - 24 * 3'600'000LL);
  // The history actor is a node service: stop it before the world goes.
  r.w.sys().registry().erase(history_registry_key());
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  r.w.run();
}
