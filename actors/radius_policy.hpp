#pragma once
/// \file
/// Delivery-radius triggers (PROTOCOL.md, "Admin"): each trigger kind holds
/// its own radius until `restore` clears them all; the effective radius is
/// the smallest of the base radius and the held ones. Pure logic, used by
/// the store entity (per store) and the region entity (per H3 cell); the
/// entity applies triggers in mailbox order, which is arrival order.

#include "messages/domain.hpp"

#include <array>
#include <cstdint>

namespace courier::actors {

/// A radius in metres; `unset_m` means "no value".
inline constexpr std::int64_t unset_m = -1;

class radius_policy {
public:
  /// The outcome of one trigger.
  struct outcome {
    std::int64_t effective_m = unset_m; ///< after the trigger
    bool applied = false;               ///< the effective radius changed
  };

  /// Applies `kind` with `radius_m` (ignored for restore) against `base_m`
  /// (unset_m when the target has no base radius of its own, as a region).
  outcome apply(msg::radius_trigger_kind kind, std::int64_t radius_m,
                std::int64_t base_m);

  /// The effective radius for `base_m` (unset_m: no base): min of base and held.
  std::int64_t effective(std::int64_t base_m) const noexcept;

  /// The smallest held radius, or unset_m.
  std::int64_t held_min() const noexcept;

  /// Held radius per trigger kind (restore's slot stays unset), for journaling.
  const std::array<std::int64_t, 5>& held() const noexcept { return held_; }
  void restore_held(const std::array<std::int64_t, 5>& held) noexcept { held_ = held; }

private:
  std::array<std::int64_t, 5> held_{unset_m, unset_m, unset_m, unset_m, unset_m};
};

} // namespace courier::actors
