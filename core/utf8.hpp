#pragma once
/// \file
/// UTF-8 validity (RFC 3629), for text that becomes JSON: nlohmann throws on
/// invalid UTF-8, so callers check or replace first.

#include <cstddef>
#include <string_view>

namespace courier::core {

/// True if `s` is well-formed UTF-8: no overlong forms, no surrogates,
/// nothing above U+10FFFF, no truncated sequence.
inline bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF; // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= s.size())
      return false;
    auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi)
      return false;
    for (std::size_t k = 2; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if (b < 0x80 || b > 0xBF)
        return false;
    }
    i += n + 1;
  }
  return true;
}

} // namespace courier::core
