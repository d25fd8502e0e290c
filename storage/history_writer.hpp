#pragma once
/// \file
/// The location history's logic, apart from any actor (the history actor in
/// actors/ is its shell) and from where samples live (a history_backend).
///
/// Per rider it keeps only what the next position needs: the time of its
/// last raw point (raw points are thinned to one per detail_spacing) and its
/// open minute (count and sums; closed by the rider's first point in a later
/// minute, or after rider_idle without one). Samples wait in one buffer
/// (at most buffer_samples_max) and go to the backend as runs (one rider,
/// one series, one hour) every flush_interval, or at once when the buffer
/// is full. A query merges the backend's answer with what is still
/// buffered, so a reader sees every accepted position at once.
///
/// Position times are the rider's clock: a point dated more than future_max
/// ahead of the node's clock is dropped (`future`), one whose hour ended
/// more than seal_after ago is dropped (`late`). Not thread-safe.

#include "storage/history.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::storage {

class history_writer {
public:
  /// Asserts that `limits` validate().
  history_writer(std::unique_ptr<history_backend> backend, history_limits limits);

  /// Takes one accepted position at the node's time `now_ms`.
  void add(const history_point& p, core::time_ms now_ms);
  /// Called about once a second: flushes when flush_interval has passed,
  /// lets the backend seal and prune.
  void tick(core::time_ms now_ms);
  /// Writes everything buffered now, closing idle riders' minutes.
  void flush(core::time_ms now_ms);
  /// Closes every open minute and writes everything (a graceful stop).
  void close(core::time_ms now_ms);

  /// The rider's samples in [from_ms, to_ms): the range is clipped to the
  /// series' retention (then `truncated`) and the answer to
  /// query_samples_max (then `truncated`, oldest first). Samples of one
  /// instant are merged (a minute written by two nodes or around a restart
  /// counts once, weighted). Errors: the backend's (unavailable).
  core::result<history_page> query(const std::string& rider_id, history_detail d,
                                   core::time_ms from_ms, core::time_ms to_ms,
                                   core::time_ms now_ms);
  /// The duration of a query as measured by the caller (a metrics maximum).
  void observe_query_us(std::uint64_t us) noexcept;

  history_stats stats() const;
  const history_limits& limits() const noexcept { return limits_; }

private:
  struct rider_state {
    core::time_ms last_raw_ms = 0;
    bool has_raw = false;
    bool minute_open = false;
    core::time_ms minute_ms = 0;
    std::uint32_t minute_count = 0;
    double lat_sum = 0.0;
    double lng_sum = 0.0;
    core::time_ms seen_ms = 0; ///< the node's time at its last position
  };
  struct pending_sample {
    const std::string* rider; ///< the key in riders_ (stable: node-based map)
    history_detail detail;
    history_sample sample;
  };

  void close_minute(const std::string& rider, rider_state& r);
  void buffer(const std::string& rider, history_detail d, const history_sample& s);
  void drop(history_detail d, history_drop why);
  /// Adds the rider's buffered samples (and open minute) in range to `out`.
  void buffered_of(const std::string& rider_id, history_detail d, core::time_ms from_ms,
                   core::time_ms to_ms, std::vector<history_sample>& out) const;

  std::unique_ptr<history_backend> backend_;
  history_limits limits_;
  std::unordered_map<std::string, rider_state> riders_;
  std::vector<pending_sample> pending_;
  bool flushed_once_ = false;
  core::time_ms last_flush_ms_ = 0;
  history_stats stats_;
};

/// Sorts by time and merges samples of one instant: minutes by their
/// weighted mean, raw points by keeping the first (a position accepted
/// again after a crash).
void merge_history_samples(std::vector<history_sample>& samples, history_detail d);

} // namespace courier::storage
