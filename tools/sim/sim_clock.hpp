#pragma once
/// \file
/// Simulated time: wall time since the start, scaled by the speedup. The
/// simulation classes take sim milliseconds as arguments (injected time);
/// only the socket shell reads the real clock and converts here.

#include <cstdint>

namespace courier::sim {

/// Milliseconds of simulated time since the run started.
using sim_ms = std::int64_t;

/// Converts between wall milliseconds since the start and sim milliseconds.
class sim_clock {
public:
  /// `speedup` sim seconds pass per wall second (must be > 0).
  explicit sim_clock(double speedup);

  /// Sim time at `wall_ms` since the start.
  sim_ms to_sim(std::int64_t wall_ms) const noexcept;
  /// Wall milliseconds that `sim_delta` of sim time takes (at least 1).
  std::int64_t to_wall(sim_ms sim_delta) const noexcept;
  double speedup() const noexcept { return speedup_; }

private:
  double speedup_;
};

} // namespace courier::sim
