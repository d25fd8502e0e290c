#include "messages/json.hpp"
#include "messages/test_samples.hpp"
#include "messages/validate.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

using namespace courier;
using namespace courier::msg;

namespace {

std::string invalid(const client_body& body) {
  auto r = validate(body);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == core::errc::bad_request);
  return r.err().message;
}

position fix(double lat, double lng) { return position{1, lat, lng, 0, {}, {}, {}}; }

place_order order(std::vector<item> items, money total) {
  return place_order{core::request_id{"q"}, core::store_id{"s"}, std::move(items), total,
                     lat_lng{37.5, 127.0}};
}

} // namespace

TEST_CASE("lat and lng must be on the globe and finite") {
  CHECK(validate(client_body{fix(90, 180)}).ok());
  CHECK(validate(client_body{fix(-90, -180)}).ok());
  CHECK(invalid(fix(90.0001, 0)) == "field 'lat': must be in [-90, 90]");
  CHECK(invalid(fix(0, -180.5)) == "field 'lng': must be in [-180, 180]");
  CHECK(invalid(fix(std::nan(""), 0)) == "field 'lat': must be a finite number");
  CHECK(invalid(fix(0, std::numeric_limits<double>::infinity())) ==
        "field 'lng': must be a finite number");
  auto o = order({{"a", 1, money{100}}}, money{100});
  o.dropoff.lat = 91;
  CHECK(invalid(o) == "field 'dropoff.lat': must be in [-90, 90]");
}

TEST_CASE("out-of-range lat from JSON decodes but fails validation") {
  auto r = decode_json(R"({"type":"position","seq":1,"lat":123.0,"lng":2,"time_ms":3})");
  REQUIRE(r.ok());
  auto v = validate(*r);
  REQUIRE_FALSE(v.ok());
  CHECK(v.err().message == "field 'lat': must be in [-90, 90]");
}

TEST_CASE("optional position fields are checked when present") {
  auto p = fix(1, 2);
  p.heading_deg = 360.0;
  CHECK(invalid(p) == "field 'heading_deg': must be in [0, 360)");
  p.heading_deg.reset();
  p.accuracy_m = -1;
  CHECK(invalid(p) == "field 'accuracy_m': must be >= 0");
}

TEST_CASE("total must equal the sum of the items in minor units") {
  CHECK(validate(client_body{order({{"a", 3, money{999}}}, money{2997})}).ok());
  CHECK(invalid(order({{"a", 3, money{999}}}, money{3000})) ==
        "field 'total': must equal the sum of qty * price (2997 minor units), got 3000");
  auto r = decode_json(R"({"type":"place_order","request_id":"q","store_id":"s",)"
                       R"("items":[{"sku":"a","qty":2,"price":9.99}],"total":19.99,)"
                       R"("dropoff":{"lat":1,"lng":2}})");
  REQUIRE(r.ok());
  CHECK_FALSE(validate(*r).ok());
  CHECK(invalid(order({{"a", 4'000'000'000u, money{std::numeric_limits<std::int64_t>::max() / 2}}},
                      money{1})) == "field 'total': sum of items overflows");
}

TEST_CASE("items: non-empty, bounded, qty >= 1, price >= 0") {
  CHECK(invalid(order({}, money{0})) == "field 'items': must not be empty");
  std::vector<item> many(core::limits::order_items_max + 1, item{"a", 1, money{1}});
  CHECK(invalid(order(many, money{101})) == "field 'items': at most 100 items");
  CHECK(invalid(order({{"a", 0, money{1}}}, money{0})) == "field 'items[0].qty': must be >= 1");
  CHECK(invalid(order({{"a", 1, money{-5}}}, money{-5})) ==
        "field 'items[0].price': must be >= 0");
  CHECK(invalid(order({{"", 1, money{1}}}, money{1})) == "field 'items[0].sku': must not be empty");
}

TEST_CASE("ids must be non-empty and short") {
  CHECK(invalid(cancel{core::order_id{""}}) == "field 'order_id': must not be empty");
  CHECK(invalid(cancel{core::order_id{std::string(129, 'x')}}) ==
        "field 'order_id': longer than 128 chars");
  CHECK(validate(client_body{cancel{core::order_id{std::string(128, 'x')}}}).ok());
  envelope e{std::string(200, 'r'), cancel{core::order_id{"o"}}};
  CHECK_FALSE(validate(e).ok());
}

TEST_CASE("store rules: prep time, radius, targets, cells") {
  CHECK(validate(client_body{accept_order{core::order_id{"o"}, 240}}).ok());
  CHECK(invalid(accept_order{core::order_id{"o"}, 241}) ==
        "field 'prep_minutes': must be 0..240");
  CHECK(invalid(radius_trigger{"store:s", radius_trigger_kind::manual, 0}) ==
        "field 'radius_m': must be > 0");
  CHECK(validate(client_body{radius_trigger{"store:s", radius_trigger_kind::restore, 0}}).ok());
  CHECK(invalid(radius_trigger{"store:", radius_trigger_kind::manual, 10}) ==
        "field 'target': store id must be 1..128 chars");
  CHECK(invalid(radius_trigger{"gangnam", radius_trigger_kind::manual, 10}) ==
        "field 'target': must be store:<id> or an H3 cell");
  CHECK(invalid(upsert_store{core::store_id{"s"}, 1, 2, -1, true}) ==
        "field 'radius_m': must be >= 0");
  CHECK(invalid(subscribe_region{"zz"}) == "field 'cell': must be an H3 cell");
}

TEST_CASE("a rider reports only picked_up, delivering, delivered") {
  CHECK(validate(client_body{status_report{core::order_id{"o"}, order_status::delivered}}).ok());
  CHECK(invalid(status_report{core::order_id{"o"}, order_status::cancelled}) ==
        "field 'status': must be picked_up, delivering or delivered");
}

TEST_CASE("enum values outside the enum and unknown status keys are rejected") {
  CHECK(invalid(cancel{}) == "field 'order_id': must not be empty");
  CHECK(invalid(order_status_msg{core::order_id{"o"}, static_cast<order_status>(99), 1, 0}) ==
        "field 'status': unknown value");
  region_stats s{"8730e0ae9ffffff", 1, 2, {{"lost", 1}}, 0};
  CHECK(invalid(s) == "field 'orders_by_status': unknown status 'lost'");
  CHECK(invalid(error_reply{core::errc::none, "x"}) == "field 'code': unknown error code");
}
