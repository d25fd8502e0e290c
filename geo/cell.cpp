#include "geo/cell.hpp"

#include "geo/detail/base_cells.hpp"
#include "geo/detail/index_bits.hpp"

namespace courier::geo {

using namespace detail;

namespace {
constexpr std::size_t hex_digits_max = 16;

// Digits 1..res are directions; a pentagon's first non-zero digit may not
// be k (that subsequence is deleted).
bool digits_valid(index_t h, int res, int bc) {
  bool found_first_non_zero = false;
  for (int r = 1; r <= res; ++r) {
    const digit d = get_digit(h, r);
    if (!found_first_non_zero && d != center_digit) {
      found_first_non_zero = true;
      if (is_base_cell_pentagon(bc) && d == k_axes_digit)
        return false;
    }
    if (d >= digit_count)
      return false;
  }
  for (int r = res + 1; r <= res_max; ++r) {
    if (get_digit(h, r) != invalid_digit)
      return false;
  }
  return true;
}
} // namespace

bool is_valid_cell(cell c) noexcept {
  const index_t h = c.bits();
  if (get_high_bit(h) != 0 || get_mode(h) != cell_mode || get_reserved(h) != 0)
    return false;
  const int bc = get_base_cell(h);
  if (bc >= base_cell_count)
    return false;
  return digits_valid(h, get_res(h), bc);
}

int get_resolution(cell c) noexcept { return get_res(c.bits()); }

int get_base_cell_number(cell c) noexcept { return get_base_cell(c.bits()); }

bool is_pentagon(cell c) noexcept {
  const int bc = get_base_cell(c.bits());
  return bc < base_cell_count && is_base_cell_pentagon(bc) &&
         leading_non_zero_digit(c.bits()) == center_digit;
}

std::string cell_to_string(cell c) {
  static constexpr char hex[] = "0123456789abcdef";
  char buf[hex_digits_max];
  std::size_t n = 0;
  std::uint64_t v = c.bits();
  do {
    buf[hex_digits_max - 1 - n++] = hex[v & 15];
    v >>= 4;
  } while (v != 0);
  return std::string(buf + hex_digits_max - n, n);
}

bool parse_index_hex(std::string_view text, std::uint64_t& out) noexcept {
  if (text.empty() || text.size() > hex_digits_max)
    return false;
  std::uint64_t v = 0;
  for (char ch : text) {
    int d;
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      d = ch - 'A' + 10;
    else
      return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

core::result<cell> string_to_cell(std::string_view text) {
  std::uint64_t bits = 0;
  if (!parse_index_hex(text, bits))
    return core::make_error(core::errc::bad_request, "not an H3 index: expected 1-16 hex digits");
  const cell c{bits};
  if (!is_valid_cell(c))
    return core::make_error(core::errc::bad_request, "not a valid H3 cell");
  return c;
}

} // namespace courier::geo
