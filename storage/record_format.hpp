#pragma once
/// \file
/// The on-disk journal record, shared by the file backend and its tests.
///
/// Layout (little-endian, fixed 24-byte header, then the variable parts):
///
///   off  size  field
///     0     4  magic "CRJ1"
///     4     1  kind (1 = event, 2 = snapshot, 3 = drop: the stream is
///                  forgotten, version = its last version, no payload)
///     5     1  reserved, 0
///     6     2  stream name length in bytes (1..stream_name_bytes_max)
///     8     8  version (event: its version; snapshot: the version it covers)
///    16     4  payload length in bytes
///    20     4  CRC32C of bytes [0, 20) + stream name + payload
///    24     .  stream name, then payload
///
/// A whole record (header + name + payload) is at most record_bytes_max(kind):
/// core::limits::journal_record_bytes_max for an event,
/// core::limits::journal_snapshot_bytes_max for a snapshot.

#include "storage/journal.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::storage {

/// What a record holds.
enum class record_kind : std::uint8_t { event = 1, snapshot = 2, drop = 3 };

/// "CRJ1" as read little-endian from the first four bytes.
inline constexpr std::uint32_t record_magic = 0x314A5243u;
/// Fixed part of every record.
inline constexpr std::size_t record_header_bytes = 24;
/// Longest stream name ("order:<id>" with id <= core::limits::id_chars_max
/// fits with room to spare).
inline constexpr std::size_t stream_name_bytes_max = 256;

/// Size of the encoded record for a stream name and payload of these sizes.
constexpr std::size_t record_bytes(std::size_t name_bytes,
                                   std::size_t payload_bytes) noexcept {
  return record_header_bytes + name_bytes + payload_bytes;
}

/// Largest whole record of `kind` (core/limits.hpp).
std::size_t record_bytes_max(record_kind kind) noexcept;

/// Appends one encoded record to `out`.
void encode_record(std::string& out, record_kind kind, std::string_view stream,
                   version_t version, std::string_view payload);

/// How decoding a record at some offset went.
enum class decode_status {
  ok,         ///< a whole record with a good CRC
  incomplete, ///< the bytes end before the record does (a torn write)
  bad,        ///< wrong magic, kind, lengths or CRC
};

/// A decoded record; the views point into the decoded buffer.
struct decoded_record {
  decode_status status = decode_status::bad;
  record_kind kind = record_kind::event;
  version_t version = 0;
  std::string_view stream;
  std::string_view payload;
  std::size_t bytes = 0; ///< whole record size when status == ok
};

/// Decodes the record at the start of `data` (which may hold more bytes).
decoded_record decode_record(std::string_view data) noexcept;

} // namespace courier::storage
