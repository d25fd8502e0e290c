#include "cluster/errors.hpp"

#include <caf/all.hpp>

namespace courier::cluster {
namespace {
constexpr caf::atom_value category = caf::atom("courier");
} // namespace

caf::error to_caf_error(const core::error& err) {
  return caf::error{static_cast<uint8_t>(err.code), category,
                    caf::make_message(err.message)};
}

core::error from_caf_error(const caf::error& err) {
  if (!err)
    return core::error{core::errc::internal, "no error"};
  if (err.category() == category) {
    std::string text;
    if (err.context().match_elements<std::string>())
      text = err.context().get_as<std::string>(0);
    return core::error{static_cast<core::errc>(err.code()), std::move(text)};
  }
  if (err.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(err.code());
    if (code == caf::sec::request_timeout)
      return core::error{core::errc::unavailable, "request timed out"};
    if (code == caf::sec::request_receiver_down)
      return core::error{core::errc::unavailable, "receiver is down"};
  }
  return core::error{core::errc::internal, caf::to_string(err)};
}

} // namespace courier::cluster
