#include "geo/detail/face_ijk.hpp"

#include <array>
#include <cmath>

namespace courier::geo::detail {

int adjacent_face_dir(int from, int to) {
  if (from == to)
    return quadrant_center;
  for (int q = quadrant_ij; q <= quadrant_jk; ++q) {
    if (face_neighbors[from][q].face == to)
      return q;
  }
  return -1;
}

int unit_scale_class2(int res) {
  int scale = 1;
  for (int r = 0; r + 2 <= res; r += 2)
    scale *= 7;
  return scale;
}

int max_dim_class2(int res) { return 2 * unit_scale_class2(res); }

namespace {

vec3 to_vec3(geo_rad g) {
  const double r = std::cos(g.lat);
  return {std::cos(g.lng) * r, std::sin(g.lng) * r, std::sin(g.lat)};
}

geo_rad to_geo(vec3 v) { return {std::asin(v.z), std::atan2(v.y, v.x)}; }

// s1 * a + s2 * b, component by component.
vec3 lin_comb(double s1, vec3 a, double s2, vec3 b) {
  return {s1 * a.x + s2 * b.x, s1 * a.y + s2 * b.y, s1 * a.z + s2 * b.z};
}

double dot(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

vec3 cross(vec3 a, vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

void normalize(vec3& v) {
  const double norm = std::sqrt(dot(v, v));
  if (norm == 0.0)
    return;
  const double inv = 1.0 / norm;
  v.x *= inv;
  v.y *= inv;
  v.z *= inv;
}

// Local north and east unit vectors of the tangent plane at p (p is a face
// center, never a pole).
void tangent_basis(vec3 p, vec3& north, vec3& east) {
  const vec3 north_pole{0.0, 0.0, 1.0};
  north = lin_comb(1.0, north_pole, -dot(north_pole, p), p);
  normalize(north);
  east = cross(north, p);
}

struct face_basis {
  vec3 north;
  vec3 east;
};

// Tangent bases of the face centers, computed once with the same code (so
// the values are identical to computing them per call).
const face_basis& basis_of_face(int face) {
  static const auto bases = [] {
    std::array<face_basis, face_count> b{};
    for (int f = 0; f < face_count; ++f)
      tangent_basis(face_center_point[f], b[static_cast<std::size_t>(f)].north,
                    b[static_cast<std::size_t>(f)].east);
    return b;
  }();
  return bases[static_cast<std::size_t>(face)];
}

// Azimuth from a face center to p, measured in the tangent plane there.
double azimuth_from_face_rads(int face, vec3 p2) {
  const vec3& p1 = face_center_point[face];
  const face_basis& b = basis_of_face(face);
  const vec3& north = b.north;
  const vec3& east = b.east;
  vec3 proj = lin_comb(1.0, p2, -dot(p2, p1), p1);
  normalize(proj);
  return std::atan2(dot(proj, east), dot(proj, north));
}

// The face whose center is nearest, and the squared chord distance to it.
int closest_face(vec3 p, double& sqd) {
  int face = 0;
  sqd = 5.0; // above the largest possible squared chord (4)
  for (int f = 0; f < face_count; ++f) {
    const vec3 d = lin_comb(1.0, face_center_point[f], -1.0, p);
    const double dist = dot(d, d);
    if (dist < sqd) {
      face = f;
      sqd = dist;
    }
  }
  return face;
}

} // namespace

face_ijk geo_to_face_ijk(geo_rad g, int res) {
  const vec3 p = to_vec3(g);
  face_ijk out;
  double sqd = 0.0;
  out.face = closest_face(p, sqd);
  // cos(r) = 1 - 2 sin^2(r / 2) = 1 - sqd / 2
  double r = std::acos(1 - sqd * 0.5);
  if (r < epsilon)
    return out;
  double theta = pos_angle_rads(face_i_axis_az_rads[out.face] -
                                pos_angle_rads(azimuth_from_face_rads(out.face, p)));
  if (is_class3(res))
    theta = pos_angle_rads(theta - ap7_rot_rads);
  r = std::tan(r); // gnomonic scaling
  r *= inv_res0_u_gnomonic;
  for (int i = 0; i < res; ++i)
    r *= sqrt7;
  out.coord = hex2d_to_ijk({r * std::cos(theta), r * std::sin(theta)});
  return out;
}

geo_rad hex2d_to_geo(vec2 v, int face, int res, bool substrate) {
  const vec3& center = face_center_point[face];
  double r = std::sqrt(v.x * v.x + v.y * v.y);
  if (r < epsilon)
    return to_geo(center);
  double theta = std::atan2(v.y, v.x);
  for (int i = 0; i < res; ++i)
    r *= rsqrt7;
  if (substrate) {
    r *= one_third;
    if (is_class3(res))
      r *= rsqrt7;
  }
  r *= res0_u_gnomonic;
  r = std::atan(r); // inverse gnomonic scaling
  // A substrate grid is already rotated for Class III.
  if (!substrate && is_class3(res))
    theta = pos_angle_rads(theta + ap7_rot_rads);
  theta = pos_angle_rads(face_i_axis_az_rads[face] - theta);
  // Walk r radians from the face center along azimuth theta.
  const face_basis& b = basis_of_face(face);
  const vec3 dir = lin_comb(std::cos(theta), b.north, std::sin(theta), b.east);
  vec3 p = lin_comb(std::cos(r), center, std::sin(r), dir);
  normalize(p);
  return to_geo(p);
}

geo_rad face_ijk_to_geo(const face_ijk& h, int res) {
  return hex2d_to_geo(ijk_to_hex2d(h.coord), h.face, res, false);
}

overage adjust_overage_class2(face_ijk& f, int res, bool pent_leading4, bool substrate) {
  coord_ijk& ijk = f.coord;
  int max_dim = max_dim_class2(res);
  if (substrate)
    max_dim *= 3;
  const int sum = ijk.i + ijk.j + ijk.k;
  if (substrate && sum == max_dim)
    return overage::face_edge;
  if (sum <= max_dim)
    return overage::none;

  const face_orient* orient;
  if (ijk.k > 0) {
    if (ijk.j > 0) {
      orient = &face_neighbors[f.face][quadrant_jk];
    } else {
      orient = &face_neighbors[f.face][quadrant_ki];
      if (pent_leading4) {
        // Rotate about the face corner to undo the pentagon's missing k.
        const coord_ijk origin{max_dim, 0, 0};
        coord_ijk tmp = ijk_sub(ijk, origin);
        ijk_rotate60cw(tmp);
        ijk = ijk_add(tmp, origin);
      }
    }
  } else {
    orient = &face_neighbors[f.face][quadrant_ij];
  }
  f.face = orient->face;
  for (int i = 0; i < orient->ccw_rot60; ++i)
    ijk_rotate60ccw(ijk);
  int unit_scale = unit_scale_class2(res);
  if (substrate)
    unit_scale *= 3;
  ijk = ijk_add(ijk, ijk_scale(orient->translate, unit_scale));
  ijk_normalize(ijk);
  if (substrate && ijk.i + ijk.j + ijk.k == max_dim)
    return overage::face_edge;
  return overage::new_face;
}

overage adjust_pent_vert_overage(face_ijk& f, int res) {
  overage o;
  do {
    o = adjust_overage_class2(f, res, false, true);
  } while (o == overage::new_face);
  return o;
}

} // namespace courier::geo::detail
