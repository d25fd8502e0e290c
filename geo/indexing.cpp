#include "geo/indexing.hpp"

#include "geo/detail/index_faceijk.hpp"

#include <cmath>

namespace courier::geo {

using namespace detail;

double degs_to_rads(double deg) noexcept { return (deg * M_PI) / 180.0; }
double rads_to_degs(double rad) noexcept { return (rad * 180.0) / M_PI; }

namespace {
lat_lng to_degrees(geo_rad g) { return {rads_to_degs(g.lat), rads_to_degs(g.lng)}; }
} // namespace

h3_status lat_lng_to_cell_status(double lat_deg, double lng_deg, int res, cell& out) noexcept {
  if (res < 0 || res > res_max)
    return h3_status::res_domain;
  if (!std::isfinite(lat_deg) || !std::isfinite(lng_deg))
    return h3_status::latlng_domain;
  const geo_rad g{degs_to_rads(lat_deg), degs_to_rads(lng_deg)};
  const index_t h = face_ijk_to_index(geo_to_face_ijk(g, res), res);
  if (h == 0)
    return h3_status::failed;
  out = cell{h};
  return h3_status::success;
}

core::result<cell> lat_lng_to_cell(double lat_deg, double lng_deg, int res) {
  cell out;
  const h3_status st = lat_lng_to_cell_status(lat_deg, lng_deg, res, out);
  if (st != h3_status::success)
    return to_core_error(st, "lat_lng_to_cell");
  return out;
}

core::result<lat_lng> cell_to_lat_lng(cell h) {
  if (!is_valid_cell(h))
    return to_core_error(h3_status::cell_invalid, "cell_to_lat_lng");
  const face_ijk f = index_to_face_ijk(h.bits());
  return to_degrees(face_ijk_to_geo(f, get_resolution(h)));
}

core::result<std::vector<lat_lng>> cell_to_boundary(cell h) {
  if (!is_valid_cell(h))
    return to_core_error(h3_status::cell_invalid, "cell_to_boundary");
  const face_ijk f = index_to_face_ijk(h.bits());
  const int res = get_resolution(h);
  const std::vector<geo_rad> verts =
      is_pentagon(h) ? face_ijk_pent_to_boundary(f, res) : face_ijk_to_boundary(f, res);
  std::vector<lat_lng> out;
  out.reserve(verts.size());
  for (const geo_rad& v : verts)
    out.push_back(to_degrees(v));
  return out;
}

} // namespace courier::geo
