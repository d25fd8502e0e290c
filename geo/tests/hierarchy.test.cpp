#include "geo/h3.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace courier::geo;

TEST_CASE("parent_of_res9_cell_can_differ_from_indexing_at_res7") {
  // Children are not exactly inside their parent: a point near a res-7
  // edge indexes into one res-7 cell directly but into a res-9 cell whose
  // res-7 ancestor is the neighbor. Search a small area for such a point.
  int differing = 0;
  int same = 0;
  for (int i = 0; i < 200 && differing == 0; ++i) {
    for (int j = 0; j < 200; ++j) {
      const double lat = 37.49 + i * 0.0001;
      const double lng = 127.02 + j * 0.0001;
      const cell direct7 = *lat_lng_to_cell(lat, lng, 7);
      const cell via9 = *cell_to_parent(*lat_lng_to_cell(lat, lng, 9), 7);
      (direct7 == via9 ? same : differing)++;
    }
  }
  CHECK(differing > 0);
  CHECK(same > differing);
}

TEST_CASE("parent_children_and_center_child_agree") {
  const cell h = *lat_lng_to_cell(37.4979, 127.0276, 8);
  const cell parent = *cell_to_parent(h, 7);
  const auto kids = *cell_to_children(parent, 8);
  CHECK(kids.size() == 7);
  CHECK(std::is_sorted(kids.begin(), kids.end()));
  CHECK(std::find(kids.begin(), kids.end(), h) != kids.end());
  CHECK(*cell_to_parent(*cell_to_center_child(parent, 10), 7) == parent);
  CHECK(*cell_to_parent(h, 8) == h);
}

TEST_CASE("pentagon_has_six_children") {
  const cell base4{0x8009fffffffffffULL};
  CHECK(cell_to_children(base4, 1)->size() == 6);
  CHECK(cell_to_children(base4, 2)->size() == 41); // 6 * 7 - 1
}

TEST_CASE("hierarchy_rejects_bad_resolutions_and_huge_fan_out") {
  const cell h = *lat_lng_to_cell(37.4979, 127.0276, 8);
  CHECK_FALSE(cell_to_parent(h, 9).ok());
  CHECK_FALSE(cell_to_parent(h, -1).ok());
  CHECK_FALSE(cell_to_children(h, 7).ok());
  CHECK_FALSE(cell_to_children(h, 16).ok());
  CHECK_FALSE(cell_to_children(*cell_to_parent(h, 0), 15).ok());
  CHECK_FALSE(cell_to_center_child(h, 7).ok());
}
