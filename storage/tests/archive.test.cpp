// The archive (file and memory) and dropping streams from the file and
// memory journals (issue #13: finished orders leave the hot set).
#include "storage/archive_file.hpp"
#include "storage/file_backend.hpp"
#include "storage/memory_backend.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

using namespace courier;
using namespace courier::storage;
using courier::storage::testing::temp_dir;

namespace {

constexpr core::time_ms day_ms = 24LL * 3600 * 1000;
constexpr core::time_ms t0 = 1'767'225'600'000; // 2026-01-01T00:00:00Z

std::optional<std::string> get(archive_backend& a, const std::string& key) {
  auto got = a.get(key);
  REQUIRE(got.ok());
  return *got;
}

void append(journal_backend& j, const std::string& stream, std::size_t n) {
  append_request req{stream, j.version(stream), {}};
  for (std::size_t i = 0; i < n; ++i)
    req.events.push_back(stream + " event " + std::to_string(req.expected + i + 1));
  REQUIRE(j.append(req).ok());
}

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().extension() == ".log";
  return n;
}

} // namespace

TEST_CASE("file_archive_keeps_synced_entries_across_reopen_and_reads_the_newest") {
  temp_dir dir;
  {
    auto a = file_archive::open(dir.path());
    REQUIRE(a.ok());
    REQUIRE((*a)->put("order:o-1", "delivered v9", t0).ok());
    REQUIRE((*a)->put("order:o-2", "cancelled v3", t0).ok());
    CHECK_FALSE(get(**a, "order:o-1")); // not yet synced
    REQUIRE((*a)->sync().ok());
    CHECK(get(**a, "order:o-1") == std::string("delivered v9"));
    // A crash between archive and drop archives it again: the newest wins.
    REQUIRE((*a)->put("order:o-1", "delivered v9 again", t0 + 1).ok());
    REQUIRE((*a)->sync().ok());
    REQUIRE((*a)->put("order:o-3", "never synced", t0 + 2).ok());
    CHECK((*a)->usage().entries == 3); // the synced ones
  } // closed without sync: o-3 is lost, as in a crash
  auto a = file_archive::open(dir.path());
  REQUIRE(a.ok());
  CHECK(get(**a, "order:o-1") == std::string("delivered v9 again"));
  CHECK(get(**a, "order:o-2") == std::string("cancelled v3"));
  CHECK_FALSE(get(**a, "order:o-3"));
  CHECK_FALSE(get(**a, "order:o-4"));
  CHECK((*a)->usage().entries == 3);
  CHECK((*a)->usage().puts == 0); // since open
}

TEST_CASE("file_archive_cuts_a_torn_tail_and_keeps_what_is_intact") {
  temp_dir dir;
  {
    auto a = file_archive::open(dir.path());
    REQUIRE(a.ok());
    REQUIRE((*a)->put("order:o-1", "one", t0).ok());
    REQUIRE((*a)->put("order:o-2", "two", t0).ok());
    REQUIRE((*a)->sync().ok());
  }
  const auto path = dir.file("archive-000001.log");
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 2); // the second record torn
  auto a = file_archive::open(dir.path());
  REQUIRE(a.ok());
  CHECK(get(**a, "order:o-1") == std::string("one"));
  CHECK_FALSE(get(**a, "order:o-2"));
  CHECK((*a)->recovered_cut_bytes() > 0);
  // It goes on appending after the cut.
  REQUIRE((*a)->put("order:o-2", "two again", t0).ok());
  REQUIRE((*a)->sync().ok());
  CHECK(get(**a, "order:o-2") == std::string("two again"));
}

TEST_CASE("file_archive_rolls_segments_by_day_and_size_and_expires_whole_old_segments") {
  temp_dir dir;
  file_archive_options options;
  options.retention = std::chrono::hours{24 * 2};
  options.segment_bytes_max = 4096;
  auto a = file_archive::open(dir.path(), options);
  REQUIRE(a.ok());
  REQUIRE((*a)->put("order:day0", "x", t0).ok());
  REQUIRE((*a)->sync().ok());
  REQUIRE((*a)->put("order:day1", "y", t0 + day_ms).ok()); // a new UTC day: a new segment
  REQUIRE((*a)->sync().ok());
  for (int i = 0; i < 100; ++i) // past segment_bytes_max: more segments
    REQUIRE((*a)->put("order:day1-" + std::to_string(i), std::string(100, 'p'), t0 + day_ms).ok());
  REQUIRE((*a)->sync().ok());
  CHECK((*a)->usage().segments >= 4);
  CHECK(files_in(dir.path()) == (*a)->usage().segments);
  // Not yet two days after day 0's last put.
  CHECK(*(*a)->expire(t0 + 2 * day_ms - 1) == 0);
  CHECK(get(**a, "order:day0"));
  // Now day 0's segment goes, one call per segment; day 1 stays.
  CHECK(*(*a)->expire(t0 + 2 * day_ms) == 1);
  CHECK(*(*a)->expire(t0 + 2 * day_ms) == 0);
  CHECK_FALSE(get(**a, "order:day0"));
  CHECK(get(**a, "order:day1") == std::string("y"));
  CHECK(get(**a, "order:day1-99") == std::string(100, 'p'));
  CHECK((*a)->usage().expired == 1);
  // Reopened, the index is rebuilt from the files left.
  a->reset();
  auto b = file_archive::open(dir.path(), options);
  REQUIRE(b.ok());
  CHECK_FALSE(get(**b, "order:day0"));
  CHECK(get(**b, "order:day1-42") == std::string(100, 'p'));
  CHECK((*b)->usage().entries == 101);
}

TEST_CASE("file_archive_refuses_puts_past_entries_max_as_overloaded") {
  temp_dir dir;
  file_archive_options options;
  options.entries_max = 2;
  auto a = file_archive::open(dir.path(), options);
  REQUIRE(a.ok());
  REQUIRE((*a)->put("order:o-1", "1", t0).ok());
  REQUIRE((*a)->put("order:o-2", "2", t0).ok());
  REQUIRE((*a)->sync().ok());
  auto third = (*a)->put("order:o-3", "3", t0);
  REQUIRE_FALSE(third.ok());
  CHECK(third.err().code == core::errc::overloaded);
  CHECK((*a)->usage().entries_max == 2);
  CHECK((*a)->usage().index_bytes > 0);
}

TEST_CASE("memory_archive_loses_unsynced_puts_and_rolls_back_a_failed_sync") {
  memory_archive a;
  REQUIRE(a.put("order:o-1", "1", t0).ok());
  a.drop_unsynced();
  REQUIRE(a.sync().ok());
  CHECK_FALSE(get(a, "order:o-1"));
  REQUIRE(a.put("order:o-1", "1", t0).ok());
  a.fail_next_sync();
  CHECK_FALSE(a.sync().ok());
  CHECK_FALSE(get(a, "order:o-1"));
  REQUIRE(a.put("order:o-1", "1", t0).ok());
  REQUIRE(a.sync().ok());
  CHECK(get(a, "order:o-1") == std::string("1"));
}

// -- dropping streams ------------------------------------------------------------

TEST_CASE("memory_backend_drop_forgets_a_stream_and_a_crash_before_sync_brings_it_back") {
  memory_backend j;
  append(j, "order:o-1", 3);
  REQUIRE(j.sync().ok());
  auto stale = j.drop("order:o-1", 2);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.err().code == core::errc::conflict);
  REQUIRE(j.drop("order:o-1", 3).ok());
  CHECK(j.version("order:o-1") == 0);
  j.drop_unsynced();
  CHECK(j.version("order:o-1") == 3);
  REQUIRE(j.drop("order:o-1", any_version).ok());
  REQUIRE(j.sync().ok());
  j.drop_unsynced();
  CHECK(j.version("order:o-1") == 0);
  CHECK(j.drop("order:o-1", 3).ok()); // idempotent
  CHECK(j.usage().streams == 0);
}

TEST_CASE("file_backend_drop_survives_reopen_and_a_dropped_name_starts_over") {
  temp_dir dir;
  {
    auto j = file_backend::open(dir.path());
    REQUIRE(j.ok());
    append(**j, "order:o-1", 3);
    append(**j, "store:s-1", 2);
    REQUIRE((*j)->save_snapshot("store:s-1", 2, "store state").ok());
    append(**j, "store:s-1", 1);
    REQUIRE((*j)->sync().ok());
    auto stale = (*j)->drop("order:o-1", 2);
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.err().code == core::errc::conflict);
    REQUIRE((*j)->drop("order:o-1", 3).ok());
    REQUIRE((*j)->drop("store:s-1", any_version).ok());
    CHECK((*j)->version("order:o-1") == 0);
    CHECK((*j)->read("order:o-1")->events.empty());
    REQUIRE((*j)->sync().ok());
    CHECK((*j)->usage().streams == 0);
    CHECK((*j)->usage().drops == 2);
    // Only the two drop records are live now.
    CHECK((*j)->usage().live_bytes == 2 * record_bytes(std::string("order:o-1").size(), 0));
    CHECK((*j)->drop("order:o-1", 3).ok()); // idempotent: nothing more written
    append(**j, "store:s-1", 1); // the name may be used again, from version 1
    REQUIRE((*j)->sync().ok());
  }
  auto j = file_backend::open(dir.path());
  REQUIRE(j.ok());
  CHECK((*j)->version("order:o-1") == 0);
  CHECK((*j)->version("store:s-1") == 1);
  auto s = (*j)->read("store:s-1");
  REQUIRE(s.ok());
  CHECK_FALSE(s->snapshot);
  REQUIRE(s->events.size() == 1);
  CHECK(s->events[0].payload == "store:s-1 event 1");
  CHECK((*j)->streams() == std::vector<std::string>{"store:s-1"});
  CHECK((*j)->usage().tombstones == 2);
}

TEST_CASE("file_backend_a_failed_sync_undoes_a_drop") {
  temp_dir dir;
  file_backend_options options;
  bool fail = false;
  options.io.fdatasync = [&fail](int fd) { return fail ? (errno = EIO, -1) : ::fdatasync(fd); };
  auto j = file_backend::open(dir.path(), options);
  REQUIRE(j.ok());
  append(**j, "order:o-1", 2);
  REQUIRE((*j)->sync().ok());
  REQUIRE((*j)->drop("order:o-1", 2).ok());
  fail = true;
  CHECK_FALSE((*j)->sync().ok());
  fail = false;
  CHECK((*j)->version("order:o-1") == 2);
  CHECK((*j)->read("order:o-1")->events.size() == 2);
  CHECK((*j)->usage().tombstones == 0);
  REQUIRE((*j)->drop("order:o-1", 2).ok());
  REQUIRE((*j)->sync().ok());
  CHECK((*j)->version("order:o-1") == 0);
}

TEST_CASE("file_backend_compaction_reclaims_dropped_streams_and_then_their_drop_records") {
  temp_dir dir;
  file_backend_options options;
  options.segment_bytes_max = 4096;
  std::uint64_t bytes_before = 0;
  {
    auto j = file_backend::open(dir.path(), options);
    REQUIRE(j.ok());
    // Finished orders fill the first segments, a long-lived store beside them.
    for (int i = 0; i < 40; ++i) {
      append(**j, "order:o-" + std::to_string(i), 4);
      REQUIRE((*j)->sync().ok());
    }
    append(**j, "store:s-1", 1);
    REQUIRE((*j)->sync().ok());
    bytes_before = (*j)->usage().bytes;
    CHECK((*j)->usage().segments >= 3);
    for (int i = 0; i < 40; ++i)
      REQUIRE((*j)->drop("order:o-" + std::to_string(i), 4).ok());
    REQUIRE((*j)->sync().ok());
    CHECK((*j)->usage().streams == 1);
    CHECK((*j)->usage().tombstones == 40);
    for (int step = 0; step < 100; ++step) {
      auto did = (*j)->compact();
      REQUIRE(did.ok());
      if (!*did)
        break;
    }
    // The orders' bytes are gone; drop records are kept only while a
    // segment may still hold their stream: none does now, but the last
    // (active) segment is never rewritten, so those in it stay.
    CHECK((*j)->usage().bytes < bytes_before / 2);
    CHECK((*j)->usage().tombstones < 40);
    CHECK((*j)->usage().live_bytes <= (*j)->usage().bytes);
  }
  auto j = file_backend::open(dir.path(), options);
  REQUIRE(j.ok());
  for (int i = 0; i < 40; ++i)
    CHECK((*j)->version("order:o-" + std::to_string(i)) == 0);
  CHECK((*j)->version("store:s-1") == 1);
  CHECK((*j)->streams().size() == 1);
}

TEST_CASE("file_backend_drop_past_tombstones_max_is_overloaded") {
  temp_dir dir;
  file_backend_options options;
  options.tombstones_max = 1;
  auto j = file_backend::open(dir.path(), options);
  REQUIRE(j.ok());
  append(**j, "order:o-1", 1);
  append(**j, "order:o-2", 1);
  REQUIRE((*j)->sync().ok());
  REQUIRE((*j)->drop("order:o-1", 1).ok());
  auto second = (*j)->drop("order:o-2", 1);
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().code == core::errc::overloaded);
  CHECK((*j)->version("order:o-2") == 1);
}
