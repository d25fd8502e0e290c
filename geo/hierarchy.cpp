#include "geo/hierarchy.hpp"

#include "geo/detail/index_bits.hpp"
#include "geo/status.hpp"

namespace courier::geo {

using namespace detail;

namespace {
// Checks a cell and a target resolution on the coarser (parent) or finer
// (child) side of it.
enum class side { coarser, finer };

h3_status check_target(cell h, int res, side s) {
  if (!is_valid_cell(h))
    return h3_status::cell_invalid;
  if (res < 0 || res > res_max)
    return h3_status::res_domain;
  const int own = get_resolution(h);
  if ((s == side::coarser && res > own) || (s == side::finer && res < own))
    return h3_status::res_mismatch;
  return h3_status::success;
}

// Number of children of a hexagon (7^levels) capped just past the limit.
std::size_t child_count_bound(int levels) {
  std::size_t n = 1;
  for (int i = 0; i < levels && n <= children_count_max; ++i)
    n *= 7;
  return n;
}
} // namespace

core::result<cell> cell_to_parent(cell h, int parent_res) {
  const h3_status st = check_target(h, parent_res, side::coarser);
  if (st != h3_status::success)
    return to_core_error(st, "cell_to_parent");
  index_t p = set_res(h.bits(), parent_res);
  for (int r = parent_res + 1; r <= get_resolution(h); ++r)
    p = set_digit(p, r, invalid_digit);
  return cell{p};
}

core::result<cell> cell_to_center_child(cell h, int child_res) {
  const h3_status st = check_target(h, child_res, side::finer);
  if (st != h3_status::success)
    return to_core_error(st, "cell_to_center_child");
  index_t c = set_res(h.bits(), child_res);
  for (int r = get_resolution(h) + 1; r <= child_res; ++r)
    c = set_digit(c, r, center_digit);
  return cell{c};
}

core::result<std::vector<cell>> cell_to_children(cell h, int child_res) {
  const h3_status st = check_target(h, child_res, side::finer);
  if (st != h3_status::success)
    return to_core_error(st, "cell_to_children");
  const int res = get_resolution(h);
  const int levels = child_res - res;
  if (child_count_bound(levels) > children_count_max)
    return to_core_error(h3_status::memory_bounds, "cell_to_children: too many children");

  const bool pentagon = is_pentagon(h);
  std::vector<cell> out;
  out.reserve(child_count_bound(levels));
  // Count through the new digits in base 7, most significant first, so the
  // ids come out sorted.
  const index_t first = cell_to_center_child(h, child_res)->bits();
  std::vector<int> digits(static_cast<std::size_t>(levels), 0);
  for (;;) {
    index_t c = first;
    int leading = center_digit;
    for (int l = 0; l < levels; ++l) {
      c = set_digit(c, res + 1 + l, digits[static_cast<std::size_t>(l)]);
      if (leading == center_digit)
        leading = digits[static_cast<std::size_t>(l)];
    }
    // Below a pentagon the k subsequence does not exist.
    if (!(pentagon && leading == k_axes_digit))
      out.push_back(cell{c});
    int l = levels - 1;
    while (l >= 0 && ++digits[static_cast<std::size_t>(l)] == digit_count)
      digits[static_cast<std::size_t>(l--)] = 0;
    if (l < 0)
      break;
  }
  return out;
}

} // namespace courier::geo
