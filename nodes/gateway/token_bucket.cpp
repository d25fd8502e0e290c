#include "nodes/gateway/token_bucket.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::gateway {

token_bucket::token_bucket(std::uint32_t rate_per_s, std::uint32_t burst,
                           core::time_ms now)
    : rate_per_s_(rate_per_s),
      burst_milli_(std::uint64_t{burst} * 1000),
      level_milli_(burst_milli_),
      last_ms_(now) {
  COURIER_ASSERT(rate_per_s > 0);
  COURIER_ASSERT(burst > 0);
}

void token_bucket::refill(core::time_ms now) {
  // A clock that steps back refills nothing (and does not move last_ms_
  // back, which would refill twice).
  if (now <= last_ms_)
    return;
  auto elapsed_ms = static_cast<std::uint64_t>(now - last_ms_);
  last_ms_ = now;
  // rate tokens/s * ms = milli-tokens; cap elapsed so it cannot overflow.
  auto cap_ms = burst_milli_ / rate_per_s_ + 1;
  level_milli_ = std::min(burst_milli_,
                          level_milli_ + rate_per_s_ * std::min(elapsed_ms, cap_ms));
}

bool token_bucket::try_take(core::time_ms now, std::uint32_t tokens) {
  refill(now);
  auto need = std::uint64_t{tokens} * 1000;
  if (level_milli_ < need)
    return false;
  level_milli_ -= need;
  COURIER_ASSERT(level_milli_ <= burst_milli_);
  return true;
}

std::uint32_t token_bucket::available(core::time_ms now) {
  refill(now);
  return static_cast<std::uint32_t>(level_milli_ / 1000);
}

} // namespace courier::gateway
