#pragma once
/// \file
/// Location history (DESIGN.md, "Durability"): per rider, raw points at most
/// one per `detail_spacing` (5 s) kept `detail_retention` (24 h), and
/// 1-minute aggregates (count and mean position) kept `aggregate_retention`
/// (7 d). The contract every backend implements, the types a query
/// returns, and every bound of the history in one place (history_limits).
///
/// Backends: history_file_backend (embedded: hourly segment files under
/// the node's data dir, read from disk by queries) and history_redis_backend
/// (cluster mode: one string per rider, series and hour, with EXPIREAT).
/// history_writer (the pure logic: thinning, minute means, the bounded write
/// buffer, late and future points) feeds one backend; the history actor in
/// actors/ owns the writer.
///
/// History is best-effort: what is buffered (at most `flush_interval`,
/// 30 s) is lost by a crash; nothing older is, and a torn write never
/// keeps a node from starting (the torn tail is skipped and counted).

#include "core/clock.hpp"
#include "core/result.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace courier::storage {

/// Which series: raw points or minute aggregates.
enum class history_detail : std::uint8_t { raw = 0, minute = 1 };
inline constexpr std::size_t history_details = 2;

/// "raw" / "minute" (the REST and CLI spelling).
std::string_view to_string(history_detail d) noexcept;
std::optional<history_detail> history_detail_from_string(std::string_view text) noexcept;

/// One accepted position, as riders report it to the writer.
struct history_point {
  std::string rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0; ///< the position's time (the rider's clock)
};

/// One stored sample: a raw point (count 1) or a minute's mean position
/// (at_ms = the minute's start, count = points in it).
struct history_sample {
  core::time_ms at_ms = 0;
  double lat = 0.0;
  double lng = 0.0;
  std::uint32_t count = 1;

  friend bool operator==(const history_sample& a, const history_sample& b) {
    return a.at_ms == b.at_ms && a.lat == b.lat && a.lng == b.lng && a.count == b.count;
  }
};

/// What a backend appends in one piece: samples of one rider and series
/// within one hour, ascending by at_ms.
struct history_run {
  std::string rider_id;
  history_detail detail = history_detail::raw;
  std::int64_t hour = 0; ///< epoch hours: at_ms / 3,600,000 of every sample
  std::vector<history_sample> samples;
};

/// A query's answer: samples with from_ms <= at_ms < to_ms, ascending;
/// `truncated` when the range asked for reached past the retention window
/// or held more than the per-query bound (then the oldest ones are here:
/// ask again from the last at_ms + 1 for the rest).
struct history_page {
  std::vector<history_sample> samples;
  core::time_ms from_ms = 0; ///< the range answered (clipped to retention)
  core::time_ms to_ms = 0;
  bool truncated = false;
};

inline constexpr core::time_ms history_minute_ms = 60'000;
inline constexpr core::time_ms history_hour_ms = 3'600'000;

/// Floor division of a time by a unit (also for times before the epoch).
constexpr std::int64_t history_floor_div(core::time_ms t, core::time_ms unit) noexcept {
  return t >= 0 ? t / unit : -((-t + unit - 1) / unit);
}
constexpr std::int64_t history_hour_of(core::time_ms t) noexcept {
  return history_floor_div(t, history_hour_ms);
}

/// Every bound of the location history, with its unit. Passing one is a
/// counted event (history_stats), never silent growth.
struct history_limits {
  std::chrono::milliseconds detail_retention{std::chrono::hours{24}};
  std::chrono::milliseconds aggregate_retention{std::chrono::hours{24 * 7}};
  /// Raw points closer than this to the rider's previous kept one are not
  /// stored raw (they still count in the minute mean).
  std::chrono::milliseconds detail_spacing{std::chrono::seconds{5}};
  /// Buffered samples are written at least this often: what a crash loses.
  std::chrono::milliseconds flush_interval{std::chrono::seconds{30}};
  /// An hour is closed (its file segment sealed and indexed) once its end
  /// is this far behind the node's clock; a point for a closed hour is
  /// dropped as `late` (a rider's clock that far behind, or a stale app).
  std::chrono::milliseconds seal_after{std::chrono::minutes{10}};
  /// Points dated further ahead of the node's clock are dropped (`future`).
  std::chrono::milliseconds future_max{std::chrono::minutes{5}};
  /// A rider's writer state (its open minute, its last raw point) leaves RAM
  /// after this long without a position (its open minute is then closed).
  std::chrono::milliseconds rider_idle{std::chrono::minutes{2}};
  /// Riders with writer state in RAM; a new one beyond: dropped (`riders`).
  std::size_t riders_max = 200'000;
  /// Samples buffered in RAM (about 48 B each); reaching it flushes at once.
  std::size_t buffer_samples_max = 524'288;
  /// Samples in one stored run (a longer run is split).
  std::size_t run_samples_max = 1024;
  /// Samples in one query's answer (then `truncated`). Holds a whole
  /// retention window of either series, so only the range clips a reply.
  std::size_t query_samples_max = 20'000;
  /// Riders indexed in RAM per open (unsealed) file segment; beyond: dropped.
  std::size_t segment_riders_max = 200'000;
  /// Unsealed file segments per series (normally 2: this hour and the last).
  std::size_t open_segments_max = 8;
  /// Bytes of history on disk; beyond it new samples are dropped (`disk_full`)
  /// until retention frees space.
  std::uint64_t disk_bytes_max = std::uint64_t{64} << 30;
  /// Runs read for one rider in one hour (a corrupt chain cannot loop).
  std::size_t hour_runs_max = 8192;
  /// Riders a sealed file segment's compaction rewrites per maintain() call
  /// (once a second): bounds how long one call blocks the history actor.
  std::size_t compact_riders_per_call = 256;
  /// Keys written by one Redis script call.
  std::size_t redis_keys_per_call_max = 256;

  std::chrono::milliseconds retention(history_detail d) const {
    return d == history_detail::raw ? detail_retention : aggregate_retention;
  }
};

namespace detail {
inline constexpr history_limits history_defaults{};
static_assert(history_defaults.detail_retention <= history_defaults.aggregate_retention);
static_assert(history_defaults.query_samples_max >=
                  static_cast<std::size_t>(history_defaults.detail_retention /
                                           history_defaults.detail_spacing),
              "a whole day of raw points fits one reply");
static_assert(history_defaults.query_samples_max >=
                  static_cast<std::size_t>(history_defaults.aggregate_retention /
                                           std::chrono::minutes{1}),
              "a whole week of minutes fits one reply");
static_assert(history_defaults.flush_interval + history_defaults.rider_idle <
                  history_defaults.seal_after,
              "an idle rider's last minute is written before its hour closes");
static_assert(history_defaults.run_samples_max <= 0xFFFF, "a run counts samples in a u16");
} // namespace detail

/// Checks the relations above for configured limits; bad_request otherwise.
core::result<core::unit_t> validate(const history_limits& limits);

/// Why a sample was not stored.
enum class history_drop : std::uint8_t {
  late = 0,    ///< its hour is closed (see seal_after)
  future,      ///< dated beyond future_max
  riders,      ///< riders_max or segment_riders_max reached
  disk_full,   ///< disk_bytes_max reached
  segments,    ///< open_segments_max reached
  write_error, ///< the backend failed (disk or Redis); logged where it failed
  out_of_order, ///< minute series: a point older than the rider's open minute
  invalid       ///< no rider id, or lat/lng out of range
};
inline constexpr std::size_t history_drop_reasons = 8;
std::string_view to_string(history_drop d) noexcept;

/// Counters (cumulative) and gauges (as of the call) of a writer and its
/// backend; every field adds up across the two.
struct history_stats {
  std::uint64_t points_in = 0;      ///< positions offered to the writer
  std::uint64_t points_thinned = 0; ///< not stored raw (detail_spacing)
  std::array<std::uint64_t, history_details> written{};  ///< samples stored
  std::array<std::uint64_t, history_details> pruned{};   ///< samples deleted by retention
  std::array<std::array<std::uint64_t, history_drop_reasons>, history_details> dropped{};
  std::uint64_t segments_pruned = 0; ///< files (or hours) deleted by retention
  std::uint64_t write_failures = 0;  ///< backend write calls that failed
  std::uint64_t torn_records = 0;    ///< torn or corrupt records skipped on open or read
  std::uint64_t torn_bytes = 0;      ///< bytes cut from segment tails on open
  std::uint64_t index_rebuilds = 0;  ///< segments indexed again from their records
  std::uint64_t compactions = 0;     ///< sealed segments rewritten one run per rider
  std::uint64_t queries = 0;
  std::uint64_t query_errors = 0;
  std::uint64_t query_us_max = 0;
  // gauges
  std::uint64_t bytes = 0;    ///< stored bytes (files; Redis: payload of the live hours)
  std::uint64_t segments = 0; ///< files (Redis: rider-hour keys of the live hours)
  std::uint64_t riders = 0;   ///< riders with writer state in RAM
  std::uint64_t buffered = 0; ///< samples waiting in RAM

  history_stats& operator+=(const history_stats& o);
  std::uint64_t dropped_total(history_detail d) const;
};

/// Where the samples live. Not thread-safe: one owner (the history actor)
/// calls it. Every call is bounded by history_limits.
class history_backend {
public:
  virtual ~history_backend() = default;
  /// Stores runs; what cannot be stored is counted in stats() (dropped).
  virtual void append(const std::vector<history_run>& runs, core::time_ms now_ms) = 0;
  /// Samples of one rider and series with from_ms <= at_ms < to_ms,
  /// ascending, at most `samples_max` (then truncated). unavailable when
  /// the store cannot be read.
  virtual core::result<history_page> read(const std::string& rider_id, history_detail d,
                                          core::time_ms from_ms, core::time_ms to_ms,
                                          std::size_t samples_max) = 0;
  /// Housekeeping, called about once a second: seals closed hours, deletes
  /// what retention dropped, refreshes the gauges.
  virtual void maintain(core::time_ms now_ms) = 0;
  /// Makes what was appended durable as far as the backend can (shutdown).
  virtual void sync() = 0;
  virtual history_stats stats() const = 0;
};

} // namespace courier::storage
