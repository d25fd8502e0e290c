// Cell boundaries: vertices come from an aperture-3 "substrate" grid in
// which every cell vertex is a cell center; Class III edges that cross an
// icosahedron edge get an extra vertex at the crossing so each half can be
// projected with its own face.
#include "geo/detail/face_ijk.hpp"

#include <cfloat>
#include <cmath>

namespace courier::geo::detail {

namespace {

constexpr int hex_vert_count = 6;
constexpr int pent_vert_count = 5;

// Vertices of an origin-centered cell on the substrate grid, ccw from the
// i axis: Class II (aperture 3, 3r) and Class III (aperture 3, 3r, 7r).
const coord_ijk verts_class2[hex_vert_count] = {
    {2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {0, 1, 2}, {1, 0, 2}, {2, 0, 1}};
const coord_ijk verts_class3[hex_vert_count] = {
    {5, 4, 0}, {1, 5, 0}, {0, 5, 4}, {0, 1, 5}, {4, 0, 5}, {5, 0, 1}};

// Substrate coordinates of the first `count` vertices of the cell at
// `center`; `res` becomes the substrate's Class II resolution.
void face_ijk_to_verts(face_ijk center, int& res, face_ijk* verts, int count) {
  const coord_ijk* table = is_class3(res) ? verts_class3 : verts_class2;
  down_ap3(center.coord);
  down_ap3r(center.coord);
  if (is_class3(res)) {
    down_ap7r(center.coord);
    res += 1;
  }
  for (int v = 0; v < count; ++v) {
    verts[v].face = center.face;
    verts[v].coord = ijk_add(center.coord, table[v]);
    ijk_normalize(verts[v].coord);
  }
}

// Intersection of line p0-p1 with line p2-p3.
vec2 intersect(vec2 p0, vec2 p1, vec2 p2, vec2 p3) {
  const vec2 s1{p1.x - p0.x, p1.y - p0.y};
  const vec2 s2{p3.x - p2.x, p3.y - p2.y};
  const double t =
      (s2.x * (p0.y - p2.y) - s2.y * (p0.x - p2.x)) / (-s2.x * s1.y + s1.x * s2.y);
  return {p0.x + (t * s1.x), p0.y + (t * s1.y)};
}

bool almost_equal(vec2 a, vec2 b) {
  return std::fabs(a.x - b.x) < FLT_EPSILON && std::fabs(a.y - b.y) < FLT_EPSILON;
}

// The icosahedron edge of a face (in substrate units) on quadrant `q`.
void face_edge(int q, int max_dim, vec2& e0, vec2& e1) {
  const vec2 v0{3.0 * max_dim, 0.0};
  const vec2 v1{-1.5 * max_dim, 3.0 * sqrt3_2 * max_dim};
  const vec2 v2{-1.5 * max_dim, -3.0 * sqrt3_2 * max_dim};
  if (q == quadrant_ij) {
    e0 = v0;
    e1 = v1;
  } else if (q == quadrant_jk) {
    e0 = v1;
    e1 = v2;
  } else {
    e0 = v2;
    e1 = v0;
  }
}

geo_rad substrate_to_geo(const face_ijk& f, int adj_res) {
  return hex2d_to_geo(ijk_to_hex2d(f.coord), f.face, adj_res, true);
}

} // namespace

std::vector<geo_rad> face_ijk_to_boundary(const face_ijk& h, int res) {
  int adj_res = res;
  face_ijk verts[hex_vert_count];
  face_ijk_to_verts(h, adj_res, verts, hex_vert_count);

  std::vector<geo_rad> out;
  out.reserve(2 * hex_vert_count);
  int last_face = -1;
  overage last_overage = overage::none;
  // One extra pass tests the closing edge for a crossing.
  for (int vert = 0; vert <= hex_vert_count; ++vert) {
    const int v = vert % hex_vert_count;
    face_ijk f = verts[v];
    const overage o = adjust_overage_class2(f, adj_res, false, true);
    if (is_class3(res) && vert > 0 && f.face != last_face && last_overage != overage::face_edge) {
      const int last_v = (v + hex_vert_count - 1) % hex_vert_count;
      const vec2 orig0 = ijk_to_hex2d(verts[last_v].coord);
      const vec2 orig1 = ijk_to_hex2d(verts[v].coord);
      const int face2 = (last_face == h.face) ? f.face : last_face;
      vec2 e0;
      vec2 e1;
      face_edge(adjacent_face_dir(h.face, face2), max_dim_class2(adj_res), e0, e1);
      const vec2 inter = intersect(orig0, orig1, e0, e1);
      // A crossing exactly at a vertex needs no extra point.
      if (!almost_equal(orig0, inter) && !almost_equal(orig1, inter))
        out.push_back(hex2d_to_geo(inter, h.face, adj_res, true));
    }
    if (vert < hex_vert_count)
      out.push_back(substrate_to_geo(f, adj_res));
    last_face = f.face;
    last_overage = o;
  }
  return out;
}

std::vector<geo_rad> face_ijk_pent_to_boundary(const face_ijk& h, int res) {
  int adj_res = res;
  face_ijk verts[pent_vert_count];
  face_ijk_to_verts(h, adj_res, verts, pent_vert_count);

  std::vector<geo_rad> out;
  out.reserve(2 * pent_vert_count);
  face_ijk last;
  for (int vert = 0; vert <= pent_vert_count; ++vert) {
    const int v = vert % pent_vert_count;
    face_ijk f = verts[v];
    adjust_pent_vert_overage(f, adj_res);
    // Every Class III pentagon edge crosses an icosahedron edge.
    if (is_class3(res) && vert > 0) {
      const vec2 orig0 = ijk_to_hex2d(last.coord);
      const face_orient& orient = face_neighbors[f.face][adjacent_face_dir(f.face, last.face)];
      face_ijk tmp{orient.face, f.coord};
      for (int i = 0; i < orient.ccw_rot60; ++i)
        ijk_rotate60ccw(tmp.coord);
      tmp.coord = ijk_add(tmp.coord, ijk_scale(orient.translate, unit_scale_class2(adj_res) * 3));
      ijk_normalize(tmp.coord);
      const vec2 orig1 = ijk_to_hex2d(tmp.coord);
      vec2 e0;
      vec2 e1;
      face_edge(adjacent_face_dir(tmp.face, f.face), max_dim_class2(adj_res), e0, e1);
      out.push_back(hex2d_to_geo(intersect(orig0, orig1, e0, e1), tmp.face, adj_res, true));
    }
    if (vert < pent_vert_count)
      out.push_back(substrate_to_geo(f, adj_res));
    last = f;
  }
  return out;
}

} // namespace courier::geo::detail
