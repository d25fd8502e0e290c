// Location history: the record format, the embedded file backend and the
// writer's logic, all on an injected clock (`now` is an argument).
#include "storage/history_file_backend.hpp"
#include "storage/history_format.hpp"
#include "storage/history_writer.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace courier;
using namespace courier::storage;
using storage::testing::temp_dir;

namespace {

constexpr core::time_ms hour_ms = history_hour_ms;
/// 2026-01-01T00:00:00Z, an hour (and minute) boundary.
constexpr core::time_ms t0 = 1'767'225'600'000;

std::unique_ptr<history_file_backend> open_files(const std::string& dir,
                                                 history_limits limits = {}) {
  auto b = history_file_backend::open(dir, limits);
  REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.err().message));
  return std::move(*b);
}

std::unique_ptr<history_writer> open_writer(const std::string& dir,
                                            history_limits limits = {}) {
  return std::make_unique<history_writer>(open_files(dir, limits), limits);
}

history_page query(history_writer& w, const std::string& rider, history_detail d,
                   core::time_ms from, core::time_ms to, core::time_ms now) {
  auto p = w.query(rider, d, from, to, now);
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.err().message));
  return std::move(*p);
}

std::uint64_t dropped(const history_stats& s, history_detail d, history_drop why) {
  return s.dropped[static_cast<std::size_t>(d)][static_cast<std::size_t>(why)];
}

/// One position a second from `start` for `seconds`, moving north.
void feed(history_writer& w, const std::string& rider, core::time_ms start, int seconds,
          core::time_ms now_offset = 0) {
  for (int s = 0; s < seconds; ++s) {
    core::time_ms at = start + s * 1000;
    w.add(history_point{rider, 37.0 + s * 1e-5, 127.0, at}, at + now_offset);
  }
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

} // namespace

TEST_CASE("history_samples_and_runs_round_trip_and_reject_damage") {
  std::string bytes;
  history_sample in{t0 + 5, 37.4979123, -127.0276456, 3};
  encode_history_sample(bytes, in);
  REQUIRE(bytes.size() == history_sample_bytes);
  history_sample out;
  REQUIRE(decode_history_sample(bytes.data(), out));
  CHECK(out.at_ms == in.at_ms);
  CHECK(out.lat == doctest::Approx(in.lat).epsilon(1e-9));
  CHECK(out.lng == doctest::Approx(in.lng).epsilon(1e-9));
  CHECK(out.count == 3);

  std::vector<history_sample> samples{{t0, 1.0, 2.0, 1}, {t0 + 5000, 1.5, 2.5, 1}};
  std::string run;
  encode_history_run(run, "r-1", history_detail::raw, 77, samples.data(), samples.size());
  auto v = decode_history_run(run);
  REQUIRE(v.status == history_decode::ok);
  CHECK(v.prev == 77);
  CHECK(v.rider_id == "r-1");
  CHECK(v.count == 2);
  CHECK(v.bytes == run.size());
  CHECK(history_run_bytes(run.data()) == run.size());
  CHECK(decode_history_run(std::string_view{run}.substr(0, run.size() - 1)).status ==
        history_decode::incomplete);
  auto flipped = run;
  flipped[history_run_header_bytes + 1] ^= 1;
  CHECK(decode_history_run(flipped).status == history_decode::bad);

  std::string idx;
  encode_history_index_header(idx, history_index_header{1234, 56, 7});
  history_index_header h;
  REQUIRE(decode_history_index_header(idx.data(), h));
  CHECK(h.segment_bytes == 1234);
  CHECK(h.entries == 7);
  idx[10] ^= 1;
  CHECK_FALSE(decode_history_index_header(idx.data(), h));
}

TEST_CASE("history_keeps_5s_raw_points_and_minute_means_across_an_hour_boundary") {
  temp_dir dir;
  auto w = open_writer(dir.path());
  const core::time_ms start = t0 + hour_ms - 60'000; // 23:59 .. 00:01
  feed(*w, "r-1", start, 120);
  const core::time_ms now = start + 120'000;
  // Buffered: the query sees it before any flush.
  auto raw = query(*w, "r-1", history_detail::raw, start, now, now);
  CHECK(raw.samples.size() == 24);
  CHECK_FALSE(raw.truncated);
  w->flush(now);
  CHECK(exists(dir.file("raw-" + std::to_string(history_hour_of(start)) + ".seg")));
  CHECK(exists(dir.file("raw-" + std::to_string(history_hour_of(now)) + ".seg")));
  raw = query(*w, "r-1", history_detail::raw, start, now, now);
  REQUIRE(raw.samples.size() == 24); // one per 5 s, from both hours' segments
  for (std::size_t i = 0; i < raw.samples.size(); ++i)
    CHECK(raw.samples[i].at_ms == start + static_cast<core::time_ms>(i) * 5000);
  CHECK(raw.samples[1].lat == doctest::Approx(37.0 + 5e-5));
  CHECK(w->stats().points_thinned == 96);
  // The second minute is still open: it is answered from RAM, partial.
  auto minutes = query(*w, "r-1", history_detail::minute, start, now, now);
  REQUIRE(minutes.samples.size() == 2);
  CHECK(minutes.samples[0].at_ms == start);
  CHECK(minutes.samples[0].count == 60);
  CHECK(minutes.samples[0].lat == doctest::Approx(37.0 + 29.5e-5));
  CHECK(minutes.samples[1].at_ms == t0 + hour_ms);
  CHECK(minutes.samples[1].count == 60);
  // Half ranges and other riders.
  CHECK(query(*w, "r-1", history_detail::raw, t0 + hour_ms, now, now).samples.size() == 12);
  CHECK(query(*w, "r-2", history_detail::raw, start, now, now).samples.empty());
  // After the rider went idle its last minute is closed and written.
  w->flush(now + 3 * 60'000);
  CHECK(w->stats().riders == 0);
  minutes = query(*w, "r-1", history_detail::minute, start, now, now + 3 * 60'000);
  REQUIRE(minutes.samples.size() == 2);
  CHECK(minutes.samples[1].count == 60);
  CHECK(w->stats().written[1] == 2);
}

TEST_CASE("history_answers_from_disk_after_reopen_sealed_and_unsealed") {
  temp_dir dir;
  const core::time_ms now = t0 + 2 * hour_ms + 30 * 60'000;
  {
    auto w = open_writer(dir.path());
    for (int r = 0; r < 50; ++r) // hour 0, written and its minutes closed
      feed(*w, "r-" + std::to_string(r), t0 + r * 7, 300);
    w->flush(t0 + 10 * 60'000);
    const core::time_ms lag = now - (t0 + 2 * hour_ms + 300'000);
    for (int r = 0; r < 50; ++r) // hour 2, still open at `now`
      feed(*w, "r-" + std::to_string(r), t0 + 2 * hour_ms + r * 7, 300, lag);
    w->close(now); // a graceful stop: every open minute written
    w->tick(now);  // seals hour 0 (ended 1.5 h ago); hour 2 stays open
  }
  const auto seg0 = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  const auto seg2 = dir.file("raw-" + std::to_string(history_hour_of(t0) + 2) + ".seg");
  CHECK(exists(seg0 + ".idx"));
  CHECK_FALSE(exists(seg2 + ".idx"));
  auto w = open_writer(dir.path()); // nothing is loaded but the open segment's index
  for (int r = 0; r < 50; r += 7) {
    auto id = "r-" + std::to_string(r);
    auto sealed = query(*w, id, history_detail::raw, t0, t0 + hour_ms, now);
    REQUIRE(sealed.samples.size() == 60);
    CHECK(sealed.samples.front().at_ms == t0 + r * 7);
    auto open = query(*w, id, history_detail::raw, t0 + 2 * hour_ms, now, now);
    CHECK(open.samples.size() == 60);
    auto minutes = query(*w, id, history_detail::minute, t0, now, now);
    CHECK(minutes.samples.size() == 10);
  }
  CHECK(w->stats().torn_records == 0);
  CHECK(w->stats().segments == 4); // raw and min, hours 0 and 2
}

TEST_CASE("history_prunes_raw_after_24h_and_minutes_after_7d_on_the_injected_clock") {
  temp_dir dir;
  auto w = open_writer(dir.path());
  feed(*w, "r-1", t0, 120);
  w->flush(t0 + 5 * 60'000); // the rider is idle by then: its last minute is written too
  const auto raw0 = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  const auto min0 = dir.file("min-" + std::to_string(history_hour_of(t0)) + ".seg");
  REQUIRE(exists(raw0));
  w->tick(t0 + 24 * hour_ms); // the hour is not wholly out of the window yet
  CHECK(exists(raw0));
  CHECK(exists(raw0 + ".idx"));
  w->tick(t0 + 25 * hour_ms);
  CHECK_FALSE(exists(raw0));
  CHECK_FALSE(exists(raw0 + ".idx"));
  CHECK(exists(min0));
  auto s = w->stats();
  CHECK(s.pruned[0] == 24);
  CHECK(s.segments_pruned == 1);
  CHECK(query(*w, "r-1", history_detail::minute, t0, t0 + hour_ms, t0 + 25 * hour_ms)
            .samples.size() == 2);
  w->tick(t0 + 7 * 24 * hour_ms + hour_ms);
  CHECK_FALSE(exists(min0));
  CHECK(w->stats().pruned[1] == 2);
  CHECK(w->stats().segments == 0);
  CHECK(w->stats().bytes == 0);
}

TEST_CASE("history_query_is_clipped_to_retention_and_bounded_then_truncated") {
  temp_dir dir;
  history_limits lim;
  lim.query_samples_max = 10;
  auto w = open_writer(dir.path(), lim);
  feed(*w, "r-1", t0, 300);
  const core::time_ms now = t0 + 300'000;
  w->flush(now);
  auto page = query(*w, "r-1", history_detail::raw, t0, now, now);
  CHECK(page.truncated);
  REQUIRE(page.samples.size() == 10);
  CHECK(page.samples.front().at_ms == t0); // the oldest first: ask again from the last + 1
  auto next = query(*w, "r-1", history_detail::raw, page.samples.back().at_ms + 1, now, now);
  CHECK(next.samples.front().at_ms == page.samples.back().at_ms + 5000);
  auto old = query(*w, "r-1", history_detail::raw, now - 48 * hour_ms, now, now);
  CHECK(old.truncated);
  CHECK(old.from_ms == now - 24 * hour_ms);
  auto fits = query(*w, "r-1", history_detail::minute, now - 48 * hour_ms, now, now);
  CHECK_FALSE(fits.truncated); // 48 h is within the minutes' 7 days
  CHECK(fits.samples.size() == 5);
}

TEST_CASE("history_drops_late_and_future_points_and_counts_them") {
  temp_dir dir;
  auto w = open_writer(dir.path());
  const core::time_ms now = t0 + 5 * hour_ms + 5 * 60'000;
  w->add(history_point{"r-1", 1, 2, now + 6 * 60'000}, now);  // > 5 min ahead
  w->add(history_point{"r-1", 1, 2, t0 + 4 * hour_ms - 1}, now); // its hour ended 65 min ago
  w->add(history_point{"r-1", 1, 2, t0 + 4 * hour_ms + 5}, now); // this hour: kept
  w->add(history_point{"", 1, 2, now}, now);
  w->add(history_point{"r-1", 91, 2, now}, now);
  auto s = w->stats();
  CHECK(dropped(s, history_detail::raw, history_drop::future) == 1);
  CHECK(dropped(s, history_detail::raw, history_drop::late) == 1);
  CHECK(dropped(s, history_detail::raw, history_drop::invalid) == 2);
  CHECK(s.buffered == 1);
  // A sealed hour refuses later writes too (another node's, a slow flush).
  w->flush(now);
  w->tick(now + 2 * hour_ms);
  std::vector<history_run> late{{"r-9", history_detail::raw, history_hour_of(now), {{now, 1, 2, 1}}}};
  auto files = open_files(dir.path());
  files->append(late, now + 2 * hour_ms);
  CHECK(dropped(files->stats(), history_detail::raw, history_drop::late) == 1);
}

TEST_CASE("history_skips_a_torn_tail_on_open_and_keeps_older_records") {
  temp_dir dir;
  const core::time_ms now = t0 + 10 * 60'000;
  std::string seg;
  {
    auto w = open_writer(dir.path());
    feed(*w, "r-1", t0, 60);
    w->flush(t0 + 60'000);
    feed(*w, "r-1", t0 + 60'000, 60);
    w->flush(t0 + 120'000);
    seg = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  }
  const auto whole = std::filesystem::file_size(seg);
  SUBCASE("a run cut short") {
    std::filesystem::resize_file(seg, whole - 7);
  }
  SUBCASE("garbage after the last run") {
    std::ofstream{seg, std::ios::app} << "\x01\x02garbage-that-is-not-a-run";
  }
  SUBCASE("zeros after the last run (a power cut)") {
    std::ofstream{seg, std::ios::app} << std::string(4096, '\0');
  }
  auto w = open_writer(dir.path());
  auto s = w->stats();
  CHECK(s.torn_records == 1);
  CHECK(s.torn_bytes > 0);
  auto page = query(*w, "r-1", history_detail::raw, t0, now, now);
  CHECK(page.samples.size() >= 12); // the first flush's minute survives whole
  CHECK(page.samples.size() <= 24);
  // Appends go on after the cut, and the file reads cleanly again.
  feed(*w, "r-1", t0 + 180'000, 60, 0);
  w->flush(t0 + 240'000);
  auto again = open_writer(dir.path());
  CHECK(again->stats().torn_records == 0);
  CHECK(query(*again, "r-1", history_detail::raw, t0 + 180'000, now, now).samples.size() == 12);
}

TEST_CASE("history_rebuilds_an_index_that_does_not_match_its_segment") {
  temp_dir dir;
  {
    auto w = open_writer(dir.path());
    feed(*w, "r-1", t0, 60);
    w->flush(t0 + 60'000);
    w->tick(t0 + 2 * hour_ms);
  }
  const auto seg = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  REQUIRE(exists(seg + ".idx"));
  std::filesystem::resize_file(seg + ".idx", 20);
  std::ofstream{seg + ".idx.tmp"} << "left by a crash";
  auto w = open_writer(dir.path());
  CHECK(w->stats().index_rebuilds == 1);
  CHECK_FALSE(exists(seg + ".idx.tmp"));
  auto now = t0 + 2 * hour_ms + 1;
  CHECK(query(*w, "r-1", history_detail::raw, t0, now, now).samples.size() == 12);
  w->tick(now); // sealed again
  CHECK(exists(seg + ".idx"));
  CHECK(query(*w, "r-1", history_detail::raw, t0, now, now).samples.size() == 12);
}

TEST_CASE("history_failed_append_is_dropped_counted_and_leaves_the_segment_readable") {
  temp_dir dir;
  auto files = open_files(dir.path());
  auto* raw = files.get();
  history_writer w{std::move(files), {}};
  feed(w, "r-1", t0, 30);
  w.flush(t0 + 30'000);
  int calls = 0;
  raw->set_write_fn([&](int fd, const void* data, std::size_t n) -> ssize_t {
    if (++calls == 1)
      return ::write(fd, data, n / 2); // half a batch lands, then the disk fails
    errno = EIO;
    return -1;
  });
  feed(w, "r-1", t0 + 30'000, 30);
  w.flush(t0 + 60'000);
  auto s = w.stats();
  CHECK(s.write_failures == 1);
  CHECK(dropped(s, history_detail::raw, history_drop::write_error) == 6);
  raw->set_write_fn({});
  feed(w, "r-1", t0 + 60'000, 30);
  w.flush(t0 + 90'000);
  auto now = t0 + 90'000;
  CHECK(query(w, "r-1", history_detail::raw, t0, now, now).samples.size() == 12);
  auto reopened = open_writer(dir.path());
  CHECK(reopened->stats().torn_records == 0);
  CHECK(query(*reopened, "r-1", history_detail::raw, t0, now, now).samples.size() == 12);
}

TEST_CASE("history_bounds_riders_buffer_and_disk_and_counts_what_it_refuses") {
  temp_dir dir;
  history_limits lim;
  lim.riders_max = 100;
  lim.buffer_samples_max = 64;
  auto w = open_writer(dir.path(), lim);
  for (int r = 0; r < 300; ++r) {
    w->add(history_point{"r-" + std::to_string(r), 1, 2, t0}, t0);
    CHECK(w->stats().buffered < 64); // full: written at once, never grown
  }
  auto s = w->stats();
  CHECK(s.riders == 100);
  CHECK(dropped(s, history_detail::raw, history_drop::riders) == 200);
  CHECK(s.written[0] + s.buffered == 100);

  temp_dir small;
  history_limits tiny;
  tiny.disk_bytes_max = 4096;
  auto d = open_writer(small.path(), tiny);
  for (int r = 0; r < 100; ++r)
    d->add(history_point{"rider-" + std::to_string(r), 1, 2, t0}, t0);
  d->flush(t0);
  CHECK(d->stats().bytes <= 4096);
  CHECK(dropped(d->stats(), history_detail::raw, history_drop::disk_full) > 0);
}

TEST_CASE("history_ram_stays_bounded_while_an_hour_of_2000_riders_goes_to_disk") {
  // 2,000 riders x 720 points (1.44M positions, ~29 MB on disk). The old
  // store kept every point in RAM (~35 MB here); this one keeps per rider
  // a few dozen bytes of state and its open segments' chain heads.
  temp_dir dir;
  auto w = open_writer(dir.path());
  std::vector<std::string> ids;
  for (int r = 0; r < 2000; ++r)
    ids.push_back("rider-" + std::to_string(r));
  // Heap in use: small chunks plus mmap'ed big ones (a grown vector).
  auto heap = [] {
    auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const auto before = heap();
  std::size_t peak = 0;
  for (core::time_ms t = t0; t < t0 + hour_ms; t += 5000) {
    for (auto& id : ids)
      w->add(history_point{id, 37.5, 127.0, t}, t);
    w->tick(t);
    peak = std::max(peak, heap() - before);
  }
  w->flush(t0 + hour_ms);
  auto s = w->stats();
  CHECK(s.written[0] == 2000u * 720u);
  CHECK(s.bytes > 2000u * 720u * history_sample_bytes);
  MESSAGE("heap peak " << peak / 1024 << " KiB for " << s.bytes / 1024 << " KiB on disk");
  // The buffer (30 s = 12,000 samples at ~48 B) + 2,000 riders' state and heads.
  CHECK(peak < 4 * 1024 * 1024);
  auto page = query(*w, "rider-1234", history_detail::raw, t0, t0 + hour_ms, t0 + hour_ms);
  CHECK(page.samples.size() == 720);
}

TEST_CASE("history_compacts_a_sealed_hour_to_one_run_per_rider_a_few_riders_per_call") {
  temp_dir dir;
  history_limits lim;
  lim.compact_riders_per_call = 2;
  auto w = open_writer(dir.path(), lim);
  for (core::time_ms t = t0; t < t0 + hour_ms; t += 5000) { // 5 riders, flushed every 30 s
    for (int r = 0; r < 5; ++r)
      w->add(history_point{"r-" + std::to_string(r), 37.0 + r, 127.0, t}, t);
    w->tick(t);
  }
  w->close(t0 + hour_ms);
  const auto seg = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  const core::time_ms now = t0 + hour_ms + 11 * 60'000;
  auto before = std::filesystem::file_size(seg);
  w->tick(now); // seals, starts the compaction, rewrites 2 riders
  CHECK(w->stats().compactions == 0);
  CHECK(exists(seg + ".compact"));
  auto during = query(*w, "r-3", history_detail::raw, t0, t0 + hour_ms, now);
  CHECK(during.samples.size() == 720); // read from the sealed files meanwhile
  w->tick(now + 1000);
  w->tick(now + 2000); // 2 + 2 + 1 riders: the raw segment is done
  CHECK(w->stats().compactions == 1);
  for (int i = 3; i < 6; ++i)
    w->tick(now + i * 1000); // then the minute segment
  auto s = w->stats();
  CHECK(s.compactions == 2);
  CHECK_FALSE(exists(seg + ".compact"));
  auto after = std::filesystem::file_size(seg);
  MESSAGE("raw segment " << before << " -> " << after << " bytes");
  // 120 runs of 6 samples per rider -> 1 run of 720: the headers are gone.
  CHECK(after == 5 * (history_run_header_bytes + 3 + 720 * history_sample_bytes));
  CHECK(s.bytes < before + 2000);
  for (int r = 0; r < 5; ++r) {
    auto id = "r-" + std::to_string(r);
    auto page = query(*w, id, history_detail::raw, t0, t0 + hour_ms, now);
    REQUIRE(page.samples.size() == 720);
    CHECK(page.samples.front().at_ms == t0);
    CHECK(page.samples.back().at_ms == t0 + hour_ms - 5000);
    CHECK(page.samples[7].lat == doctest::Approx(37.0 + r));
    CHECK(query(*w, id, history_detail::minute, t0, t0 + hour_ms, now).samples.size() == 60);
  }
  auto reopened = open_writer(dir.path(), lim);
  CHECK(reopened->stats().index_rebuilds == 0);
  CHECK(query(*reopened, "r-4", history_detail::raw, t0, t0 + hour_ms, now).samples.size() == 720);
}

TEST_CASE("history_survives_a_crash_in_the_middle_of_a_compaction") {
  temp_dir dir;
  history_limits lim;
  lim.compact_riders_per_call = 1;
  const auto seg = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  const core::time_ms now = t0 + hour_ms + 11 * 60'000;
  std::string old_index;
  {
    auto w = open_writer(dir.path(), lim);
    for (core::time_ms t = t0; t < t0 + 10 * 60'000; t += 5000) {
      for (int r = 0; r < 3; ++r)
        w->add(history_point{"r-" + std::to_string(r), 1.0, 2.0, t}, t);
      w->tick(t);
    }
    w->close(t0 + 10 * 60'000);
    w->tick(now); // sealed; compaction started (1 of 3 riders)
    REQUIRE(exists(seg + ".compact"));
    std::ifstream in{seg + ".idx", std::ios::binary};
    old_index.assign(std::istreambuf_iterator<char>{in}, {});
    w->tick(now + 1000);
    w->tick(now + 2000);
    REQUIRE(w->stats().compactions >= 1);
  }
  SUBCASE("cut before the rename: the leftover is removed") {
    std::ofstream{seg + ".compact"} << "partial";
    auto w = open_writer(dir.path(), lim);
    CHECK_FALSE(exists(seg + ".compact"));
    CHECK(query(*w, "r-2", history_detail::raw, t0, now, now).samples.size() == 120);
  }
  SUBCASE("cut between the renames: the old index does not fit the new segment") {
    std::ofstream{seg + ".idx", std::ios::binary | std::ios::trunc} << old_index;
    auto w = open_writer(dir.path(), lim);
    CHECK(w->stats().index_rebuilds == 1);
    for (int r = 0; r < 3; ++r)
      CHECK(query(*w, "r-" + std::to_string(r), history_detail::raw, t0, now, now)
                .samples.size() == 120);
  }
}

TEST_CASE("history_prunes_a_segment_while_it_is_being_compacted") {
  temp_dir dir;
  history_limits lim;
  lim.compact_riders_per_call = 1;
  auto w = open_writer(dir.path(), lim);
  for (int r = 0; r < 4; ++r)
    feed(*w, "r-" + std::to_string(r), t0, 60);
  w->close(t0 + 60'000);
  w->tick(t0 + hour_ms + 11 * 60'000);
  const auto seg = dir.file("raw-" + std::to_string(history_hour_of(t0)) + ".seg");
  REQUIRE(exists(seg + ".compact"));
  w->tick(t0 + 26 * hour_ms);
  CHECK_FALSE(exists(seg));
  CHECK_FALSE(exists(seg + ".compact"));
  CHECK(w->stats().write_failures == 0);
}

TEST_CASE("history_merges_samples_of_one_instant") {
  std::vector<history_sample> m{{60'000, 1.0, 2.0, 3}, {0, 5.0, 5.0, 1}, {60'000, 2.0, 4.0, 1}};
  merge_history_samples(m, history_detail::minute);
  REQUIRE(m.size() == 2);
  CHECK(m[1].count == 4);
  CHECK(m[1].lat == doctest::Approx(1.25));
  CHECK(m[1].lng == doctest::Approx(2.5));
  std::vector<history_sample> r{{5, 1.0, 1.0, 1}, {5, 2.0, 2.0, 1}};
  merge_history_samples(r, history_detail::raw);
  REQUIRE(r.size() == 1);
  CHECK(r[0].lat == 1.0);
}
