#include "geo/h3.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace courier::geo;

namespace {
// Gangnam station, the centre of the Seoul hot spot.
constexpr double gangnam_lat_deg = 37.4979;
constexpr double gangnam_lng_deg = 127.0276;
} // namespace

TEST_CASE("gangnam_indexes_to_known_cells_at_res_7_8_9") {
  // Values from h3-js 4.5.0 (latLngToCell).
  CHECK(cell_to_string(*lat_lng_to_cell(gangnam_lat_deg, gangnam_lng_deg, 7)) == "8730e1ca2ffffff");
  CHECK(cell_to_string(*lat_lng_to_cell(gangnam_lat_deg, gangnam_lng_deg, 8)) == "8830e1ca2bfffff");
  CHECK(cell_to_string(*lat_lng_to_cell(gangnam_lat_deg, gangnam_lng_deg, 9)) == "8930e1ca2bbffff");
}

TEST_CASE("lat_lng_to_cell_rejects_bad_resolution_and_non_finite_input") {
  CHECK_FALSE(lat_lng_to_cell(0.0, 0.0, -1).ok());
  CHECK_FALSE(lat_lng_to_cell(0.0, 0.0, 16).ok());
  CHECK_FALSE(lat_lng_to_cell(NAN, 0.0, 5).ok());
  CHECK_FALSE(lat_lng_to_cell(0.0, INFINITY, 5).ok());
  CHECK(lat_lng_to_cell(0.0, INFINITY, 5).err().code == courier::core::errc::bad_request);
}

TEST_CASE("cell_string_round_trips_in_lower_case_without_padding") {
  const cell h = *lat_lng_to_cell(gangnam_lat_deg, gangnam_lng_deg, 9);
  const std::string s = cell_to_string(h);
  CHECK(s.size() == 15);
  CHECK(*string_to_cell(s) == h);
  CHECK(*string_to_cell("8930E1CA2BBFFFF") == h);
  CHECK_FALSE(string_to_cell("").ok());
  CHECK_FALSE(string_to_cell("0x8930e1ca2bbffff").ok());
  CHECK_FALSE(string_to_cell("8930e1ca2bbfff").ok()); // valid hex, invalid cell
  CHECK_FALSE(string_to_cell("18930e1ca2bbffff0").ok());
}

TEST_CASE("cell_center_maps_back_to_the_cell_at_every_resolution") {
  for (int res = 0; res <= res_max; ++res) {
    const cell h = *lat_lng_to_cell(gangnam_lat_deg, gangnam_lng_deg, res);
    CHECK(get_resolution(h) == res);
    const lat_lng c = *cell_to_lat_lng(h);
    CHECK(*lat_lng_to_cell(c.lat_deg, c.lng_deg, res) == h);
    const auto boundary = *cell_to_boundary(h);
    CHECK(boundary.size() >= (is_pentagon(h) ? 5u : 6u)); // res 0 here is pentagon 24
  }
}

TEST_CASE("pentagons_have_five_vertices_at_class_ii_and_ten_at_class_iii") {
  const cell base4{0x8009fffffffffffULL}; // base cell 4, a pentagon
  REQUIRE(is_valid_cell(base4));
  CHECK(is_pentagon(base4));
  CHECK(get_base_cell_number(base4) == 4);
  CHECK(cell_to_boundary(base4)->size() == 5);
  const cell child = *cell_to_center_child(base4, 1);
  CHECK(is_pentagon(child));
  CHECK(cell_to_boundary(child)->size() == 10);
}

TEST_CASE("invalid_indexes_are_rejected") {
  CHECK_FALSE(is_valid_cell(cell{0}));
  CHECK_FALSE(is_valid_cell(cell{~0ULL}));
  CHECK_FALSE(cell_to_lat_lng(cell{0}).ok());
  CHECK_FALSE(cell_to_boundary(cell{0}).ok());
}
