#pragma once
/// \file
/// Error codes shared by every layer. Each value maps one-to-one onto an
/// error code of PROTOCOL.md, so the gateway converts without a table of
/// special cases; layers add detail in the message, not new codes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::core {

/// An error code of the client protocol (PROTOCOL.md, "Errors").
enum class errc : std::uint8_t {
  none = 0,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  conflict,
  out_of_area,
  rate_limited,
  overloaded,
  unavailable,
  internal,
};

/// The protocol's spelling of `code` ("bad_request", ...).
std::string_view to_string(errc code) noexcept;

/// Parses the protocol's spelling; nullopt for an unknown one.
std::optional<errc> errc_from_string(std::string_view text) noexcept;

/// HTTP status for the REST calls (PROTOCOL.md, "REST").
int http_status(errc code) noexcept;

/// An error as a value: a code plus a human-readable message.
struct error {
  errc code = errc::none;
  std::string message;

  friend bool operator==(const error& a, const error& b) {
    return a.code == b.code && a.message == b.message;
  }
};

/// CAF 0.17 inspection (no CAF include needed: inspect is a plain template).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error& x) {
  return f(x.code, x.message);
}

} // namespace courier::core
