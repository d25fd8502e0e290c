// Retention (issue #13) in the deterministic harness: a finished order
// leaves the journal after cfg.order_retention (virtual time) and stays
// readable from the archive; commands to it are refused, never recreate it.
#include "actors/order_testing.hpp"

#include <chrono>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testing;
using namespace std::chrono_literals;
using msg::order_status;

namespace {

const caller customer_c1{msg::role::customer, "c-1"};

/// Places an order of c-1 at s-1 and runs it to delivered by rider r-1.
core::order_id deliver(domain_world& d) {
  auto m = d.place("c-1", "q-1", "s-1");
  REQUIRE(m.match_elements<msg::order_placed>());
  d.w.advance(1s); // provider latency
  auto id = m.get_as<msg::order_placed>(0).order_id;
  REQUIRE(d.act(id, msg::role::store, "s-1", order_action::accept).match_elements<msg::ok_reply>());
  REQUIRE(d.ask(order_ref(id), assign_rider{core::offer_id{"f-1"}, core::rider_id{"r-1"}})
              .match_elements<msg::ok_reply>());
  for (auto a : {order_action::cooking, order_action::ready})
    REQUIRE(d.act(id, msg::role::store, "s-1", a).match_elements<msg::ok_reply>());
  for (auto a : {order_action::picked_up, order_action::delivering, order_action::delivered})
    REQUIRE(d.act(id, msg::role::rider, "r-1", a).match_elements<msg::ok_reply>());
  d.w.advance(1s); // capture, release, store sync, timers: every effect confirmed
  return id;
}

storage::version_t journal_version(domain_world& d, const cluster::entity_ref& ref) {
  return d.w.journal_backend().version(ref.str());
}

} // namespace

TEST_CASE("a_delivered_order_is_archived_after_the_retention_and_stays_readable") {
  domain_config cfg;
  cfg.order_retention = 1h;
  domain_world d{harness::pick_seed("order.retention"), cfg};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = deliver(d);
  CHECK(journal_version(d, order_ref(id)) > 0);
  CHECK(journal_version(d, payment_ref(id)) > 0);

  d.w.advance(58min); // not yet: the window runs from the final status
  CHECK(journal_version(d, order_ref(id)) > 0);
  CHECK(d.w.archive().usage().entries == 0);

  d.w.advance(2min);
  CHECK(journal_version(d, order_ref(id)) == 0);
  CHECK(journal_version(d, payment_ref(id)) == 0);
  CHECK(d.w.archive().usage().entries == 1);

  // REST GET's query and the subscribe snapshot read the archive.
  auto v = d.view(id);
  CHECK(v.order_id == id);
  CHECK(v.status == order_status::delivered);
  CHECK(v.version == 9);
  CHECK(v.rider_id == "r-1");
  CHECK(v.customer_id.str() == "c-1");
  CHECK(v.store_id.str() == "s-1");
  auto gw = d.w.make_probe();
  auto snap = d.subscribe(id, gw, customer_c1);
  REQUIRE(snap.match_elements<msg::order_snapshot>());
  CHECK(snap.get_as<msg::order_snapshot>(0).status == order_status::delivered);
  CHECK(snap.get_as<msg::order_snapshot>(0).version == 9);
  // Someone else's order stays private.
  CHECK(domain_world::code_of(d.subscribe(id, gw, {msg::role::customer, "c-2"})) ==
        core::errc::forbidden);

  // Commands get a clear error and write nothing: no empty order appears.
  auto cancel = d.act(id, msg::role::customer, "c-1", order_action::cancel);
  CHECK(domain_world::code_of(cancel) == core::errc::conflict);
  CHECK(d.w.sys().render(cancel.get_as<caf::error>(0)).find("archived") != std::string::npos);
  auto retry = d.place("c-1", "q-1", "s-1"); // the customer's retry of the same request
  REQUIRE(retry.match_elements<msg::order_placed>());
  CHECK(retry.get_as<msg::order_placed>(0).order_id == id);
  CHECK(domain_world::code_of(d.ask(order_ref(id), assign_rider{core::offer_id{"f-2"},
                                                                 core::rider_id{"r-2"}})) ==
        core::errc::conflict);
  CHECK(journal_version(d, order_ref(id)) == 0);

  // A node restart changes nothing.
  d.crash_and_restart();
  CHECK(d.view(id).status == order_status::delivered);
  CHECK(journal_version(d, order_ref(id)) == 0);
}

TEST_CASE("a_cancelled_order_is_archived_too_and_an_open_one_never") {
  domain_config cfg;
  cfg.order_retention = 10min;
  domain_world d{harness::pick_seed("order.retention.cancel"), cfg};
  d.upsert_store("s-1", gangnam, 3000);
  auto placed = d.place("c-1", "q-1", "s-1");
  REQUIRE(placed.match_elements<msg::order_placed>());
  d.w.advance(1s);
  auto cancelled = placed.get_as<msg::order_placed>(0).order_id;
  REQUIRE(d.act(cancelled, msg::role::customer, "c-1", order_action::cancel)
              .match_elements<msg::ok_reply>());
  auto open = d.place("c-1", "q-2", "s-1");
  REQUIRE(open.match_elements<msg::order_placed>());
  auto open_id = open.get_as<msg::order_placed>(0).order_id;
  d.w.advance(11min);
  CHECK(journal_version(d, order_ref(cancelled)) == 0);
  CHECK(d.view(cancelled).status == order_status::cancelled);
  CHECK(journal_version(d, order_ref(open_id)) > 0);
  CHECK(d.view(open_id).status == order_status::paid);
}

TEST_CASE("an_archive_that_fails_keeps_the_order_in_the_journal_and_is_tried_again") {
  domain_config cfg;
  cfg.order_retention = 1h;
  domain_world d{harness::pick_seed("order.retention.retry"), cfg};
  d.upsert_store("s-1", gangnam, 3000);
  auto id = deliver(d);
  d.w.archive().fail_next_sync();
  d.w.advance(61min);
  // The first attempt failed (the put rolled back, nothing dropped); the
  // reminder fired again a second later and the second attempt went through.
  auto p = d.w.make_probe();
  caf::send_as(p.handle, d.w.journal(), cluster::stats_atom::value);
  d.w.run();
  auto stats = p.next<cluster::journal_stats>();
  REQUIRE(stats.has_value());
  CHECK(stats->archive_failures == 1);
  CHECK(stats->archived == 1);
  CHECK(journal_version(d, order_ref(id)) == 0);
  CHECK(d.w.archive().usage().entries == 1);
  CHECK(d.view(id).status == order_status::delivered);
}
