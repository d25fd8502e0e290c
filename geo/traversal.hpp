#pragma once
/// \file
/// Grid traversal: the cells within k steps of a cell (gridDisk) and the
/// number of steps between two cells (gridDistance), pentagons included.

#include "geo/cell.hpp"
#include "geo/status.hpp"

#include <cstdint>
#include <vector>

namespace courier::geo {

/// Largest k accepted by grid_disk (3k(k+1)+1 = 30,301 cells).
inline constexpr int grid_disk_k_max = 100;

/// All cells within `k` grid steps of `origin` (origin included), in no
/// particular order. Walks hexagonal rings when no pentagon is near and
/// falls back to a breadth-first search when one is. bad_request for an
/// invalid cell or k outside 0..grid_disk_k_max.
core::result<std::vector<cell>> grid_disk(cell origin, int k);

/// Same, grouped by distance: element d holds the cells exactly d steps
/// away.
core::result<std::vector<std::vector<cell>>> grid_disk_distances(cell origin, int k);

/// Grid steps between two cells of one resolution. Fails (bad_request with
/// H3's reason) for different resolutions, cells too far apart to unfold
/// into one frame, or pentagon distortion between them.
core::result<std::int64_t> grid_distance(cell a, cell b);

/// grid_distance with H3's status (for tools and the golden checker).
h3_status grid_distance_status(cell a, cell b, std::int64_t& out) noexcept;

} // namespace courier::geo
