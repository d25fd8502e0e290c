#include "storage/record_format.hpp"

#include "core/limits.hpp"
#include "storage/byte_order.hpp"
#include "storage/crc32c.hpp"

namespace courier::storage {
namespace {

// Header field offsets (see the table in record_format.hpp).
constexpr std::size_t off_magic = 0;
constexpr std::size_t off_kind = 4;
constexpr std::size_t off_reserved = 5;
constexpr std::size_t off_name_bytes = 6;
constexpr std::size_t off_version = 8;
constexpr std::size_t off_payload_bytes = 16;
constexpr std::size_t off_crc = 20;
static_assert(off_crc + 4 == record_header_bytes);
static_assert(stream_name_bytes_max <= 0xFFFF, "name length is a u16");
static_assert(core::limits::journal_snapshot_bytes_max <= 0xFFFFFFFFu,
              "payload length is a u32");

bool known_kind(std::uint64_t kind) {
  return kind == static_cast<std::uint8_t>(record_kind::event) ||
         kind == static_cast<std::uint8_t>(record_kind::snapshot) ||
         kind == static_cast<std::uint8_t>(record_kind::drop);
}

} // namespace

std::size_t record_bytes_max(record_kind kind) noexcept {
  return kind == record_kind::snapshot ? core::limits::journal_snapshot_bytes_max
                                       : core::limits::journal_record_bytes_max;
}

void encode_record(std::string& out, record_kind kind, std::string_view stream,
                   version_t version, std::string_view payload) {
  COURIER_ASSERT(!stream.empty());
  COURIER_ASSERT(stream.size() <= stream_name_bytes_max);
  COURIER_ASSERT(record_bytes(stream.size(), payload.size()) <= record_bytes_max(kind));
  char header[record_header_bytes] = {};
  put_le(header + off_magic, record_magic, 4);
  put_le(header + off_kind, static_cast<std::uint8_t>(kind), 1);
  put_le(header + off_reserved, 0, 1);
  put_le(header + off_name_bytes, stream.size(), 2);
  put_le(header + off_version, version, 8);
  put_le(header + off_payload_bytes, payload.size(), 4);
  std::uint32_t crc = crc32c_extend(0, header, off_crc);
  crc = crc32c_extend(crc, stream.data(), stream.size());
  crc = crc32c_extend(crc, payload.data(), payload.size());
  put_le(header + off_crc, crc, 4);
  out.append(header, record_header_bytes);
  out.append(stream);
  out.append(payload);
}

decoded_record decode_record(std::string_view data) noexcept {
  decoded_record rec;
  if (data.size() < record_header_bytes) {
    rec.status = decode_status::incomplete;
    return rec;
  }
  const char* h = data.data();
  const auto kind = get_le(h + off_kind, 1);
  const auto name_bytes = get_le(h + off_name_bytes, 2);
  const auto payload_bytes = get_le(h + off_payload_bytes, 4);
  if (get_le(h + off_magic, 4) != record_magic || !known_kind(kind) ||
      get_le(h + off_reserved, 1) != 0 || name_bytes == 0 ||
      name_bytes > stream_name_bytes_max ||
      record_bytes(name_bytes, payload_bytes) >
          record_bytes_max(static_cast<record_kind>(kind)))
    return rec; // bad
  const std::size_t total = record_bytes(name_bytes, payload_bytes);
  if (data.size() < total) {
    rec.status = decode_status::incomplete;
    return rec;
  }
  std::uint32_t crc = crc32c_extend(0, h, off_crc);
  crc = crc32c_extend(crc, h + record_header_bytes, total - record_header_bytes);
  if (crc != get_le(h + off_crc, 4))
    return rec; // bad
  rec.status = decode_status::ok;
  rec.kind = static_cast<record_kind>(kind);
  rec.version = get_le(h + off_version, 8);
  rec.stream = data.substr(record_header_bytes, name_bytes);
  rec.payload = data.substr(record_header_bytes + name_bytes, payload_bytes);
  rec.bytes = total;
  return rec;
}

} // namespace courier::storage
