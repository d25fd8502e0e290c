#include "core/errc.hpp"

#include <array>

namespace courier::core {
namespace {
constexpr std::array<std::string_view, 11> names = {
    "none",      "bad_request", "unauthorized", "forbidden",
    "not_found", "conflict",    "out_of_area",  "rate_limited",
    "overloaded", "unavailable", "internal"};
} // namespace

std::string_view to_string(errc code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < names.size() ? names[i] : std::string_view{"internal"};
}

std::optional<errc> errc_from_string(std::string_view text) noexcept {
  for (std::size_t i = 1; i < names.size(); ++i)
    if (names[i] == text)
      return static_cast<errc>(i);
  return std::nullopt;
}

int http_status(errc code) noexcept {
  switch (code) {
    case errc::none: return 200;
    case errc::bad_request: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::conflict: return 409;
    case errc::out_of_area: return 422;
    case errc::rate_limited: return 429;
    case errc::overloaded: return 503;
    case errc::unavailable: return 503;
    case errc::internal: return 500;
  }
  return 500;
}
} // namespace courier::core
