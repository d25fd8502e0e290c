#pragma once
/// \file
/// Great-circle distance and a simple travel-time estimate, for ranking
/// riders before a routing engine is involved.

#include "geo/cell.hpp"

namespace courier::geo {

/// Mean earth radius used for distances (H3's authalic radius), metres.
inline constexpr double earth_radius_m = 6371007.180918475;

/// Default rider speed: 15 km/h, a scooter or bicycle in city traffic
/// including stops, in metres per second.
inline constexpr double default_rider_speed_m_per_s = 15.0 / 3.6;

/// Haversine great-circle distance between two points, metres.
double distance_m(lat_lng a, lat_lng b) noexcept;

/// Seconds to cover `dist_m` at `speed_m_per_s` (both must be positive or
/// zero distance; asserts on a non-positive speed).
double eta_s(double dist_m, double speed_m_per_s = default_rider_speed_m_per_s);

} // namespace courier::geo
