#include "geo/status.hpp"

#include "core/assert.hpp"

#include <string>

namespace courier::geo {

std::string_view to_string(h3_status status) noexcept {
  switch (status) {
  case h3_status::success: return "E_SUCCESS";
  case h3_status::failed: return "E_FAILED";
  case h3_status::domain: return "E_DOMAIN";
  case h3_status::latlng_domain: return "E_LATLNG_DOMAIN";
  case h3_status::res_domain: return "E_RES_DOMAIN";
  case h3_status::cell_invalid: return "E_CELL_INVALID";
  case h3_status::pentagon: return "E_PENTAGON";
  case h3_status::res_mismatch: return "E_RES_MISMATCH";
  case h3_status::memory_bounds: return "E_MEMORY_BOUNDS";
  }
  return "E_UNKNOWN";
}

core::error to_core_error(h3_status status, std::string_view context) {
  COURIER_ASSERT(status != h3_status::success);
  std::string message(context);
  message += ": ";
  message += to_string(status);
  return core::error{core::errc::bad_request, std::move(message)};
}

} // namespace courier::geo
