// Fault injection of the memory backend.
#include "storage/memory_backend.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::storage;

TEST_CASE("memory_failed_appends_change_nothing_and_use_the_given_code") {
  memory_backend j;
  j.fail_next_appends(2, core::errc::unavailable);
  for (int i = 0; i < 2; ++i) {
    auto appended = j.append({"order:o-1", 0, {"e"}});
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.err().code == core::errc::unavailable);
  }
  CHECK(j.version("order:o-1") == 0);
  CHECK(j.append({"order:o-1", 0, {"e"}}).ok());
  CHECK(j.stats().injected_append_failures == 2);
  CHECK(j.stats().appends == 1);
}

TEST_CASE("memory_drop_unsynced_loses_what_a_power_cut_would") {
  memory_backend j;
  REQUIRE(j.append({"order:o-1", 0, {"a", "b"}}).ok());
  REQUIRE(j.sync().ok());
  REQUIRE(j.append({"order:o-1", 2, {"c"}}).ok());
  REQUIRE(j.append({"order:o-2", 0, {"x"}}).ok());
  REQUIRE(j.save_snapshot("order:o-1", 3, "s").ok());
  CHECK(j.version("order:o-1") == 3);
  j.drop_unsynced();
  CHECK(j.version("order:o-1") == 2);
  CHECK(j.version("order:o-2") == 0);
  auto got = j.read("order:o-1");
  REQUIRE(got.ok());
  CHECK_FALSE(got->snapshot.has_value());
  REQUIRE(got->events.size() == 2);
  CHECK(got->events[1].payload == "b");
  CHECK(j.stats().syncs == 1);
  CHECK(j.stats().events == 4);
}
