// REST ids and rate limits (issue #14), on a manual clock.

#include "nodes/node/rest_limits.hpp"

#include "core/limits.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace courier;
using courier::node::rest_limiter;
using courier::node::rest_limits_config;
using courier::node::valid_path_id;

TEST_CASE("path ids are 1..id_chars_max URL-safe characters") {
  CHECK(valid_path_id("o-1"));
  CHECK(valid_path_id("s_9.x~y:z"));
  CHECK(valid_path_id("8730e1aafffffff"));
  CHECK(valid_path_id(std::string(core::limits::id_chars_max, 'a')));
  CHECK_FALSE(valid_path_id(""));
  CHECK_FALSE(valid_path_id(std::string(core::limits::id_chars_max + 1, 'a')));
  CHECK_FALSE(valid_path_id("o 1"));
  CHECK_FALSE(valid_path_id("o%2F1"));
  CHECK_FALSE(valid_path_id("o\x01"));
  CHECK_FALSE(valid_path_id("\xc3\xa9"));
}

TEST_CASE("an address gets its burst, then its rate; ports do not count as addresses") {
  core::manual_clock clock{1'000'000};
  rest_limits_config cfg;
  cfg.per_address_per_s = 10;
  cfg.per_address_burst = 20;
  rest_limiter lim{cfg, clock};
  int allowed = 0;
  for (int i = 0; i < 50; ++i)
    allowed += lim.allow_address("10.0.0.1:" + std::to_string(40000 + i)) ? 1 : 0;
  CHECK(allowed == 20);
  CHECK(lim.limited_total() == 30);
  CHECK(lim.allow_address("10.0.0.2:1")); // another address has its own bucket
  clock.advance(1000);                    // 10 more in a second
  allowed = 0;
  for (int i = 0; i < 50; ++i)
    allowed += lim.allow_address("10.0.0.1:1") ? 1 : 0;
  CHECK(allowed == 10);
  CHECK(lim.allow_address("[::1]:5") == lim.allow_address("[::1]:6")); // IPv6 host kept whole
}

TEST_CASE("subjects are limited apart from addresses") {
  core::manual_clock clock{0};
  rest_limits_config cfg;
  cfg.per_subject_per_s = 1;
  cfg.per_subject_burst = 2;
  rest_limiter lim{cfg, clock};
  CHECK(lim.allow_subject("admin:ops-1"));
  CHECK(lim.allow_subject("admin:ops-1"));
  CHECK_FALSE(lim.allow_subject("admin:ops-1"));
  CHECK(lim.allow_subject("customer:c-1"));
}

TEST_CASE("the caller tables are bounded: idle callers make room, active ones do not") {
  core::manual_clock clock{0};
  rest_limits_config cfg;
  cfg.callers_max = 100;
  cfg.idle_forget_ms = 60'000;
  rest_limiter lim{cfg, clock};
  for (int i = 0; i < 100; ++i)
    REQUIRE(lim.allow_address("10.0.1." + std::to_string(i) + ":1"));
  // Full of active callers: a new one is refused, not tracked.
  CHECK_FALSE(lim.allow_address("10.0.2.1:1"));
  clock.advance(61'000);
  CHECK(lim.allow_address("10.0.2.1:1")); // the idle ones were forgotten
}
