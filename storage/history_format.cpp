#include "storage/history_format.hpp"

#include "core/assert.hpp"
#include "storage/byte_order.hpp"
#include "storage/crc32c.hpp"

#include <cmath>

namespace courier::storage {
namespace {

constexpr double e7 = 1e7;
constexpr std::int64_t lat_e7_max = 900'000'000;
constexpr std::int64_t lng_e7_max = 1'800'000'000;

// Run header offsets (the table in history_format.hpp).
constexpr std::size_t off_magic = 0;
constexpr std::size_t off_crc = 4;
constexpr std::size_t off_prev = 8;
constexpr std::size_t off_key_bytes = 16;
constexpr std::size_t off_count = 18;
constexpr std::size_t off_detail = 20;
constexpr std::size_t off_reserved = 21;
static_assert(off_reserved + 3 == history_run_header_bytes);
static_assert(history_rider_bytes_max <= 0xFFFF);

std::int64_t to_e7(double deg) { return static_cast<std::int64_t>(std::llround(deg * e7)); }

std::uint64_t as_u64(std::int64_t v) { return static_cast<std::uint64_t>(v); }

std::int64_t signed_le(const char* at, std::size_t bytes) {
  auto v = get_le(at, bytes);
  if (bytes < 8 && (v >> (8 * bytes - 1)) != 0)
    v |= ~std::uint64_t{0} << (8 * bytes); // sign-extend
  return static_cast<std::int64_t>(v);
}

} // namespace

void encode_history_sample(std::string& out, const history_sample& s) {
  char b[history_sample_bytes];
  auto lat = to_e7(s.lat);
  auto lng = to_e7(s.lng);
  COURIER_ASSERT(lat >= -lat_e7_max && lat <= lat_e7_max);
  COURIER_ASSERT(lng >= -lng_e7_max && lng <= lng_e7_max);
  COURIER_ASSERT(s.count >= 1);
  put_le(b, as_u64(s.at_ms), 8);
  put_le(b + 8, as_u64(lat), 4);
  put_le(b + 12, as_u64(lng), 4);
  put_le(b + 16, s.count, 4);
  out.append(b, sizeof b);
}

bool decode_history_sample(const char* at, history_sample& out) noexcept {
  auto lat = signed_le(at + 8, 4);
  auto lng = signed_le(at + 12, 4);
  auto count = get_le(at + 16, 4);
  if (lat < -lat_e7_max || lat > lat_e7_max || lng < -lng_e7_max || lng > lng_e7_max ||
      count == 0)
    return false;
  out.at_ms = signed_le(at, 8);
  out.lat = static_cast<double>(lat) / e7;
  out.lng = static_cast<double>(lng) / e7;
  out.count = static_cast<std::uint32_t>(count);
  return true;
}

void encode_history_run(std::string& out, std::string_view rider_id, history_detail d,
                        std::uint64_t prev, const history_sample* samples,
                        std::size_t count) {
  COURIER_ASSERT(!rider_id.empty());
  COURIER_ASSERT(rider_id.size() <= history_rider_bytes_max);
  COURIER_ASSERT(count >= 1 && count <= 0xFFFF);
  const auto start = out.size();
  char h[history_run_header_bytes] = {};
  put_le(h + off_magic, history_run_magic, 4);
  put_le(h + off_prev, prev, 8);
  put_le(h + off_key_bytes, rider_id.size(), 2);
  put_le(h + off_count, count, 2);
  put_le(h + off_detail, static_cast<std::uint8_t>(d), 1);
  out.append(h, sizeof h);
  out.append(rider_id);
  for (std::size_t i = 0; i < count; ++i)
    encode_history_sample(out, samples[i]);
  auto crc = crc32c(out.data() + start + off_prev, out.size() - start - off_prev);
  put_le(out.data() + start + off_crc, crc, 4);
}

std::size_t history_run_bytes(const char* h) noexcept {
  const auto key_bytes = get_le(h + off_key_bytes, 2);
  const auto count = get_le(h + off_count, 2);
  if (get_le(h + off_magic, 4) != history_run_magic || key_bytes == 0 ||
      key_bytes > history_rider_bytes_max || count == 0 || get_le(h + off_detail, 1) > 1 ||
      get_le(h + off_reserved, 3) != 0)
    return 0;
  return history_run_header_bytes + key_bytes + count * history_sample_bytes;
}

history_run_view decode_history_run(std::string_view data) noexcept {
  history_run_view v;
  if (data.size() < history_run_header_bytes) {
    v.status = history_decode::incomplete;
    return v;
  }
  const char* h = data.data();
  const std::size_t total = history_run_bytes(h);
  if (total == 0)
    return v; // bad
  const auto key_bytes = get_le(h + off_key_bytes, 2);
  const auto count = get_le(h + off_count, 2);
  const auto detail = get_le(h + off_detail, 1);
  if (data.size() < total) {
    v.status = history_decode::incomplete;
    return v;
  }
  if (crc32c(h + off_prev, total - off_prev) != get_le(h + off_crc, 4))
    return v; // bad
  v.status = history_decode::ok;
  v.prev = get_le(h + off_prev, 8);
  v.rider_id = data.substr(history_run_header_bytes, key_bytes);
  v.detail = static_cast<history_detail>(detail);
  v.count = count;
  v.samples = h + history_run_header_bytes + key_bytes;
  v.bytes = total;
  return v;
}

std::uint32_t history_rider_hash(std::string_view rider_id) noexcept {
  return crc32c(rider_id.data(), rider_id.size());
}

void encode_history_index_header(std::string& out, const history_index_header& h) {
  char b[history_index_header_bytes] = {};
  put_le(b, history_index_magic, 4);
  put_le(b + 8, h.segment_bytes, 8);
  put_le(b + 16, h.samples, 8);
  put_le(b + 24, h.entries, 4);
  put_le(b + 28, h.compacted ? 1 : 0, 4);
  put_le(b + 4, crc32c(b + 8, sizeof b - 8), 4);
  out.append(b, sizeof b);
}

bool decode_history_index_header(const char* at, history_index_header& out) noexcept {
  if (get_le(at, 4) != history_index_magic ||
      get_le(at + 4, 4) != crc32c(at + 8, history_index_header_bytes - 8) ||
      get_le(at + 28, 4) > 1)
    return false;
  out.compacted = get_le(at + 28, 4) == 1;
  out.segment_bytes = get_le(at + 8, 8);
  out.samples = get_le(at + 16, 8);
  out.entries = static_cast<std::uint32_t>(get_le(at + 24, 4));
  return true;
}

void encode_history_index_entry(std::string& out, const history_index_entry& e) {
  char b[history_index_entry_bytes];
  put_le(b, e.hash, 4);
  put_le(b + 4, e.samples, 4);
  put_le(b + 8, e.head, 8);
  out.append(b, sizeof b);
}

history_index_entry decode_history_index_entry(const char* at) noexcept {
  return history_index_entry{static_cast<std::uint32_t>(get_le(at, 4)),
                             static_cast<std::uint32_t>(get_le(at + 4, 4)),
                             get_le(at + 8, 8)};
}

} // namespace courier::storage
