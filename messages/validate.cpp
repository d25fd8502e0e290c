#include "messages/validate.hpp"

#include "messages/wire_traits.hpp"

#include <cmath>
#include <string_view>
#include <type_traits>

namespace courier::msg {
namespace {

using namespace detail;

bool is_h3_cell(std::string_view s) {
  if (s.empty() || s.size() > 16)
    return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex)
      return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class validator {
public:
  core::error err;

  template <class T>
  bool object(const T& x, const std::string& path) {
    return T::visit_fields(x, [&](auto... fs) {
      return (value(fs.value, fs.name, join_path(path, fs.name)) && ...);
    });
  }

  // -- per-message rules (beyond the per-field ones) -------------------------

  template <class T>
  bool message(const T&) {
    return true;
  }
  bool message(const place_order& x) { return total_matches(x.items, x.total); }
  bool message(const new_order& x) { return total_matches(x.items, x.total); }
  bool message(const status_report& x) {
    bool rider_status = x.status == order_status::picked_up ||
                        x.status == order_status::delivering ||
                        x.status == order_status::delivered;
    return check(rider_status, "status", "must be picked_up, delivering or delivered");
  }
  bool message(const radius_trigger& x) {
    if (x.trigger != radius_trigger_kind::restore && !check(x.radius_m > 0, "radius_m", "must be > 0"))
      return false;
    std::string_view t = x.target;
    if (t.substr(0, 6) == "store:") {
      auto id = t.substr(6);
      return check(!id.empty() && id.size() <= core::limits::id_chars_max, "target",
                   "store id must be 1.." + std::to_string(core::limits::id_chars_max) + " chars");
    }
    return check(is_h3_cell(t), "target", "must be store:<id> or an H3 cell");
  }
  bool message(const upsert_store& x) { return check(x.radius_m > 0, "radius_m", "must be > 0"); }
  bool message(const subscribe_region& x) {
    return check(is_h3_cell(x.cell), "cell", "must be an H3 cell");
  }

private:
  template <class T>
  bool value(const T& v, std::string_view name, const std::string& at) {
    if constexpr (is_optional<T>::value) {
      return !v || value(*v, name, at);
    } else if constexpr (is_vector<T>::value) {
      if (name == "items") {
        if (!check(!v.empty(), at, "must not be empty") ||
            !check(v.size() <= core::limits::order_items_max, at,
                   "at most " + std::to_string(core::limits::order_items_max) + " items"))
          return false;
      }
      for (std::size_t i = 0; i < v.size(); ++i)
        if (!object(v[i], at + "[" + std::to_string(i) + "]"))
          return false;
      return true;
    } else if constexpr (is_map<T>::value) {
      for (const auto& kv : v)
        if (!check(order_status_from_string(kv.first).has_value(), at,
                   "unknown status '" + kv.first + "'"))
          return false;
      return true;
    } else if constexpr (has_fields_v<T>) {
      return object(v, at);
    } else if constexpr (is_strong_id<T>::value) {
      return id_like(v.str(), at);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (name == "sku" || name == "cell" || name == "target" || name == "id")
        return id_like(v, at);
      return check(v.size() <= text_chars_max, at,
                   "longer than " + std::to_string(text_chars_max) + " chars");
    } else if constexpr (std::is_same_v<T, core::errc>) {
      return check(v != core::errc::none && enum_name(v) != "none", at, "unknown error code");
    } else if constexpr (is_wire_enum_v<T>) {
      return check(enum_name(v) != "unknown", at, "unknown value");
    } else if constexpr (std::is_same_v<T, double>) {
      return number(v, name, at);
    } else if constexpr (std::is_same_v<T, money>) {
      return check(v.minor_units >= 0, at, "must be >= 0");
    } else if constexpr (std::is_same_v<T, std::uint32_t>) {
      if (name == "qty")
        return check(v >= 1, at, "must be >= 1");
      if (name == "prep_minutes")
        return check(v <= prep_minutes_max, at,
                     "must be 0.." + std::to_string(prep_minutes_max));
      return true;
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      if (ends_with(name, "_m"))
        return check(v >= 0, at, "must be >= 0");
      return true;
    } else {
      return true; // bool, uint64: every value is valid
    }
  }

  bool number(double v, std::string_view name, const std::string& at) {
    if (!check(std::isfinite(v), at, "must be a finite number"))
      return false;
    if (name == "lat")
      return check(v >= -90.0 && v <= 90.0, at, "must be in [-90, 90]");
    if (name == "lng")
      return check(v >= -180.0 && v <= 180.0, at, "must be in [-180, 180]");
    if (name == "heading_deg")
      return check(v >= 0.0 && v < 360.0, at, "must be in [0, 360)");
    if (ends_with(name, "_m") || ends_with(name, "_mps"))
      return check(v >= 0.0, at, "must be >= 0");
    return true;
  }

  bool id_like(const std::string& s, const std::string& at) {
    return check(!s.empty(), at, "must not be empty") &&
           check(s.size() <= core::limits::id_chars_max, at,
                 "longer than " + std::to_string(core::limits::id_chars_max) + " chars");
  }

  bool total_matches(const std::vector<item>& items, money total) {
    std::int64_t sum = 0;
    for (const auto& it : items) {
      std::int64_t line = 0;
      if (__builtin_mul_overflow(static_cast<std::int64_t>(it.qty), it.price.minor_units, &line) ||
          __builtin_add_overflow(sum, line, &sum))
        return check(false, "total", "sum of items overflows");
    }
    return check(sum == total.minor_units, "total",
                 "must equal the sum of qty * price (" + std::to_string(sum) +
                     " minor units), got " + std::to_string(total.minor_units));
  }

  bool check(bool ok, std::string_view at, const std::string& what) {
    if (!ok)
      err = core::make_error(core::errc::bad_request,
                             "field '" + std::string{at} + "': " + what);
    return ok;
  }
};

} // namespace

core::result<core::unit_t> validate(const client_body& in) {
  validator v;
  bool ok = std::visit([&v](const auto& x) { return v.object(x, "") && v.message(x); }, in);
  if (!ok)
    return v.err;
  return core::unit;
}

core::result<core::unit_t> validate(const envelope& in) {
  if (in.ref.size() > core::limits::id_chars_max)
    return core::make_error(core::errc::bad_request, "field 'ref': longer than " +
                                                         std::to_string(core::limits::id_chars_max) +
                                                         " chars");
  return validate(in.body);
}

} // namespace courier::msg
