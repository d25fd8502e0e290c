#pragma once
/// \file
/// H3's error codes, kept with their numeric values so results can be
/// compared with the reference library, and their mapping onto Courier's
/// protocol errors (every geo failure is the caller's input: bad_request).

#include "core/errc.hpp"

#include <cstdint>
#include <string_view>

namespace courier::geo {

/// An H3Error code (same numbers as H3 v4's `H3ErrorCodes`).
enum class h3_status : std::uint8_t {
  success = 0,
  failed = 1,        ///< the operation could not be completed (too far, distortion)
  domain = 2,        ///< argument out of range (e.g. negative k)
  latlng_domain = 3, ///< latitude or longitude not finite
  res_domain = 4,    ///< resolution outside 0..15
  cell_invalid = 5,  ///< not a valid cell index
  pentagon = 9,      ///< pentagon distortion met
  res_mismatch = 12, ///< resolutions differ or parent finer than child
  memory_bounds = 14 ///< result would exceed a Courier limit
};

/// H3's name of a status ("E_RES_MISMATCH", ...).
std::string_view to_string(h3_status status) noexcept;

/// The Courier error for a failed geo call: bad_request, with the H3 name
/// and `context` in the message.
core::error to_core_error(h3_status status, std::string_view context);

} // namespace courier::geo
