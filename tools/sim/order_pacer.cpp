#include "tools/sim/order_pacer.hpp"

#include "core/assert.hpp"

#include <cmath>

namespace courier::sim {

order_pacer::order_pacer(double rate_per_min) : rate_per_ms_(rate_per_min / 60'000.0) {
  COURIER_ASSERT(rate_per_min >= 0.0);
}

std::uint32_t order_pacer::take_due(std::int64_t elapsed_ms) {
  if (elapsed_ms <= 0)
    return 0;
  auto owed_total = static_cast<std::uint64_t>(std::floor(rate_per_ms_ * static_cast<double>(elapsed_ms)));
  std::uint64_t done = released_ + shed_;
  if (owed_total <= done)
    return 0;
  std::uint64_t owed = owed_total - done;
  std::uint64_t now = owed > pacer_burst_max ? pacer_burst_max : owed;
  shed_ += owed - now;
  released_ += now;
  COURIER_ASSERT(released_ + shed_ == owed_total);
  return static_cast<std::uint32_t>(now);
}

} // namespace courier::sim
