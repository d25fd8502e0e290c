#pragma once
/// \file
/// Stepping from a cell to its neighbor in a digit direction, tracking the
/// frame rotations picked up when crossing base cells and pentagons, and
/// unfolding a cell into an origin's local ijk+ frame.

#include "geo/detail/coord_ijk.hpp"
#include "geo/detail/index_bits.hpp"
#include "geo/status.hpp"

namespace courier::geo::detail {

/// Directions walked around a hexagonal ring, and the step to the next ring.
extern const digit ring_directions[6];
inline constexpr digit next_ring_direction = i_axes_digit;

/// The neighbor of `origin` in direction `dir` after rotating `dir` by
/// `rotations` (updated with the rotations of the neighbor's frame).
/// h3_status::pentagon when the step would enter a deleted k subsequence.
h3_status neighbor_rotations(index_t origin, digit dir, int& rotations, index_t& out);

/// ijk+ coordinates of `h` in the frame anchored at `origin`.
h3_status cell_to_local_ijk(index_t origin, index_t h, coord_ijk& out);

} // namespace courier::geo::detail
