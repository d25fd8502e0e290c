// Behaviour every journal backend shares, run against each of them. Built
// twice: storage_test runs the memory and file backends; storage_redis_test
// (COURIER_JOURNAL_TEST_REDIS) runs the Redis backend against a real
// redis-server, minus the sync-failure case (its sync() is a no-op).
#include "storage/file_backend.hpp"
#include "storage/memory_backend.hpp"
#include "storage/tests/temp_dir.hpp"
#ifdef COURIER_JOURNAL_TEST_REDIS
#include "storage/redis_backend.hpp"
#include "storage/tests/redis_server.hpp"
#endif

#include "core/limits.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cerrno>
#include <memory>

using namespace courier;
using namespace courier::storage;

namespace {

struct memory_fixture {
  memory_backend backend;
  bool ready() const { return true; }
  journal_backend& journal() { return backend; }
  void fail_next_sync() { backend.fail_next_sync(); }
};

struct file_fixture {
  testing::temp_dir dir;
  bool fail_sync = false;
  std::unique_ptr<file_backend> backend;
  file_fixture() {
    file_backend_options options;
    options.io.fdatasync = [this](int fd) {
      if (!fail_sync)
        return ::fdatasync(fd);
      fail_sync = false;
      errno = EIO;
      return -1;
    };
    auto opened = file_backend::open(dir.path(), std::move(options));
    REQUIRE(opened.ok());
    backend = std::move(*opened);
  }
  bool ready() const { return true; }
  journal_backend& journal() { return *backend; }
  void fail_next_sync() { fail_sync = true; }
};

#ifdef COURIER_JOURNAL_TEST_REDIS
/// A fresh redis-server per test; not ready (the test returns) when
/// redis-server is not installed.
struct redis_fixture {
  std::unique_ptr<testing::redis_server> server;
  std::unique_ptr<redis_backend> backend;
  redis_fixture() {
    auto started = testing::redis_server::start();
    if (testing::redis_server::skip(started))
      return;
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.err().message));
    server = std::move(*started);
    auto opened = redis_backend::open(server->url());
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.err().message));
    backend = std::move(*opened);
  }
  bool ready() const { return backend != nullptr; }
  journal_backend& journal() { return *backend; }
};
#define JOURNAL_FIXTURES redis_fixture
#else
#define JOURNAL_FIXTURES memory_fixture, file_fixture
#endif

std::string payload_of(const std::string& stream, version_t version) {
  return stream + "#" + std::to_string(version) +
         std::string(version % 37, static_cast<char>('a' + version % 26));
}

/// Appends `n` events to `stream` from its current version, one request.
version_t append_n(journal_backend& j, const std::string& stream,
                   std::size_t n) {
  append_request req{stream, j.version(stream), {}};
  for (std::size_t i = 1; i <= n; ++i)
    req.events.push_back(payload_of(stream, req.expected + i));
  auto appended = j.append(req);
  REQUIRE_MESSAGE(appended.ok(), (appended.ok() ? "" : appended.err().message));
  return *appended;
}

void check_events(const recovered_stream& got, const std::string& stream,
                  version_t first, version_t last) {
  REQUIRE(got.events.size() == last - first + 1);
  for (version_t v = first; v <= last; ++v) {
    CHECK(got.events[v - first].version == v);
    CHECK(got.events[v - first].payload == payload_of(stream, v));
  }
}

} // namespace

TEST_CASE_TEMPLATE("appended_events_read_back_in_order_with_their_versions", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  version_t total = 0;
  for (std::size_t n = 1; n <= 20; ++n)
    total = append_n(j, "order:o-1", n);
  REQUIRE(j.sync().ok());
  CHECK(total == 210);
  CHECK(j.version("order:o-1") == 210);
  auto got = j.read("order:o-1");
  REQUIRE(got.ok());
  CHECK(got->version == 210);
  CHECK_FALSE(got->snapshot.has_value());
  check_events(*got, "order:o-1", 1, 210);
}

TEST_CASE_TEMPLATE("unsynced_appends_are_visible_to_version_and_read", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  append_n(j, "rider:r-1", 3);
  CHECK(j.version("rider:r-1") == 3);
  auto got = j.read("rider:r-1");
  REQUIRE(got.ok());
  check_events(*got, "rider:r-1", 1, 3);
  CHECK(j.version("rider:unknown") == 0);
  auto empty = j.read("rider:unknown");
  REQUIRE(empty.ok());
  CHECK(empty->version == 0);
  CHECK(empty->events.empty());
}

TEST_CASE_TEMPLATE("stale_writer_gets_conflict_naming_both_versions", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  append_n(j, "order:o-2", 4);
  auto stale = j.append(append_request{"order:o-2", 2, {"late"}});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.err().code == core::errc::conflict);
  CHECK(stale.err().message.find("version 4") != std::string::npos);
  CHECK(stale.err().message.find("expected 2") != std::string::npos);
  CHECK(j.version("order:o-2") == 4);
  auto ahead = j.append(append_request{"order:o-2", 9, {"early"}});
  REQUIRE_FALSE(ahead.ok());
  CHECK(ahead.err().code == core::errc::conflict);
}

TEST_CASE_TEMPLATE("snapshot_hides_the_events_it_covers", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  append_n(j, "store:s-1", 5);
  REQUIRE(j.save_snapshot("store:s-1", 3, "state@3").ok());
  REQUIRE(j.sync().ok());
  auto got = j.read("store:s-1");
  REQUIRE(got.ok());
  REQUIRE(got->snapshot.has_value());
  CHECK(got->snapshot->version == 3);
  CHECK(got->snapshot->payload == "state@3");
  check_events(*got, "store:s-1", 4, 5);

  REQUIRE(j.save_snapshot("store:s-1", 5, "state@5").ok());
  append_n(j, "store:s-1", 2);
  REQUIRE(j.sync().ok());
  got = j.read("store:s-1");
  REQUIRE(got.ok());
  CHECK(got->snapshot->payload == "state@5");
  CHECK(got->version == 7);
  check_events(*got, "store:s-1", 6, 7);

  auto past = j.save_snapshot("store:s-1", 8, "future");
  REQUIRE_FALSE(past.ok());
  CHECK(past.err().code == core::errc::bad_request);
  auto older = j.save_snapshot("store:s-1", 4, "older");
  REQUIRE_FALSE(older.ok());
  CHECK(older.err().code == core::errc::conflict);
}

#ifndef COURIER_JOURNAL_TEST_REDIS
TEST_CASE_TEMPLATE("failed_sync_rolls_back_every_unsynced_change", F,
                   memory_fixture, file_fixture) {
  F f;
  auto& j = f.journal();
  append_n(j, "order:o-3", 2);
  REQUIRE(j.sync().ok());

  append_n(j, "order:o-3", 3);
  append_n(j, "order:o-new", 1);
  REQUIRE(j.save_snapshot("order:o-3", 4, "snap@4").ok());
  f.fail_next_sync();
  auto synced = j.sync();
  REQUIRE_FALSE(synced.ok());
  CHECK(synced.err().code != core::errc::none);

  CHECK(j.version("order:o-3") == 2);
  CHECK(j.version("order:o-new") == 0);
  CHECK(j.streams() == std::vector<std::string>{"order:o-3"});
  auto got = j.read("order:o-3");
  REQUIRE(got.ok());
  CHECK_FALSE(got->snapshot.has_value());
  check_events(*got, "order:o-3", 1, 2);

  // The writer retries from the rolled-back version.
  CHECK(append_n(j, "order:o-3", 1) == 3);
  REQUIRE(j.sync().ok());
  got = j.read("order:o-3");
  REQUIRE(got.ok());
  check_events(*got, "order:o-3", 1, 3);
}
#endif

TEST_CASE_TEMPLATE("oversized_or_malformed_appends_are_bad_requests", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  const auto rejects = [&](append_request req) {
    auto appended = j.append(req);
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.err().code == core::errc::bad_request);
  };
  append_request many{"order:o-4", 0, {}};
  many.events.assign(core::limits::journal_events_per_append_max + 1, "e");
  rejects(many);
  rejects({"order:o-4", 0,
           {"ok", std::string(core::limits::journal_record_bytes_max, 'x')}});
  rejects({"order:o-4", 0, {}});
  rejects({"", 0, {"e"}});
  rejects({std::string(stream_name_bytes_max + 1, 's'), 0, {"e"}});
  CHECK(j.version("order:o-4") == 0);
  CHECK(j.streams().empty());

  many.events.pop_back(); // exactly at the limit is fine
  CHECK(j.append(many).ok());
  // A snapshot may be larger than an event, up to its own limit.
  auto big = j.save_snapshot(
      "order:o-4", 1, std::string(core::limits::journal_record_bytes_max, 'x'));
  CHECK(big.ok());
  auto too_big = j.save_snapshot(
      "order:o-4", 1, std::string(core::limits::journal_snapshot_bytes_max, 'x'));
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.err().code == core::errc::bad_request);
  REQUIRE(j.sync().ok());
  auto back = j.read("order:o-4");
  REQUIRE(back.ok());
  REQUIRE(back->snapshot);
  CHECK(back->snapshot->payload.size() == core::limits::journal_record_bytes_max);
}

TEST_CASE_TEMPLATE("streams_lists_every_stream_sorted", F,
                   JOURNAL_FIXTURES) {
  F f;
  if (!f.ready())
    return;
  auto& j = f.journal();
  for (const char* s : {"rider:r-9", "order:o-1", "store:s-2", "order:o-0"})
    append_n(j, s, 1);
  REQUIRE(j.save_snapshot("timer:t-1", 0, "armed").ok());
  REQUIRE(j.sync().ok());
  CHECK(j.streams() == std::vector<std::string>{"order:o-0", "order:o-1",
                                                "rider:r-9", "store:s-2",
                                                "timer:t-1"});
}
