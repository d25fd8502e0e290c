#pragma once
/// \file
/// `result<T>`: a value or a core::error. Errors are values in Courier; this
/// is the return type of every fallible call that is not an actor request
/// (those use caf::expected / caf::result with the same error struct).

#include "core/assert.hpp"
#include "core/errc.hpp"

#include <utility>
#include <variant>

namespace courier::core {

/// Holds either a T or an error. Accessing the wrong side is a programmer
/// error and asserts.
template <class T>
class result {
public:
  result(T value) : data_(std::move(value)) {}
  result(error err) : data_(std::move(err)) {
    COURIER_ASSERT(std::get<error>(data_).code != errc::none);
  }

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    COURIER_ASSERT(ok());
    return std::get<0>(data_);
  }
  const T& value() const& {
    COURIER_ASSERT(ok());
    return std::get<0>(data_);
  }
  T&& value() && {
    COURIER_ASSERT(ok());
    return std::get<0>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

  const error& err() const {
    COURIER_ASSERT(!ok());
    return std::get<error>(data_);
  }

private:
  std::variant<T, error> data_;
};

/// A success without a value.
struct unit_t {
  friend bool operator==(unit_t, unit_t) { return true; }
};
inline constexpr unit_t unit{};

/// Shorthand for building an error value.
inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

} // namespace courier::core
