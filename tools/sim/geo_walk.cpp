#include "tools/sim/geo_walk.hpp"

#include <cmath>

namespace courier::sim {
namespace {
constexpr double pi = 3.14159265358979323846;
constexpr double deg = pi / 180.0;
/// Metres per degree of latitude on the sphere geo/ uses.
constexpr double m_per_deg_lat = geo::earth_radius_m * deg;
} // namespace

double distance_m(point a, point b) noexcept {
  return geo::distance_m(geo::lat_lng{a.lat, a.lng}, geo::lat_lng{b.lat, b.lng});
}

point offset(point from, double bearing, double dist_m) noexcept {
  double north = dist_m * std::cos(bearing * deg);
  double east = dist_m * std::sin(bearing * deg);
  double lat = from.lat + north / m_per_deg_lat;
  double lng = from.lng + east / (m_per_deg_lat * std::cos(from.lat * deg));
  return point{lat, lng};
}

double bearing_deg(point a, point b) noexcept {
  double north = (b.lat - a.lat) * m_per_deg_lat;
  double east = (b.lng - a.lng) * m_per_deg_lat * std::cos(a.lat * deg);
  double x = std::atan2(east, north) / deg;
  if (x < 0)
    x += 360.0;
  return x >= 360.0 ? 0.0 : x;
}

point move_toward(point from, point to, double step_m) noexcept {
  double d = distance_m(from, to);
  if (d <= step_m || d <= 0.0)
    return to;
  double f = step_m / d;
  // Interpolating in degrees is fine at city scale (< 0.1% error over 10 km).
  return point{from.lat + (to.lat - from.lat) * f, from.lng + (to.lng - from.lng) * f};
}

point random_point_in_disc(point center, double radius_m, rng_t& rng) {
  double r = radius_m * std::sqrt(uniform(rng, 0.0, 1.0));
  return offset(center, uniform(rng, 0.0, 360.0), r);
}

double uniform(rng_t& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

bool chance(rng_t& rng, double p) {
  return uniform(rng, 0.0, 1.0) < p;
}

} // namespace courier::sim
