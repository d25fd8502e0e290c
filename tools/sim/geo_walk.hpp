#pragma once
/// \file
/// Small-distance point math for moving simulated riders: offsets by bearing,
/// steps toward a target, uniform points in a disc. Uses geo::distance_m
/// (haversine) for distances; moves use a local equirectangular frame, which
/// is exact to well under a metre over the few kilometres a city spans.

#include "geo/distance.hpp"

#include <random>

namespace courier::sim {

/// The sim's one random generator type (seeded, so every run replays).
using rng_t = std::mt19937_64;

/// A point in degrees (the sim's own, so call sites read lat/lng).
struct point {
  double lat = 0.0;
  double lng = 0.0;
};

/// Great-circle distance between `a` and `b`, metres.
double distance_m(point a, point b) noexcept;

/// The point `dist_m` from `from` along `bearing_deg` (0 = north, 90 = east).
point offset(point from, double bearing_deg, double dist_m) noexcept;

/// Initial bearing from `a` to `b`, degrees in [0, 360).
double bearing_deg(point a, point b) noexcept;

/// Moves from `from` toward `to` by at most `step_m`; returns `to` exactly
/// when it is within reach, so arrival is detectable by equality.
point move_toward(point from, point to, double step_m) noexcept;

/// A point uniformly distributed in the disc of `radius_m` around `center`.
point random_point_in_disc(point center, double radius_m, rng_t& rng);

/// Uniform real in [lo, hi).
double uniform(rng_t& rng, double lo, double hi);

/// True with probability `p`.
bool chance(rng_t& rng, double p);

} // namespace courier::sim
