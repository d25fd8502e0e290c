#pragma once
/// \file
/// Type traits shared by the codecs (convert.cpp, json.cpp, validate.cpp):
/// which field types are optional, repeated, maps, strong ids or enums.
/// Internal to messages/; other folders have no reason to include it.

#include "core/errc.hpp"
#include "core/ids.hpp"
#include "messages/domain.hpp"

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace courier::msg::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
struct is_map : std::false_type {};
template <class K, class V>
struct is_map<std::map<K, V>> : std::true_type {};

template <class T>
struct is_strong_id : std::false_type {};
template <class Tag>
struct is_strong_id<core::strong_id<Tag>> : std::true_type {};

/// Enums carried as strings on the wire (the protocol's spelling).
template <class T>
inline constexpr bool is_wire_enum_v =
    std::is_same_v<T, role> || std::is_same_v<T, order_status> ||
    std::is_same_v<T, radius_trigger_kind> || std::is_same_v<T, core::errc>;

/// Spelling of a wire enum.
template <class E>
std::string_view enum_name(E x) noexcept {
  using courier::core::to_string;
  using courier::msg::to_string;
  return to_string(x);
}

/// Parses a wire enum's spelling; nullopt if unknown (and for errc::none).
template <class E>
std::optional<E> enum_parse(std::string_view text) noexcept {
  if constexpr (std::is_same_v<E, core::errc>)
    return core::errc_from_string(text);
  else
    return enum_from_string<E>(text);
}

/// "a.b" path of a nested field, for error messages.
inline std::string join_path(const std::string& path, const char* name) {
  return path.empty() ? std::string{name} : path + "." + name;
}

template <class T>
inline constexpr bool always_false_v = false;

} // namespace courier::msg::detail
