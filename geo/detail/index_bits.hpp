#pragma once
/// \file
/// Bit layout of a 64-bit H3 index and the digit rotations that act on it.
/// Layout (high to low): 1 reserved bit, 4 mode bits, 3 reserved bits,
/// 4 resolution bits, 7 base-cell bits, then 15 digits of 3 bits each
/// (digit r at bits 3 * (15 - r)); digits past the resolution are 7.

#include <cstdint>

namespace courier::geo::detail {

using index_t = std::uint64_t;

/// An H3 digit: a unit direction in ijk+ coordinates.
enum digit : int {
  center_digit = 0,
  k_axes_digit = 1,
  j_axes_digit = 2,
  jk_axes_digit = 3,
  i_axes_digit = 4,
  ik_axes_digit = 5,
  ij_axes_digit = 6,
  invalid_digit = 7,
};
inline constexpr int digit_count = 7;

inline constexpr int cell_mode = 1;
inline constexpr int mode_offset = 59;
inline constexpr int reserved_offset = 56;
inline constexpr int res_offset = 52;
inline constexpr int base_cell_offset = 45;
inline constexpr int high_bit_offset = 63;
inline constexpr int digit_bits = 3;
inline constexpr index_t digit_mask = 7;
/// A resolution-0 index with every digit set to 7 and nothing else.
inline constexpr index_t index_init = 0x00001fffffffffffULL;

inline int get_mode(index_t h) { return static_cast<int>((h >> mode_offset) & 15); }
inline int get_reserved(index_t h) { return static_cast<int>((h >> reserved_offset) & 7); }
inline int get_high_bit(index_t h) { return static_cast<int>(h >> high_bit_offset); }
inline int get_res(index_t h) { return static_cast<int>((h >> res_offset) & 15); }
inline int get_base_cell(index_t h) { return static_cast<int>((h >> base_cell_offset) & 127); }

inline int digit_shift(int r) { return (15 - r) * digit_bits; }
inline digit get_digit(index_t h, int r) {
  return static_cast<digit>((h >> digit_shift(r)) & digit_mask);
}

inline index_t set_mode(index_t h, int mode) {
  return (h & ~(index_t{15} << mode_offset)) | (static_cast<index_t>(mode) << mode_offset);
}
inline index_t set_res(index_t h, int res) {
  return (h & ~(index_t{15} << res_offset)) | (static_cast<index_t>(res) << res_offset);
}
inline index_t set_base_cell(index_t h, int bc) {
  return (h & ~(index_t{127} << base_cell_offset)) |
         (static_cast<index_t>(bc) << base_cell_offset);
}
inline index_t set_digit(index_t h, int r, int d) {
  const int s = digit_shift(r);
  return (h & ~(digit_mask << s)) | (static_cast<index_t>(d) << s);
}

/// The digit rotated 60 degrees counter-clockwise (center/invalid fixed).
inline digit rotate60ccw(digit d) {
  switch (d) {
  case k_axes_digit: return ik_axes_digit;
  case ik_axes_digit: return i_axes_digit;
  case i_axes_digit: return ij_axes_digit;
  case ij_axes_digit: return j_axes_digit;
  case j_axes_digit: return jk_axes_digit;
  case jk_axes_digit: return k_axes_digit;
  default: return d;
  }
}

/// The digit rotated 60 degrees clockwise (center/invalid fixed).
inline digit rotate60cw(digit d) {
  switch (d) {
  case k_axes_digit: return jk_axes_digit;
  case jk_axes_digit: return j_axes_digit;
  case j_axes_digit: return ij_axes_digit;
  case ij_axes_digit: return i_axes_digit;
  case i_axes_digit: return ik_axes_digit;
  case ik_axes_digit: return k_axes_digit;
  default: return d;
  }
}

/// First non-zero digit of the index, or center_digit if all are zero.
inline digit leading_non_zero_digit(index_t h) {
  const int res = get_res(h);
  for (int r = 1; r <= res; ++r) {
    const digit d = get_digit(h, r);
    if (d != center_digit)
      return d;
  }
  return center_digit;
}

/// Every digit of the index rotated 60 degrees ccw.
index_t rotate_index60ccw(index_t h);
/// Every digit of the index rotated 60 degrees cw.
index_t rotate_index60cw(index_t h);
/// Rotation of a pentagon-based index ccw, skipping the deleted k
/// subsequence.
index_t rotate_pent_index60ccw(index_t h);
/// Rotation of a pentagon-based index cw, skipping the deleted k
/// subsequence.
index_t rotate_pent_index60cw(index_t h);

} // namespace courier::geo::detail
