#include "geo/h3.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace courier::geo;

TEST_CASE("hexagon_disk_has_3k_k_plus_1_cells") {
  const cell h = *lat_lng_to_cell(37.4979, 127.0276, 9);
  for (int k = 0; k <= 3; ++k) {
    auto disk = *grid_disk(h, k);
    std::sort(disk.begin(), disk.end());
    CHECK(std::unique(disk.begin(), disk.end()) == disk.end());
    CHECK(disk.size() == static_cast<std::size_t>(3 * k * (k + 1) + 1));
    for (cell c : disk)
      CHECK(*grid_distance(h, c) <= k);
  }
}

TEST_CASE("pentagon_disk_falls_back_to_search_and_has_one_cell_fewer_per_ring") {
  const cell pent = *cell_to_center_child(cell{0x8009fffffffffffULL}, 5);
  REQUIRE(is_pentagon(pent));
  CHECK(grid_disk(pent, 1)->size() == 6);
  CHECK(grid_disk(pent, 2)->size() == 16);
  const auto rings = *grid_disk_distances(pent, 2);
  CHECK(rings[1].size() == 5);
  CHECK(rings[2].size() == 10);
}

TEST_CASE("grid_distance_errors_are_bad_requests") {
  const cell a = *lat_lng_to_cell(37.4979, 127.0276, 9);
  const cell b = *lat_lng_to_cell(37.4979, 127.0276, 8);
  const auto mismatch = grid_distance(a, b);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.err().code == courier::core::errc::bad_request);
  std::int64_t d = 0;
  CHECK(grid_distance_status(a, b, d) == h3_status::res_mismatch);
  const cell far = *lat_lng_to_cell(-33.9, 18.4, 9); // Cape Town
  CHECK(grid_distance_status(a, far, d) == h3_status::failed);
  CHECK_FALSE(grid_disk(a, -1).ok());
  CHECK_FALSE(grid_disk(a, grid_disk_k_max + 1).ok());
}
