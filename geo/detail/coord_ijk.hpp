#pragma once
/// \file
/// ijk+ hexagon coordinates (three axes 120 degrees apart, normalized so no
/// component is negative and at least one is zero), the aperture-7 and
/// aperture-3 steps between resolutions, and the planar hex2d frame.

#include "geo/detail/index_bits.hpp"

namespace courier::geo::detail {

/// Hexagon coordinates on one icosahedron face.
struct coord_ijk {
  int i = 0;
  int j = 0;
  int k = 0;

  friend bool operator==(const coord_ijk& a, const coord_ijk& b) {
    return a.i == b.i && a.j == b.j && a.k == b.k;
  }
};

/// A point in a face's planar frame (x along the face's i axis), in units
/// of the cell spacing of some resolution.
struct vec2 {
  double x = 0.0;
  double y = 0.0;
};

/// Unit vector of each digit.
extern const coord_ijk unit_vecs[digit_count];

inline coord_ijk ijk_add(coord_ijk a, coord_ijk b) { return {a.i + b.i, a.j + b.j, a.k + b.k}; }
inline coord_ijk ijk_sub(coord_ijk a, coord_ijk b) { return {a.i - b.i, a.j - b.j, a.k - b.k}; }
inline coord_ijk ijk_scale(coord_ijk c, int f) { return {c.i * f, c.j * f, c.k * f}; }

/// Brings coordinates to canonical ijk+ form.
void ijk_normalize(coord_ijk& c);
/// The digit of a unit vector, or invalid_digit.
digit unit_ijk_to_digit(coord_ijk c);
/// Moves one step in direction `d` (no-op for center/invalid).
void ijk_neighbor(coord_ijk& c, digit d);
/// Rotations by 60 degrees.
void ijk_rotate60ccw(coord_ijk& c);
void ijk_rotate60cw(coord_ijk& c);
/// Parent coordinates one resolution coarser (Class III child / Class II child).
void up_ap7(coord_ijk& c);
void up_ap7r(coord_ijk& c);
/// Center-child coordinates one resolution finer (ccw / cw aperture 7).
void down_ap7(coord_ijk& c);
void down_ap7r(coord_ijk& c);
/// Aperture-3 substrate steps used to reach cell vertices.
void down_ap3(coord_ijk& c);
void down_ap3r(coord_ijk& c);
/// Grid distance between two coordinates of the same frame.
int ijk_distance(coord_ijk a, coord_ijk b);

/// Cell center of `c` in the planar frame.
vec2 ijk_to_hex2d(coord_ijk c);
/// The cell containing a planar point (DGGRID quantization).
coord_ijk hex2d_to_ijk(vec2 v);

} // namespace courier::geo::detail
