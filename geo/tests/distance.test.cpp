#include "geo/h3.hpp"

#include <doctest/doctest.h>

using namespace courier::geo;

TEST_CASE("haversine_distance_gangnam_to_seoul_station_is_about_8_km") {
  const lat_lng gangnam{37.4979, 127.0276};
  const lat_lng seoul_station{37.5547, 126.9707};
  const double d = distance_m(gangnam, seoul_station);
  CHECK(d > 7900.0);
  CHECK(d < 8200.0);
  CHECK(distance_m(gangnam, gangnam) == 0.0);
}

TEST_CASE("eta_uses_the_default_rider_speed") {
  CHECK(eta_s(1500.0) == doctest::Approx(360.0));
  CHECK(eta_s(100.0, 10.0) == doctest::Approx(10.0));
}
