#include "geo/distance.hpp"

#include "core/assert.hpp"
#include "geo/indexing.hpp"

#include <cmath>

namespace courier::geo {

double distance_m(lat_lng a, lat_lng b) noexcept {
  const double lat1 = degs_to_rads(a.lat_deg);
  const double lat2 = degs_to_rads(b.lat_deg);
  const double sin_dlat = std::sin((lat2 - lat1) / 2.0);
  const double sin_dlng = std::sin((degs_to_rads(b.lng_deg) - degs_to_rads(a.lng_deg)) / 2.0);
  const double h = sin_dlat * sin_dlat + std::cos(lat1) * std::cos(lat2) * sin_dlng * sin_dlng;
  // atan2 form stays accurate for antipodal and coincident points.
  return 2.0 * std::atan2(std::sqrt(h), std::sqrt(1.0 - h)) * earth_radius_m;
}

double eta_s(double dist_m, double speed_m_per_s) {
  COURIER_ASSERT(speed_m_per_s > 0.0);
  COURIER_ASSERT(dist_m >= 0.0);
  return dist_m / speed_m_per_s;
}

} // namespace courier::geo
