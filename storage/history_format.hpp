#pragma once
/// \file
/// The bytes of the location history, shared by its backends and tests.
/// Little-endian throughout, so files move between hosts.
///
/// Sample (20 bytes; Redis values are strings of these back to back):
///
///   off size field
///     0    8  at_ms (i64)
///     8    4  lat in 1e-7 degrees (i32; about 1 cm)
///    12    4  lng in 1e-7 degrees (i32)
///    16    4  count (u32, >= 1)
///
/// Run record (file segments `raw-<hour>.seg` / `min-<hour>.seg`): one
/// rider's samples of one flush, chained to the rider's previous run in the
/// same segment, so a query reads only that rider's runs:
///
///     0    4  magic "CRH1"
///     4    4  CRC32C of bytes [8, end of record)
///     8    8  offset of the rider's previous run in this segment (~0: none;
///             always below this run's offset, so a chain cannot loop)
///    16    2  rider id length (1..history_rider_bytes_max)
///    18    2  samples (1..history_limits::run_samples_max)
///    20    1  detail (0 raw, 1 minute)
///    21    3  reserved, 0
///    24    .  rider id, then the samples
///
/// Segment index (`<segment>.idx`, written when the hour is sealed): a
/// 32-byte header, then one 16-byte entry per rider sorted by (hash, head):
///
///     0    4  magic "CRX1"
///     4    4  CRC32C of header bytes [8, 32)
///     8    8  the segment's size in bytes when indexed
///    16    8  samples in the segment
///    24    4  entries
///    28    4  flags: 1 = compacted (each rider's samples are one chain of
///             runs in time order, written rider by rider)
///   entry: hash (u32, CRC32C of the rider id), samples (u32), head (u64: the
///   offset of the rider's last run)
///
/// An entry is checked by what it leads to (the run's CRC and rider id), so
/// a query can binary-search the index with a few small reads.

#include "storage/history.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::storage {

inline constexpr std::size_t history_sample_bytes = 20;
inline constexpr std::size_t history_run_header_bytes = 24;
inline constexpr std::uint32_t history_run_magic = 0x31485243u;   // "CRH1"
inline constexpr std::uint64_t history_no_run = ~std::uint64_t{0};
/// Longest rider id stored (core::limits::id_chars_max fits).
inline constexpr std::size_t history_rider_bytes_max = 256;
inline constexpr std::size_t history_index_header_bytes = 32;
inline constexpr std::size_t history_index_entry_bytes = 16;
inline constexpr std::uint32_t history_index_magic = 0x31585243u; // "CRX1"

/// Appends one encoded sample (lat/lng rounded to 1e-7 degrees).
void encode_history_sample(std::string& out, const history_sample& s);
/// Decodes the sample at `at` (history_sample_bytes readable). False if its
/// fields are out of range (lat/lng, count 0).
bool decode_history_sample(const char* at, history_sample& out) noexcept;

/// Appends one run record; `samples` must be 1..run samples (asserted).
void encode_history_run(std::string& out, std::string_view rider_id, history_detail d,
                        std::uint64_t prev, const history_sample* samples,
                        std::size_t count);

/// How decoding a run at some offset went.
enum class history_decode { ok, incomplete, bad };

/// A decoded run header; `rider_id` points into the decoded bytes.
struct history_run_view {
  history_decode status = history_decode::bad;
  std::uint64_t prev = history_no_run;
  std::string_view rider_id;
  history_detail detail = history_detail::raw;
  std::size_t count = 0;
  const char* samples = nullptr; ///< count * history_sample_bytes
  std::size_t bytes = 0;         ///< the whole record, when ok
};

/// The whole run's size from its first history_run_header_bytes bytes
/// (magic and lengths checked, not the CRC); 0 if they cannot start a run.
std::size_t history_run_bytes(const char* header) noexcept;

/// Decodes the run at the start of `data` (which may hold more bytes):
/// incomplete when `data` ends first (read more, or a torn tail).
history_run_view decode_history_run(std::string_view data) noexcept;

/// The index header.
struct history_index_header {
  std::uint64_t segment_bytes = 0;
  std::uint64_t samples = 0;
  std::uint32_t entries = 0;
  bool compacted = false;
};
struct history_index_entry {
  std::uint32_t hash = 0;
  std::uint32_t samples = 0;
  std::uint64_t head = 0;
};

/// The hash an index sorts riders by.
std::uint32_t history_rider_hash(std::string_view rider_id) noexcept;
void encode_history_index_header(std::string& out, const history_index_header& h);
bool decode_history_index_header(const char* at, history_index_header& out) noexcept;
void encode_history_index_entry(std::string& out, const history_index_entry& e);
history_index_entry decode_history_index_entry(const char* at) noexcept;

} // namespace courier::storage
