#pragma once
/// \file
/// The projection between the sphere and the icosahedron faces: each face
/// carries a gnomonic plane in which cells are hexagons of the ijk+ grid.
/// Also the "overage" step that moves coordinates that ran off a face onto
/// the neighboring face.

#include "geo/detail/base_cells.hpp"
#include "geo/detail/constants.hpp"
#include "geo/detail/coord_ijk.hpp"

#include <vector>

namespace courier::geo::detail {

/// Latitude and longitude in radians.
struct geo_rad {
  double lat = 0.0;
  double lng = 0.0;
};

/// A point in 3D (unit sphere).
struct vec3 {
  double x = 0.0;
  double y = 0.0;
  double z = 0.0;
};

/// Orientation of a neighboring face relative to a face.
struct face_orient {
  int face;
  coord_ijk translate;
  int ccw_rot60;
};

/// Quadrants of a face, indexing face_neighbors.
enum quadrant : int { quadrant_center = 0, quadrant_ij = 1, quadrant_ki = 2, quadrant_jk = 3 };

/// Result of moving coordinates that may have left their face.
enum class overage { none, face_edge, new_face };

extern const vec3 face_center_point[face_count];
extern const double face_i_axis_az_rads[face_count];
extern const face_orient face_neighbors[face_count][4];

/// Quadrant of face `from` that borders face `to`, or -1 if not adjacent.
int adjacent_face_dir(int from, int to);
/// Largest coordinate sum on a face at a Class II resolution.
int max_dim_class2(int res);
/// Res-0 unit in cells of a Class II resolution (7^(res/2)).
int unit_scale_class2(int res);

inline bool is_class3(int res) { return (res % 2) != 0; }

/// The cell containing a point at resolution `res`.
face_ijk geo_to_face_ijk(geo_rad g, int res);
/// Center of a cell given on a face.
geo_rad face_ijk_to_geo(const face_ijk& h, int res);
/// A planar point of a face back to the sphere. `substrate` marks points of
/// the aperture-3 vertex grid (scaled by 3, already Class III-rotated).
geo_rad hex2d_to_geo(vec2 v, int face, int res, bool substrate);

/// Moves Class II coordinates onto the neighboring face if they ran off
/// theirs. `pent_leading4` applies the pentagon's missing-k correction.
overage adjust_overage_class2(face_ijk& f, int res, bool pent_leading4, bool substrate);
/// Repeats the overage step for pentagon vertices until stable.
overage adjust_pent_vert_overage(face_ijk& f, int res);

/// Cell boundary on the sphere, vertices counter-clockwise, including the
/// extra vertices where Class III edges cross icosahedron edges.
std::vector<geo_rad> face_ijk_to_boundary(const face_ijk& h, int res);
/// Same for a pentagon.
std::vector<geo_rad> face_ijk_pent_to_boundary(const face_ijk& h, int res);

} // namespace courier::geo::detail
