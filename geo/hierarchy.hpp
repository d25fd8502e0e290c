#pragma once
/// \file
/// Parent / children of a cell. A parent is a prefix of the digits, so
/// indexing at a fine resolution and taking the parent can give a different
/// cell than indexing at the coarse resolution directly (children are not
/// exactly inside their parent).

#include "geo/cell.hpp"

#include <cstddef>
#include <vector>

namespace courier::geo {

/// Most children one call may return (7^7, about 6.6 MB of ids).
inline constexpr std::size_t children_count_max = 823543;

/// Ancestor of `h` at `parent_res` (h itself at its own resolution).
/// bad_request for an invalid cell, a resolution outside 0..15 or finer
/// than the cell's.
core::result<cell> cell_to_parent(cell h, int parent_res);

/// The child at `child_res` sharing the cell's center.
core::result<cell> cell_to_center_child(cell h, int child_res);

/// All descendants at `child_res`, in increasing id order (7 per level,
/// 6 below a pentagon's center). bad_request past children_count_max.
core::result<std::vector<cell>> cell_to_children(cell h, int child_res);

} // namespace courier::geo
