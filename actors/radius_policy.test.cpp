#include "actors/radius_policy.hpp"

#include <doctest/doctest.h>

using courier::actors::radius_policy;
using courier::actors::unset_m;
using kind = courier::msg::radius_trigger_kind;

TEST_CASE("each_trigger_holds_its_radius_until_restore_and_the_smallest_wins") {
  radius_policy p;
  auto a = p.apply(kind::weather, 2000, 3000);
  CHECK(a.effective_m == 2000);
  CHECK(a.applied);
  auto b = p.apply(kind::rider_shortage, 2500, 3000);
  CHECK(b.effective_m == 2000); // weather still holds the smaller one
  CHECK_FALSE(b.applied);
  auto c = p.apply(kind::weather, 4000, 3000); // weather relaxes: shortage rules
  CHECK(c.effective_m == 2500);
  CHECK(c.applied);
  auto d = p.apply(kind::restore, 0, 3000);
  CHECK(d.effective_m == 3000);
  CHECK(d.applied);
  auto e = p.apply(kind::restore, 0, 3000);
  CHECK_FALSE(e.applied);
}

TEST_CASE("a_region_without_base_radius_reports_the_held_cap") {
  radius_policy p;
  CHECK(p.effective(unset_m) == unset_m);
  auto a = p.apply(kind::manual, 800, unset_m);
  CHECK(a.effective_m == 800);
  CHECK(a.applied);
  CHECK(p.held_min() == 800);
}
