#pragma once
/// \file
/// Little-endian field access for the on-disk formats (journal records,
/// history runs): explicit byte order, so files move between hosts.

#include <cstddef>
#include <cstdint>

namespace courier::storage {

/// Writes the low `bytes` bytes of `value` at `at`, least significant first.
inline void put_le(char* at, std::uint64_t value, std::size_t bytes) noexcept {
  for (std::size_t i = 0; i < bytes; ++i)
    at[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

/// Reads `bytes` bytes at `at`, least significant first.
inline std::uint64_t get_le(const char* at, std::size_t bytes) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i)
    value |= std::uint64_t{static_cast<unsigned char>(at[i])} << (8 * i);
  return value;
}

} // namespace courier::storage
