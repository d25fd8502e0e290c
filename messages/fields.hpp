#pragma once
/// \file
/// The one mechanism behind every message struct: each struct lists its
/// fields once, in `visit_fields`, as named references. CAF's `inspect`,
/// equality, the JSON codec, the protobuf converter and validation are all
/// written once, generically, on top of that list; so a field can not be
/// forgotten in one codec and present in another.

#include <caf/meta/type_name.hpp> // light (~0.1 s); not caf/all.hpp

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace courier::msg {

/// A named reference to one field of a message (`T` may be const).
template <class T>
struct field {
  const char* name;
  T& value;
};

/// Makes a `field`; used by every struct's `visit_fields`.
template <class T>
field<T> field_ref(const char* name, T& value) {
  return field<T>{name, value};
}

/// True for the structs of client.hpp (they have `visit_fields`).
template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(T::caf_name)>> : std::true_type {};
template <class T>
inline constexpr bool has_fields_v = has_fields<T>::value;

/// Field-wise equality for every message struct.
template <class T, class = std::enable_if_t<has_fields_v<T>>>
bool operator==(const T& a, const T& b) {
  auto ta = T::visit_fields(a, [](auto... fs) { return std::tie(fs.value...); });
  auto tb = T::visit_fields(b, [](auto... fs) { return std::tie(fs.value...); });
  return ta == tb;
}
template <class T, class = std::enable_if_t<has_fields_v<T>>>
bool operator!=(const T& a, const T& b) {
  return !(a == b);
}

/// CAF 0.17 inspection of one plain field.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, field<T>& x) {
  return f(x.value);
}

namespace detail {
/// Loads the payload of an optional field after its presence flag.
template <class T>
struct optional_loader {
  bool& present;
  T& storage;
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, optional_loader& x) {
    return x.present ? f(x.storage) : f();
  }
};
} // namespace detail

/// CAF 0.17 inspection of a std::optional field (CAF 0.17 only knows
/// caf::optional): a presence flag, then the value if present.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, field<std::optional<T>>& x) {
  if constexpr (Inspector::reads_state) {
    return x.value ? f(true, *x.value) : f(false);
  } else {
    bool present = false;
    T tmp{};
    detail::optional_loader<T> loader{present, tmp};
    auto result = f(present, loader);
    if (present)
      x.value = std::move(tmp);
    else
      x.value.reset();
    return result;
  }
}

/// CAF 0.17 inspection of every message struct: its type name, then its
/// fields in declaration order.
template <class Inspector, class T>
std::enable_if_t<has_fields_v<T>, typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  return T::visit_fields(x, [&f](auto... fs) {
    return f(caf::meta::type_name(T::caf_name), fs...);
  });
}

} // namespace courier::msg
