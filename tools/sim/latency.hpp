#pragma once
/// \file
/// Latency bookkeeping: a bounded sample set with percentiles, and the
/// matcher that pairs a rider_position push with the position that caused it.

#include "core/ids.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

namespace courier::sim {

/// Percentiles of one latency metric, milliseconds.
struct latency_summary {
  std::uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

/// Samples of one metric. Keeps at most samples_max values (reservoir
/// sampling, seeded, so percentiles stay unbiased and memory bounded);
/// count, max and mean are exact over every sample.
class latency_histogram {
public:
  static constexpr std::size_t samples_max_default = 200'000;
  explicit latency_histogram(std::size_t samples_max = samples_max_default);

  void add(double ms);
  /// Nearest-rank percentiles over the kept samples.
  latency_summary summarize() const;

private:
  std::size_t samples_max_;
  std::vector<double> samples_;
  std::uint64_t count_ = 0;
  double max_ = 0, sum_ = 0;
  std::mt19937_64 rng_{0x5eed};
};

/// Pairs positions sent with rider_position pushes received. A rider's last
/// positions_kept sends are remembered as (time_ms, send time); a push for
/// that rider with `at_ms` matches the latest send whose time_ms <= at_ms.
/// The sim sends wall-clock epoch ms as time_ms, so this is exact when the
/// server passes time_ms through as at_ms and a close bound when it stamps
/// its own receive time instead. Not thread-safe (callers lock).
class position_matcher {
public:
  static constexpr std::size_t positions_kept = 64;
  static constexpr std::size_t riders_max = 200'000;

  /// A position with `time_ms` left at `sent_us` (steady clock, µs).
  void on_sent(const core::rider_id& rider, std::int64_t time_ms, std::int64_t sent_us);

  /// The match for a push, if any: the send time and whether time_ms == at_ms.
  struct match {
    std::int64_t sent_us = 0;
    bool exact = false;
  };
  std::optional<match> find(const core::rider_id& rider, std::int64_t at_ms) const;

private:
  struct ring {
    std::array<std::pair<std::int64_t, std::int64_t>, positions_kept> slots{};
    std::size_t next = 0, size = 0;
  };
  std::unordered_map<core::rider_id, ring> riders_;
};

} // namespace courier::sim
