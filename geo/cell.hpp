#pragma once
/// \file
/// The H3 cell id and the coordinate type of the geo layer, plus inspection
/// of an index (validity, resolution, base cell, pentagon) and its string
/// form. H3 v4 semantics; bit-exact with the reference library.

#include "core/result.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace courier::geo {

/// Finest H3 resolution.
inline constexpr int res_max = 15;
/// Number of resolution-0 cells.
inline constexpr int base_cell_count = 122;

/// An H3 cell index. A strong type so a cell id is never confused with some
/// other 64-bit number; `bits()` is the raw H3 index.
class cell {
public:
  constexpr cell() = default;
  constexpr explicit cell(std::uint64_t bits) : bits_(bits) {}

  /// The raw 64-bit H3 index.
  constexpr std::uint64_t bits() const noexcept { return bits_; }

  friend constexpr bool operator==(cell a, cell b) { return a.bits_ == b.bits_; }
  friend constexpr bool operator!=(cell a, cell b) { return a.bits_ != b.bits_; }
  friend constexpr bool operator<(cell a, cell b) { return a.bits_ < b.bits_; }

private:
  std::uint64_t bits_ = 0;
};

/// The brief's spelling of the cell id type.
using cell_t = cell;

/// A point on the sphere in degrees (WGS84 lat/lng as H3 uses them).
struct lat_lng {
  double lat_deg = 0.0;
  double lng_deg = 0.0;
};

/// True if `h` is a valid H3 cell (mode, reserved bits, base cell, digits
/// and the deleted pentagon subsequence are all checked).
bool is_valid_cell(cell h) noexcept;

/// Resolution 0..15 of a cell (reads the bits; no validation).
int get_resolution(cell h) noexcept;

/// Base cell number 0..121 of a cell (reads the bits; no validation).
int get_base_cell_number(cell h) noexcept;

/// True if the cell is one of the 12 pentagons of its resolution.
bool is_pentagon(cell h) noexcept;

/// Lower-case hex without "0x" and without zero padding (H3's string form).
std::string cell_to_string(cell h);

/// Parses H3's string form. bad_request unless the text is 1..16 hex digits
/// naming a valid cell.
core::result<cell> string_to_cell(std::string_view text);

/// Parses 1..16 hex digits into a raw 64-bit index without checking it is
/// a cell (for tools that inspect invalid indexes). False on bad text.
bool parse_index_hex(std::string_view text, std::uint64_t& out) noexcept;

} // namespace courier::geo

template <>
struct std::hash<courier::geo::cell> {
  std::size_t operator()(courier::geo::cell h) const noexcept {
    return std::hash<std::uint64_t>{}(h.bits());
  }
};
