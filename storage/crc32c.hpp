#pragma once
/// \file
/// CRC32C (Castagnoli), the checksum of every journal record. Table-driven
/// and dependency-free; the table is built at compile time.

#include <cstddef>
#include <cstdint>

namespace courier::storage {

/// Continues a CRC32C over `bytes` bytes at `data`; start with crc = 0.
/// crc32c_extend(crc32c_extend(0, a), b) == crc32c of a followed by b.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data,
                            std::size_t bytes) noexcept;

/// CRC32C of one buffer.
inline std::uint32_t crc32c(const void* data, std::size_t bytes) noexcept {
  return crc32c_extend(0, data, bytes);
}

} // namespace courier::storage
