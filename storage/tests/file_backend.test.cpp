// What only the file backend does: persistence, recovery, segments, locking.
#include "storage/file_backend.hpp"
#include "storage/record_format.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

using namespace courier;
using namespace courier::storage;
namespace fs = std::filesystem;

namespace {

std::string event_payload(version_t v) { return "event-" + std::to_string(v); }

std::unique_ptr<file_backend> open_ok(const std::string& dir,
                                      file_backend_options options = {}) {
  auto opened = file_backend::open(dir, std::move(options));
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.err().message));
  return std::move(*opened);
}

/// Appends events one per request up to `last`, syncing every `group`.
void fill(file_backend& j, const std::string& stream, version_t last,
          std::size_t group = 1, std::size_t pad_bytes = 0) {
  for (version_t v = j.version(stream) + 1; v <= last; ++v) {
    REQUIRE(j.append({stream, v - 1, {event_payload(v) + std::string(pad_bytes, '.')}})
                .ok());
    if (v % group == 0 || v == last)
      REQUIRE(j.sync().ok());
  }
}

void check_stream(file_backend& j, const std::string& stream, version_t last,
                  std::size_t pad_bytes = 0) {
  auto got = j.read(stream);
  REQUIRE(got.ok());
  REQUIRE(got->version == last);
  REQUIRE(got->events.size() == last);
  for (version_t v = 1; v <= last; ++v)
    CHECK(got->events[v - 1].payload == event_payload(v) + std::string(pad_bytes, '.'));
}

std::string segment(const testing::temp_dir& dir, std::uint32_t n) {
  return dir.file(file_backend::segment_file_name(n));
}

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

} // namespace

TEST_CASE("file_reopen_after_close_sees_every_synced_event_and_snapshot") {
  testing::temp_dir dir;
  {
    auto j = open_ok(dir.path());
    fill(*j, "order:o-1", 30, 7);
    fill(*j, "rider:r-1", 5);
    REQUIRE(j->save_snapshot("rider:r-1", 4, "rider@4").ok());
    REQUIRE(j->append({"rider:r-1", 5, {"event-6"}}).ok());
    REQUIRE(j->sync().ok());
    REQUIRE(j->append({"rider:r-1", 6, {"unsynced"}}).ok()); // lost on close
  }
  auto j = open_ok(dir.path());
  CHECK(j->stats().recovered_cut_bytes == 0);
  check_stream(*j, "order:o-1", 30);
  auto rider = j->read("rider:r-1");
  REQUIRE(rider.ok());
  CHECK(rider->version == 6);
  REQUIRE(rider->snapshot.has_value());
  CHECK(rider->snapshot->payload == "rider@4");
  REQUIRE(rider->events.size() == 2);
  CHECK(rider->events[1].payload == "event-6");
  CHECK(j->streams() == std::vector<std::string>{"order:o-1", "rider:r-1"});
}

TEST_CASE("file_torn_tail_is_cut_and_the_rest_recovers") {
  testing::temp_dir dir;
  const std::string seg = segment(dir, 1);
  std::uintmax_t full = 0;
  {
    auto j = open_ok(dir.path());
    fill(*j, "order:o-1", 10);
    full = fs::file_size(seg);
  }
  SUBCASE("write_cut_short_inside_the_last_record") {
    fs::resize_file(seg, full - 3);
    auto j = open_ok(dir.path());
    check_stream(*j, "order:o-1", 9);
    const auto last_record = record_bytes(9, event_payload(10).size());
    CHECK(j->stats().recovered_cut_bytes == last_record - 3);
    CHECK(fs::file_size(seg) == full - last_record);
    fill(*j, "order:o-1", 12); // the journal goes on where it stopped
    check_stream(*j, "order:o-1", 12);
  }
  SUBCASE("garbage_after_the_last_record") {
    {
      std::ofstream f(seg, std::ios::app | std::ios::binary);
      f << std::string(5, '\0') << "CRJ1 not a record at all";
    }
    auto j = open_ok(dir.path());
    check_stream(*j, "order:o-1", 10);
    CHECK(j->stats().recovered_cut_bytes == 29);
    CHECK(fs::file_size(seg) == full);
  }
  auto again = open_ok(dir.path());
  CHECK(again->stats().recovered_cut_bytes == 0);
}

TEST_CASE("file_corruption_before_valid_records_fails_open_naming_the_file") {
  testing::temp_dir dir;
  file_backend_options small;
  small.segment_bytes_max = 1024;
  {
    auto j = open_ok(dir.path(), small);
    fill(*j, "order:o-1", 200, 10);
    REQUIRE(j->segment_count() >= 3);
  }
  SUBCASE("in_an_earlier_segment") {
    flip_byte(segment(dir, 1), 500);
    auto opened = file_backend::open(dir.path(), small);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.err().code == core::errc::internal);
    CHECK(opened.err().message.find("journal-000001.log") != std::string::npos);
  }
  SUBCASE("in_the_last_segment_followed_by_valid_records") {
    std::uint32_t last = 1;
    while (fs::exists(segment(dir, last + 1)))
      ++last;
    flip_byte(segment(dir, last), 30);
    auto opened = file_backend::open(dir.path(), small);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.err().code == core::errc::internal);
    CHECK(opened.err().message.find(file_backend::segment_file_name(last)) !=
          std::string::npos);
  }
}

TEST_CASE("file_event_version_gap_is_corruption") {
  testing::temp_dir dir;
  std::string bytes;
  encode_record(bytes, record_kind::event, "order:o-1", 1, "a");
  encode_record(bytes, record_kind::event, "order:o-1", 3, "c");
  {
    std::ofstream f(segment(dir, 1), std::ios::binary);
    f << bytes;
  }
  auto opened = file_backend::open(dir.path());
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.err().code == core::errc::internal);
  CHECK(opened.err().message.find("version 3") != std::string::npos);
}

TEST_CASE("file_compaction_keeps_live_records_in_order_and_gives_back_the_rest") {
  testing::temp_dir dir;
  file_backend_options small;
  small.segment_bytes_max = 4096;
  constexpr std::size_t pad = 200;
  {
    auto j = open_ok(dir.path(), small);
    fill(*j, "order:o-1", 60, 8, pad); // ~4 segments
    REQUIRE(j->save_snapshot("order:o-1", 50, "state@50").ok());
    REQUIRE(j->sync().ok());
    fill(*j, "order:o-2", 40, 8, pad); // keeps o-1's segments sealed
    const auto before = j->usage();
    CHECK(before.live_bytes < before.bytes);
    // Nothing while a batch is unsynced (a rollback could undo the index).
    REQUIRE(j->append({"order:o-2", 40, {event_payload(41)}}).ok());
    CHECK_FALSE(*j->compact());
    REQUIRE(j->sync().ok());
    int rounds = 0;
    while (*j->compact())
      REQUIRE(++rounds < 100);
    CHECK(rounds > 0);
    const auto after = j->usage();
    CHECK(after.bytes < before.bytes);
    CHECK(after.bytes <= 2 * after.live_bytes + small.segment_bytes_max);
    CHECK(j->stats().compactions > 0);
    CHECK(j->stats().segments_deleted > 0);
    CHECK_FALSE(fs::exists(segment(dir, 1))); // emptied, then deleted
    auto got = j->read("order:o-1");
    REQUIRE(got.ok());
    REQUIRE(got->snapshot);
    CHECK(got->snapshot->payload == "state@50");
    REQUIRE(got->events.size() == 10);
    CHECK(got->events[0].payload == event_payload(51) + std::string(pad, '.'));
    // And appends go on after it.
    fill(*j, "order:o-1", 65, 1, pad);
  }
  // Recovery reads the compacted files: o-1 starts at its snapshot.
  auto j = open_ok(dir.path(), small);
  auto got = j->read("order:o-1");
  REQUIRE(got.ok());
  REQUIRE(got->snapshot);
  CHECK(got->snapshot->version == 50);
  CHECK(got->version == 65);
  CHECK(got->events.size() == 15);
  auto o2 = j->read("order:o-2");
  REQUIRE(o2.ok());
  CHECK(o2->version == 41);
  CHECK(o2->events.size() == 41);
}

TEST_CASE("file_compaction_leftover_is_removed_and_a_gap_a_snapshot_covers_recovers") {
  testing::temp_dir dir;
  std::string bytes;
  // What compaction leaves: events 1-2 dropped as the snapshot at 3 covers
  // them, though it was written after event 4.
  encode_record(bytes, record_kind::event, "order:o-1", 4, "d");
  encode_record(bytes, record_kind::snapshot, "order:o-1", 3, "state@3");
  encode_record(bytes, record_kind::event, "order:o-1", 5, "e");
  {
    std::ofstream f(segment(dir, 1), std::ios::binary);
    f << bytes;
    std::ofstream left(segment(dir, 1) + file_backend::compaction_suffix, std::ios::binary);
    left << "half a compaction";
  }
  auto j = open_ok(dir.path());
  CHECK_FALSE(fs::exists(segment(dir, 1) + file_backend::compaction_suffix));
  auto got = j->read("order:o-1");
  REQUIRE(got.ok());
  CHECK(got->version == 5);
  REQUIRE(got->snapshot);
  CHECK(got->snapshot->version == 3);
  REQUIRE(got->events.size() == 2);
  CHECK(got->events[0].payload == "d");
  CHECK(got->events[1].payload == "e");
}

TEST_CASE("file_segments_roll_at_the_size_limit") {
  testing::temp_dir dir;
  file_backend_options small;
  small.segment_bytes_max = 4096;
  constexpr std::size_t pad = 200;
  {
    auto j = open_ok(dir.path(), small);
    fill(*j, "order:o-1", 100, 16, pad);
    CHECK(j->segment_count() >= 5);
    check_stream(*j, "order:o-1", 100, pad);
  }
  std::uint32_t n = 1;
  for (; fs::exists(segment(dir, n)); ++n)
    CHECK(fs::file_size(segment(dir, n)) <= small.segment_bytes_max);
  CHECK(n - 1 >= 5);
  auto j = open_ok(dir.path(), small);
  check_stream(*j, "order:o-1", 100, pad);
}

TEST_CASE("file_second_open_of_the_same_dir_is_unavailable") {
  testing::temp_dir dir;
  auto first = open_ok(dir.path());
  auto second = file_backend::open(dir.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.err().code == core::errc::unavailable);
  CHECK(second.err().message.find("LOCK") != std::string::npos);
  first.reset();
  CHECK(file_backend::open(dir.path()).ok());
}

TEST_CASE("file_failed_write_truncates_back_to_the_synced_size") {
  testing::temp_dir dir;
  int failing_writes = 0; // 2: a short write, then the disk is full
  file_backend_options options;
  options.segment_bytes_max = 2048;
  options.io.write = [&](int fd, const void* data, std::size_t bytes) -> ssize_t {
    if (failing_writes == 0)
      return ::write(fd, data, bytes);
    if (failing_writes-- == 2)
      return ::write(fd, data, bytes / 2);
    errno = ENOSPC;
    return -1;
  };
  {
    auto j = open_ok(dir.path(), options);
    fill(*j, "order:o-1", 10);
    const auto synced_size = fs::file_size(segment(dir, 1));
    for (version_t v = 11; v <= 60; ++v) // spans a segment roll
      REQUIRE(j->append({"order:o-1", v - 1, {event_payload(v)}}).ok());
    failing_writes = 2;
    auto synced = j->sync();
    REQUIRE_FALSE(synced.ok());
    CHECK(synced.err().message.find("No space left") != std::string::npos);
    CHECK(fs::file_size(segment(dir, 1)) == synced_size);
    CHECK_FALSE(fs::exists(segment(dir, 2)));
    CHECK(j->version("order:o-1") == 10);
    fill(*j, "order:o-1", 60, 25);
  }
  auto j = open_ok(dir.path(), options);
  check_stream(*j, "order:o-1", 60);
}

TEST_CASE("file_limits_refuse_with_overloaded_instead_of_growing") {
  testing::temp_dir dir;
  file_backend_options options;
  options.pending_bytes_max = 256;
  options.events_since_snapshot_max = 5;
  options.streams_max = 2;
  auto j = open_ok(dir.path(), options);
  REQUIRE(j->append({"a", 0, {std::string(300, 'x')}}).ok()); // first fits
  auto full = j->append({"a", 1, {"y"}});
  REQUIRE_FALSE(full.ok());
  CHECK(full.err().code == core::errc::overloaded);
  REQUIRE(j->sync().ok());
  REQUIRE(j->append({"a", 1, {"1", "2", "3", "4"}}).ok());
  auto many = j->append({"a", 5, {"5"}});
  REQUIRE_FALSE(many.ok());
  CHECK(many.err().code == core::errc::overloaded);
  REQUIRE(j->save_snapshot("a", 5, "s").ok());
  CHECK(j->append({"a", 5, {"6"}}).ok());
  REQUIRE(j->append({"b", 0, {"1"}}).ok());
  auto third = j->append({"c", 0, {"1"}});
  REQUIRE_FALSE(third.ok());
  CHECK(third.err().code == core::errc::overloaded);
}

TEST_CASE("file_failed_sync_after_a_roll_removes_the_new_segment") {
  testing::temp_dir dir;
  int syncs_until_failure = -1; // -1: never fail
  file_backend_options options;
  options.segment_bytes_max = 1024;
  options.io.fdatasync = [&](int fd) {
    if (syncs_until_failure < 0 || syncs_until_failure-- > 0)
      return ::fdatasync(fd);
    errno = EIO;
    return -1;
  };
  {
    auto j = open_ok(dir.path(), options);
    fill(*j, "order:o-1", 5);
    const auto synced_size = fs::file_size(segment(dir, 1));
    for (version_t v = 6; v <= 60; ++v)
      REQUIRE(j->append({"order:o-1", v - 1, {event_payload(v)}}).ok());
    REQUIRE(j->segment_count() >= 3);
    syncs_until_failure = 1; // segment 1 syncs, segment 2 fails
    auto synced = j->sync();
    REQUIRE_FALSE(synced.ok());
    CHECK(synced.err().message.find("journal-000002.log") != std::string::npos);
    CHECK(fs::file_size(segment(dir, 1)) == synced_size);
    CHECK_FALSE(fs::exists(segment(dir, 2)));
    CHECK(j->segment_count() == 1);
    CHECK(j->version("order:o-1") == 5);
    CHECK(j->stats().sync_failures == 1);
    fill(*j, "order:o-1", 60, 20);
  }
  auto j = open_ok(dir.path(), options);
  check_stream(*j, "order:o-1", 60);
}
