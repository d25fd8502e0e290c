#include "messages/domain.hpp"

#include <array>
#include <cmath>

namespace courier::msg {
namespace {

constexpr std::array<std::string_view, 4> role_names = {"rider", "customer",
                                                        "store", "admin"};
constexpr std::array<std::string_view, 11> order_status_names = {
    "placed",     "paid",      "accepted",       "cooking",
    "ready",      "picked_up", "delivering",     "delivered",
    "payment_failed", "rejected", "cancelled"};
constexpr std::array<std::string_view, 5> trigger_names = {
    "rider_shortage", "system_error", "weather", "manual", "restore"};

static_assert(order_status_names.size() ==
              static_cast<std::size_t>(order_status::cancelled) + 1);
static_assert(trigger_names.size() ==
              static_cast<std::size_t>(radius_trigger_kind::restore) + 1);
static_assert(role_names.size() == static_cast<std::size_t>(role::admin) + 1);

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum x) {
  auto i = static_cast<std::size_t>(x);
  return i < N ? names[i] : std::string_view{"unknown"};
}

template <class Enum, std::size_t N>
std::optional<Enum> parse(const std::array<std::string_view, N>& names,
                          std::string_view text) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text)
      return static_cast<Enum>(i);
  return std::nullopt;
}

} // namespace

std::string_view to_string(role x) noexcept { return name_of(role_names, x); }
std::string_view to_string(order_status x) noexcept {
  return name_of(order_status_names, x);
}
std::string_view to_string(radius_trigger_kind x) noexcept {
  return name_of(trigger_names, x);
}

std::optional<role> role_from_string(std::string_view text) noexcept {
  return parse<role>(role_names, text);
}
std::optional<order_status> order_status_from_string(std::string_view text) noexcept {
  return parse<order_status>(order_status_names, text);
}
std::optional<radius_trigger_kind>
radius_trigger_kind_from_string(std::string_view text) noexcept {
  return parse<radius_trigger_kind>(trigger_names, text);
}

std::optional<money> money::from_decimal(double x) noexcept {
  if (!std::isfinite(x) || std::fabs(x) > decimal_max)
    return std::nullopt;
  return money{std::llround(x * 100.0)};
}

} // namespace courier::msg
