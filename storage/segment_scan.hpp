#pragma once
/// \file
/// Recovery's record scanner: walks one segment's bytes, hands every valid
/// record to a sink, and classifies what ends the valid prefix. Pure (no
/// I/O), so torn and corrupt cases are unit-testable on plain buffers.

#include "core/result.hpp"
#include "storage/record_format.hpp"

#include <cstdint>
#include <functional>
#include <string_view>

namespace courier::storage {

/// What follows the valid prefix of a segment.
enum class segment_tail {
  clean,   ///< nothing: every byte belongs to a valid record
  torn,    ///< bytes that hold no valid record (a write cut short, garbage)
  corrupt, ///< an invalid record followed by a valid one: damage, not a tear
};

/// Result of scanning one segment.
struct scan_outcome {
  std::uint64_t good_bytes = 0; ///< length of the valid prefix
  segment_tail tail = segment_tail::clean;
};

/// Called for each valid record with its offset; an error stops the scan.
using record_sink = std::function<core::result<core::unit_t>(
    const decoded_record& record, std::uint64_t offset)>;

/// Scans `data` from its start. Returns the sink's first error, if any.
core::result<scan_outcome> scan_segment(std::string_view data,
                                        const record_sink& sink);

} // namespace courier::storage
