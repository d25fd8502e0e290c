#pragma once
/// \file
/// The location history store (DESIGN.md, "Durability"): per rider, 5 s
/// detail points kept `detail_retention` (24 h) and 1-minute aggregates
/// kept `aggregate_retention` (7 d). Written in batches by history_actor;
/// read by history_actor's query message or directly through this C++ API.
///
/// Storage: memory, bounded, with an optional append-only file backend.
/// - Memory: per rider a deque of detail points (at most one per
///   `detail_spacing`; a closer point is dropped) and a deque of minute
///   aggregates (count and mean position). Bounded by riders_max and the
///   per-rider caps (which equal the retention windows at the spacing);
///   passing a bound sheds the oldest point or refuses a new rider, counted.
/// - Files (when `dir` is set): hourly segments `detail-<hour>.tsv` and
///   `agg-<hour>.tsv` (hour = epoch hours of the points), appended per
///   batch, reloaded on open, and deleted whole when the hour passes out of
///   the retention window (prune). No fsync per batch: history is
///   best-effort (a crash loses at most the last unflushed batch).
/// Thread-safe: one mutex; writes come in batches, so contention is low.

#include "core/clock.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::actors {

/// One recorded position.
struct history_point {
  std::string rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0;
};

/// One minute of a rider's positions.
struct history_minute {
  core::time_ms minute_ms = 0; ///< start of the minute
  std::uint32_t count = 0;
  double lat = 0.0; ///< mean
  double lng = 0.0; ///< mean
};

/// Bounds and retention of the store.
struct history_limits {
  std::chrono::milliseconds detail_retention{std::chrono::hours{24}};
  std::chrono::milliseconds aggregate_retention{std::chrono::hours{24 * 7}};
  std::chrono::milliseconds detail_spacing{std::chrono::seconds{5}};
  std::size_t riders_max = 100'000;
  /// Answers to one query.
  std::size_t query_points_max = 20'000;
  std::size_t detail_per_rider_max() const {
    return static_cast<std::size_t>(detail_retention / detail_spacing);
  }
  std::size_t minutes_per_rider_max() const {
    return static_cast<std::size_t>(aggregate_retention / std::chrono::minutes{1});
  }
};

/// Counters.
struct history_stats {
  std::uint64_t written = 0;      ///< detail points kept
  std::uint64_t thinned = 0;      ///< closer than detail_spacing to the previous
  std::uint64_t shed = 0;         ///< dropped by a per-rider cap
  std::uint64_t refused = 0;      ///< new rider beyond riders_max
  std::uint64_t pruned = 0;       ///< points and minutes aged out
  std::uint64_t file_errors = 0;  ///< segment writes that failed
};

class location_history {
public:
  /// A store over `dir` (empty: memory only). Existing segments are loaded.
  explicit location_history(history_limits limits = {}, std::string dir = {});

  /// Records a batch (any order of riders; per rider in time order).
  void write(const std::vector<history_point>& batch);

  /// Detail points of `rider_id` with from_ms <= at_ms < to_ms, oldest first.
  std::vector<history_point> detail(const std::string& rider_id, core::time_ms from_ms,
                                    core::time_ms to_ms) const;
  /// Minute aggregates with from_ms <= minute_ms < to_ms, oldest first.
  std::vector<history_minute> minutes(const std::string& rider_id, core::time_ms from_ms,
                                      core::time_ms to_ms) const;

  /// Drops what is older than the retention windows at `now_ms` (memory
  /// and whole file segments).
  void prune(core::time_ms now_ms);

  history_stats stats() const;
  std::size_t riders() const;

private:
  struct track {
    std::deque<history_point> detail;
    std::deque<history_minute> minutes;
  };
  /// Adds one point; appends what was kept to `detail_out`/`minute_out`.
  void add_locked(const history_point& p, std::vector<history_point>* detail_out);
  void load_dir();
  void append_file(const std::string& prefix, std::int64_t hour,
                   const std::string& lines);

  history_limits limits_;
  std::string dir_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, track> tracks_;
  history_stats stats_;
};

} // namespace courier::actors
