#pragma once
/// \file
/// The injected clock. Domain code reads time only through a `clock`, never
/// from std::chrono directly, so the test harness can run any scenario in
/// virtual time and replay it exactly.

#include <atomic>
#include <cstdint>

namespace courier::core {

/// Milliseconds since the Unix epoch, the protocol's time unit (`at_ms`).
using time_ms = std::int64_t;

/// A source of wall-clock time.
class clock {
public:
  virtual ~clock() = default;
  /// Now, in milliseconds since the Unix epoch.
  virtual time_ms now_ms() const noexcept = 0;
};

/// The real wall clock (std::chrono::system_clock).
class system_clock final : public clock {
public:
  time_ms now_ms() const noexcept override;
};

/// A clock that moves only when told to: for unit tests of pure logic.
class manual_clock final : public clock {
public:
  explicit manual_clock(time_ms start = 0) : now_(start) {}
  time_ms now_ms() const noexcept override { return now_.load(); }
  void set(time_ms t) noexcept { now_.store(t); }
  void advance(time_ms delta) noexcept { now_.fetch_add(delta); }

private:
  std::atomic<time_ms> now_;
};

} // namespace courier::core
