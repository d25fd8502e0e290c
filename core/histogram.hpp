#pragma once
/// \file
/// A fixed-bucket histogram for /metrics (Prometheus text format): the
/// bucket bounds are a compile-time table, the counts relaxed atomics, so
/// observe() takes no lock, allocates nothing and makes no syscall; it may
/// be called from any thread at any rate (the push path does, issue #15).
/// Prometheus computes quantiles from the cumulative buckets; so does the
/// live map page.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace courier::core {

/// Latency buckets in microseconds, 50 us to 5 s: the push path (entity to
/// socket write) lives at the low end, client requests across the middle.
struct latency_us_buckets {
  static constexpr std::array<std::uint64_t, 16> upper{
      50,     100,    250,    500,     1'000,   2'500,   5'000,     10'000,
      25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000};
};

/// Queue depth buckets (frames, messages): 0 is its own bucket, then powers
/// of two up to 64k.
struct depth_buckets {
  static constexpr std::array<std::uint64_t, 12> upper{0,   1,   2,    4,    16,    64,
                                                       256, 1024, 4096, 16384, 65536, 262144};
};

/// Dispatch latency buckets in milliseconds (store accept -> rider assigned).
struct dispatch_ms_buckets {
  static constexpr std::array<std::uint64_t, 8> upper{10, 50, 100, 250, 500, 1000, 2000, 5000};
};

/// Monotonic nanoseconds for latency metrics. Not the injected clock: these
/// measure real elapsed time on this host (steady_clock is a vDSO read, not
/// a syscall).
inline std::int64_t metrics_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Counts of observations per bucket of `Buckets::upper` (a value v falls
/// in the first bucket with v <= upper, Prometheus' `le`), plus +Inf, the
/// sum and the count.
template <class Buckets>
class histogram {
public:
  static constexpr std::size_t buckets = Buckets::upper.size();

  void observe(std::uint64_t v) noexcept {
    counts_[bucket_of(v)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }

  /// Index of the bucket `v` falls in; `buckets` is +Inf.
  static std::size_t bucket_of(std::uint64_t v) noexcept {
    std::size_t i = 0;
    while (i < buckets && v > Buckets::upper[i])
      ++i;
    return i;
  }

  /// Observations in bucket `i` alone (not cumulative); i <= buckets.
  std::uint64_t in_bucket(std::size_t i) const noexcept {
    return i <= buckets ? counts_[i].load(std::memory_order_relaxed) : 0;
  }
  std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (auto& c : counts_)
      n += c.load(std::memory_order_relaxed);
    return n;
  }
  std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

  /// Writes `name_bucket{labels,le="..."}` (cumulative), `name_sum{labels}`
  /// and `name_count{labels}`; the `# TYPE` line is the caller's (once per
  /// family). `labels` is empty or `k="v",...` without braces. Read while
  /// others observe, the lines are each consistent enough for a scrape
  /// (count is the +Inf bucket, as Prometheus requires).
  void write(std::ostream& os, std::string_view name, std::string_view labels = {}) const {
    std::uint64_t cumulative = 0;
    const char* sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i < buckets; ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      os << name << "_bucket{" << labels << sep << "le=\"" << Buckets::upper[i] << "\"} "
         << cumulative << '\n';
    }
    cumulative += counts_[buckets].load(std::memory_order_relaxed);
    os << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << cumulative << '\n';
    if (labels.empty()) {
      os << name << "_sum " << sum() << '\n' << name << "_count " << cumulative << '\n';
    } else {
      os << name << "_sum{" << labels << "} " << sum() << '\n'
         << name << "_count{" << labels << "} " << cumulative << '\n';
    }
  }

private:
  std::array<std::atomic<std::uint64_t>, buckets + 1> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

} // namespace courier::core
