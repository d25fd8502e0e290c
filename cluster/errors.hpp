#pragma once
/// \file
/// Conversions between Courier's error values (core::error) and caf::error,
/// the form errors take in CAF responses. The category atom marks ours, so a
/// CAF system error (timeout, actor down) converts to a protocol code too.

#include "core/errc.hpp"

#include <caf/error.hpp>

namespace courier::cluster {

/// core::error -> caf::error in Courier's category (message kept).
caf::error to_caf_error(const core::error& err);

/// Any caf::error -> core::error: ours keep code and message; CAF's request
/// timeout becomes `unavailable`, a dead receiver `unavailable`, the rest
/// `internal`.
core::error from_caf_error(const caf::error& err);

} // namespace courier::cluster
