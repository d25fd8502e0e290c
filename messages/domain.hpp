#pragma once
/// \file
/// Domain vocabulary shared by messages and actors: the closed sets of the
/// protocol (roles, order statuses, radius trigger kinds) as enums, and money
/// in integer minor units. No CAF, no protobuf: cheap to include anywhere.

#include <cstdint>
#include <optional>
#include <string_view>

namespace courier::msg {

/// Who a token speaks for (PROTOCOL.md, "Connection").
enum class role : std::uint8_t { rider, customer, store, admin };

/// An order's status (PROTOCOL.md, "Order statuses"). The main line is in
/// declaration order; payment_failed, rejected and cancelled are off it.
enum class order_status : std::uint8_t {
  placed,
  paid,
  accepted,
  cooking,
  ready,
  picked_up,
  delivering,
  delivered,
  payment_failed,
  rejected,
  cancelled,
};

/// Why an admin shrinks a delivery radius; `restore` clears all held ones.
enum class radius_trigger_kind : std::uint8_t {
  rider_shortage,
  system_error,
  weather,
  manual,
  restore,
};

/// The protocol's spelling ("picked_up", ...); "unknown" for a value outside
/// the enum (only reachable through a corrupt cast).
std::string_view to_string(role x) noexcept;
std::string_view to_string(order_status x) noexcept;
std::string_view to_string(radius_trigger_kind x) noexcept;

/// Parses the protocol's spelling; nullopt for anything else.
std::optional<role> role_from_string(std::string_view text) noexcept;
std::optional<order_status> order_status_from_string(std::string_view text) noexcept;
std::optional<radius_trigger_kind>
radius_trigger_kind_from_string(std::string_view text) noexcept;

/// Generic spelling lookup, so codecs can treat every enum alike.
template <class Enum>
std::optional<Enum> enum_from_string(std::string_view text) noexcept;
template <>
inline std::optional<role> enum_from_string<role>(std::string_view t) noexcept {
  return role_from_string(t);
}
template <>
inline std::optional<order_status>
enum_from_string<order_status>(std::string_view t) noexcept {
  return order_status_from_string(t);
}
template <>
inline std::optional<radius_trigger_kind>
enum_from_string<radius_trigger_kind>(std::string_view t) noexcept {
  return radius_trigger_kind_from_string(t);
}

/// An amount of money in minor units (cents). The wire carries decimals
/// (`9.99`); inside Courier money is an integer so sums are exact.
struct money {
  std::int64_t minor_units = 0;

  /// Largest wire amount accepted (so `x * 100` stays exact in a double).
  static constexpr double decimal_max = 1e13;

  /// Wire decimal -> minor units, rounding half away from zero
  /// (`round(x * 100)`). nullopt for NaN, infinities and |x| > decimal_max.
  static std::optional<money> from_decimal(double x) noexcept;
  /// Minor units -> wire decimal.
  double to_decimal() const noexcept {
    return static_cast<double>(minor_units) / 100.0;
  }

  friend bool operator==(money a, money b) { return a.minor_units == b.minor_units; }
  friend bool operator!=(money a, money b) { return !(a == b); }
};

/// CAF 0.17 inspection (plain template: no CAF include needed).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, money& x) {
  return f(x.minor_units);
}

} // namespace courier::msg
