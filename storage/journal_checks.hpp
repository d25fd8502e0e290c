#pragma once
/// \file
/// Validation shared by every journal backend, so they reject the same
/// requests with the same codes: bad_request for malformed or oversized
/// input, conflict for a stale expected version.

#include "core/result.hpp"
#include "storage/journal.hpp"

#include <optional>
#include <string>

namespace courier::storage {

/// Stream name is non-empty and at most stream_name_bytes_max bytes.
core::result<core::unit_t> check_stream_name(const std::string& stream);

/// An append's shape: valid name, 1..journal_events_per_append_max events,
/// each encoded record within journal_record_bytes_max.
core::result<core::unit_t> check_append_shape(const append_request& req);

/// Optimistic concurrency: `expected` must equal the stream's `current`
/// version, else errc::conflict naming both.
core::result<core::unit_t> check_expected(const std::string& stream,
                                          version_t expected,
                                          version_t current);

/// A snapshot at `version` must not be past the stream's `current` version
/// (bad_request), nor older than its `latest` snapshot (conflict), and must
/// fit in one snapshot record, journal_snapshot_bytes_max (bad_request).
core::result<core::unit_t> check_snapshot(const std::string& stream,
                                          version_t version,
                                          std::size_t payload_bytes,
                                          version_t current,
                                          std::optional<version_t> latest);

} // namespace courier::storage
