#include "tools/sim/sim_clock.hpp"

#include "core/assert.hpp"

#include <algorithm>
#include <cmath>

namespace courier::sim {

sim_clock::sim_clock(double speedup) : speedup_(speedup) {
  COURIER_ASSERT(speedup > 0.0);
}

sim_ms sim_clock::to_sim(std::int64_t wall_ms) const noexcept {
  return static_cast<sim_ms>(std::llround(static_cast<double>(wall_ms) * speedup_));
}

std::int64_t sim_clock::to_wall(sim_ms sim_delta) const noexcept {
  auto w = std::llround(static_cast<double>(sim_delta) / speedup_);
  return std::max<std::int64_t>(1, w);
}

} // namespace courier::sim
