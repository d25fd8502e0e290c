#include "actors/radius_policy.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::actors {

std::int64_t radius_policy::held_min() const noexcept {
  std::int64_t best = unset_m;
  for (auto r : held_)
    if (r != unset_m && (best == unset_m || r < best))
      best = r;
  return best;
}

std::int64_t radius_policy::effective(std::int64_t base_m) const noexcept {
  auto held = held_min();
  if (held == unset_m)
    return base_m;
  if (base_m == unset_m)
    return held;
  return std::min(base_m, held);
}

radius_policy::outcome radius_policy::apply(msg::radius_trigger_kind kind,
                                            std::int64_t radius_m,
                                            std::int64_t base_m) {
  auto before = effective(base_m);
  if (kind == msg::radius_trigger_kind::restore) {
    held_.fill(unset_m);
  } else {
    COURIER_ASSERT(radius_m > 0);
    held_[static_cast<std::size_t>(kind)] = radius_m;
  }
  auto after = effective(base_m);
  return outcome{after, after != before};
}

} // namespace courier::actors
