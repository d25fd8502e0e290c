#pragma once
/// \file
/// Point <-> cell: which cell contains a point, a cell's center and its
/// boundary. Bit-exact with H3 v4 (h3-js 4.5.0) for cell ids; coordinates
/// match to the last ulp or two (glibc vs V8 trigonometry), which near the
/// poles the lat/lng conversion amplifies to ~1e-7 degrees of longitude.

#include "geo/cell.hpp"
#include "geo/status.hpp"

#include <vector>

namespace courier::geo {

/// Degrees to radians exactly as h3-js does: (deg * pi) / 180.
double degs_to_rads(double deg) noexcept;
/// Radians to degrees exactly as h3-js does: (rad * 180) / pi.
double rads_to_degs(double rad) noexcept;

/// The cell at resolution `res` containing the point. bad_request for a
/// non-finite coordinate or a resolution outside 0..15. Longitudes outside
/// [-180, 180] wrap; latitudes are used as given (as H3 does).
core::result<cell> lat_lng_to_cell(double lat_deg, double lng_deg, int res);

/// Same, reporting H3's status (for tools and the golden checker).
h3_status lat_lng_to_cell_status(double lat_deg, double lng_deg, int res, cell& out) noexcept;

/// Center of a cell. bad_request for an invalid cell.
core::result<lat_lng> cell_to_lat_lng(cell h);

/// Boundary vertices of a cell, counter-clockwise: 6 for a hexagon, 5 for
/// a pentagon, up to 10 where edges cross icosahedron edges. bad_request
/// for an invalid cell.
core::result<std::vector<lat_lng>> cell_to_boundary(cell h);

} // namespace courier::geo
