#include "storage/crc32c.hpp"

#include <array>

namespace courier::storage {
namespace {

/// Reflected Castagnoli polynomial (iSCSI, ext4, RocksDB use the same).
constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1u) ? (crc >> 1) ^ castagnoli_reflected : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr auto crc_table = make_table();
static_assert(crc_table[1] == 0xF26B8303u, "CRC32C table is wrong");

} // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data,
                            std::size_t bytes) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < bytes; ++i)
    crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

} // namespace courier::storage
