#include "nodes/node/command_map.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

using namespace courier;
using node::route_command;
using msg::role;

namespace {
actors::caller as(role r, std::string id) { return actors::caller{r, std::move(id)}; }
} // namespace

TEST_CASE("riders_report_only_themselves") {
  msg::position p;
  p.seq = 1;
  auto r = route_command(as(role::rider, "r-1"), msg::client_body{p});
  REQUIRE(r.ok());
  CHECK(r->target == actors::rider_ref(core::rider_id{"r-1"}));
  CHECK(r->kind == node::reply_kind::ack);
  auto c = route_command(as(role::customer, "c-1"), msg::client_body{p});
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().code == core::errc::forbidden);
}

TEST_CASE("place_order_goes_to_the_order_named_by_customer_and_request") {
  msg::place_order po;
  po.request_id = core::request_id{"req-1"};
  po.store_id = core::store_id{"s-1"};
  auto a = route_command(as(role::customer, "c-1"), msg::client_body{po});
  auto b = route_command(as(role::customer, "c-1"), msg::client_body{po});
  auto other = route_command(as(role::customer, "c-2"), msg::client_body{po});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(other.ok());
  CHECK(a->target == b->target);
  CHECK(a->target != other->target);
  CHECK(a->kind == node::reply_kind::order_placed);
  CHECK(route_command(as(role::store, "s-1"), msg::client_body{po}).err().code ==
        core::errc::forbidden);
}

TEST_CASE("admin_calls_are_admin_only") {
  msg::upsert_store u;
  u.store_id = core::store_id{"s-1"};
  CHECK(route_command(as(role::admin, "ops"), msg::client_body{u}).ok());
  CHECK(route_command(as(role::store, "s-1"), msg::client_body{u}).err().code ==
        core::errc::forbidden);
  msg::radius_trigger t;
  t.target = "store:s-1";
  auto r = route_command(as(role::admin, "ops"), msg::client_body{t});
  REQUIRE(r.ok());
  CHECK(r->target == actors::store_ref(core::store_id{"s-1"}));
  t.target = "872830828ffffff";
  r = route_command(as(role::admin, "ops"), msg::client_body{t});
  REQUIRE(r.ok());
  CHECK(r->target == actors::region_ref("872830828ffffff"));
}

TEST_CASE("server_to_client_types_are_bad_requests") {
  auto r = route_command(as(role::admin, "ops"), msg::client_body{msg::welcome{}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == core::errc::bad_request);
}

TEST_CASE("unsubscribe_is_handled_by_the_gateway") {
  msg::unsubscribe u;
  u.order_id = core::order_id{"o-1"};
  auto r = route_command(as(role::customer, "c-1"), msg::client_body{u});
  REQUIRE(r.ok());
  CHECK(r->local_leave);
  CHECK(r->topic == "order:o-1");
}

TEST_CASE("cells_that_are_not_h3_cells_are_bad_requests_and_activate_nothing") {
  // Issue #12 item 6: any hex string used to reach (and create) a region.
  msg::radius_trigger t;
  t.trigger = msg::radius_trigger_kind::rider_shortage;
  t.radius_m = 1000;
  for (const char* bad : {"", "xyz", "deadbeef", "872830828fffff0", "ffffffffffffffff"}) {
    t.target = bad;
    auto r = route_command(as(role::admin, "ops"), msg::client_body{t});
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == core::errc::bad_request);
  }
  msg::subscribe_region s;
  s.cell = "not-a-cell";
  CHECK(route_command(as(role::admin, "ops"), msg::client_body{s}).err().code ==
        core::errc::bad_request);
  // Another spelling of a valid cell reaches the canonical entity.
  t.target = "0872830828FFFFFF";
  auto r = route_command(as(role::admin, "ops"), msg::client_body{t});
  REQUIRE(r.ok());
  CHECK(r->target == actors::region_ref("872830828ffffff"));
}
