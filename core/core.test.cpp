#include "core/clock.hpp"
#include "core/errc.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"

#include <doctest/doctest.h>

#include <unordered_set>

using namespace courier::core;

TEST_CASE("every error code round-trips through its protocol spelling") {
  for (int i = 1; i <= static_cast<int>(errc::internal); ++i) {
    auto code = static_cast<errc>(i);
    auto parsed = errc_from_string(to_string(code));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == code);
  }
  CHECK_FALSE(errc_from_string("nope").has_value());
  CHECK(http_status(errc::out_of_area) == 422);
  CHECK(http_status(errc::conflict) == 409);
}

TEST_CASE("result holds a value or an error") {
  result<int> ok = 7;
  CHECK(ok.ok());
  CHECK(*ok == 7);
  result<int> bad = make_error(errc::not_found, "no such order");
  CHECK_FALSE(bad.ok());
  CHECK(bad.err().code == errc::not_found);
}

TEST_CASE("strong ids compare and hash by value") {
  std::unordered_set<order_id> ids{order_id{"o-1"}, order_id{"o-1"}};
  CHECK(ids.size() == 1);
  CHECK(order_id{"o-1"} < order_id{"o-2"});
}

TEST_CASE("manual clock moves only when told") {
  manual_clock c{1000};
  CHECK(c.now_ms() == 1000);
  c.advance(500);
  CHECK(c.now_ms() == 1500);
}
