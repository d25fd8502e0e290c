#pragma once
/// \file
/// Paces place_order at a steady rate: given how long the run has lasted, how
/// many orders are owed now. Deterministic (no jitter), so tests are exact;
/// a burst after a stall is capped, the excess is counted as shed.

#include <cstdint>

namespace courier::sim {

/// Most orders released by one `take_due` call; more owed than this after a
/// stall (a blocked io thread) is dropped and counted, not queued.
inline constexpr std::uint32_t pacer_burst_max = 200;

/// Orders owed at `rate_per_min` since the start.
class order_pacer {
public:
  explicit order_pacer(double rate_per_min);

  /// Orders to place now, `elapsed_ms` (wall) after the start; monotonic
  /// input expected (a smaller value releases nothing).
  std::uint32_t take_due(std::int64_t elapsed_ms);

  /// Orders owed but dropped because they passed pacer_burst_max.
  std::uint64_t shed() const noexcept { return shed_; }
  /// Orders released so far.
  std::uint64_t released() const noexcept { return released_; }

private:
  double rate_per_ms_;
  std::uint64_t released_ = 0;
  std::uint64_t shed_ = 0;
};

} // namespace courier::sim
