#include "core/clock.hpp"
#include "core/errc.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"
#include "core/utf8.hpp"

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

TEST_CASE("valid_utf8 accepts well-formed UTF-8 and nothing else") {
  using courier::core::valid_utf8;
  for (std::string_view ok : {"", "plain", "\xea\xb0\x95\xeb\x82\xa8", "\xf0\x9f\x9b\xb5",
                              "\xc2\x80", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\x7f"})
    CHECK(valid_utf8(ok));
  for (std::string_view bad : {"\xff", "\x80", "a\xc3", "\xc0\xaf", "\xe0\x80\x80",
                               "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                               "\xe2\x82", "\xe2\x28\xa1"})
    CHECK_FALSE(valid_utf8(bad));
}
