#pragma once
/// \file
/// The 122 resolution-0 base cells: where each sits on the icosahedron,
/// which are pentagons, and how they neighbor each other. The numbers are
/// H3's published grid definition.

#include "geo/detail/coord_ijk.hpp"

namespace courier::geo::detail {

/// A face and ijk+ coordinates in that face's frame.
struct face_ijk {
  int face = 0;
  coord_ijk coord;
};

/// Static description of one base cell.
struct base_cell_info {
  face_ijk home;             ///< the face and res-0 coordinates it is defined on
  bool pentagon = false;     ///< one of the 12 pentagons
  int cw_offset_faces[2];    ///< faces whose k-subsequence entry rotates cw
};

/// Which base cell lies at a res-0 coordinate of a face, and the 60-degree
/// ccw rotations from that face's frame into the base cell's frame.
struct base_cell_orient {
  int base_cell;
  int ccw_rot60;
};

/// Number of base cells.
inline constexpr int base_cell_total = 122;
/// No neighbor in that direction (the deleted k axis of a pentagon).
inline constexpr int invalid_base_cell = 127;
/// Largest coordinate of a res-0 lookup on a face.
inline constexpr int max_face_coord = 2;

extern const base_cell_info base_cell_data[base_cell_total];
extern const int base_cell_neighbors[base_cell_total][digit_count];
extern const int base_cell_neighbor_rots[base_cell_total][digit_count];

/// Base cell and rotation at a res-0 coordinate (each component 0..2).
base_cell_orient face_ijk_to_base_cell(const face_ijk& f);

inline bool is_base_cell_pentagon(int bc) { return base_cell_data[bc].pentagon; }
/// Pentagons 4 and 117 have every neighbor oriented towards them.
inline bool is_base_cell_polar_pentagon(int bc) { return bc == 4 || bc == 117; }
inline bool base_cell_is_cw_offset(int bc, int face) {
  return base_cell_data[bc].cw_offset_faces[0] == face ||
         base_cell_data[bc].cw_offset_faces[1] == face;
}
/// Direction from one base cell to a neighboring one, or invalid_digit.
digit base_cell_direction(int origin_bc, int neighbor_bc);

} // namespace courier::geo::detail
