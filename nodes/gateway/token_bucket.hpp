#pragma once
/// \file
/// A token bucket for per-connection rate limits (PROTOCOL.md `rate_limited`):
/// `rate_per_s` tokens per second refill up to `burst`. Time is injected, so
/// it is deterministic in tests. Not thread-safe: one bucket per session,
/// used from that session's handler calls.

#include "core/clock.hpp"

#include <cstdint>

namespace courier::gateway {

/// Integer token bucket; exact arithmetic in milli-tokens.
class token_bucket {
public:
  /// Starts full (`burst` tokens) at time `now`. Both must be > 0.
  token_bucket(std::uint32_t rate_per_s, std::uint32_t burst, core::time_ms now);

  /// Takes `tokens` if available at `now`; false (and nothing taken) if not.
  bool try_take(core::time_ms now, std::uint32_t tokens = 1);

  /// Whole tokens available at `now`.
  std::uint32_t available(core::time_ms now);

private:
  void refill(core::time_ms now);

  std::uint64_t rate_per_s_;
  std::uint64_t burst_milli_;
  std::uint64_t level_milli_;
  core::time_ms last_ms_;
};

} // namespace courier::gateway
