// Riders: the pure state machine and the rider entity in the harness.
#include "actors/rider_state.hpp"
#include "actors/rider_test_kit.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testkit;
using namespace std::chrono_literals;

namespace {
rider_event offer_taken(const std::string& id, const std::string& order) {
  rider_event ev{rider_event::kind::offer_taken, false, {}};
  ev.offer = held_offer{id, order, 1.5, 2.5, 3.5, 4.5, 123.25, 99};
  return ev;
}
rider_event clear_event_for(const std::string& offer_id) {
  rider_event ev{rider_event::kind::offer_cleared, false, {}};
  ev.offer.offer_id = offer_id;
  return ev;
}
} // namespace

TEST_CASE("rider_logic_drops_stale_seq_and_holds_one_offer_or_order") {
  rider_logic r;
  CHECK(r.accept_position(5, 1, 2, 100));
  CHECK_FALSE(r.accept_position(5, 9, 9, 200)); // repeated
  CHECK_FALSE(r.accept_position(3, 9, 9, 200)); // older
  CHECK(r.last_seq() == 5);
  CHECK(r.lat() == 1);
  CHECK_FALSE(r.can_take_offer()); // not available yet
  r.apply(rider_event{rider_event::kind::availability, true, {}});
  CHECK(r.visibility() == rider_visibility::available);
  CHECK(r.can_take_offer());
  r.apply(offer_taken("o-1-1", "o-1"));
  CHECK_FALSE(r.can_take_offer());
  CHECK(r.visibility() == rider_visibility::busy);
  rider_event assigned{rider_event::kind::assigned, false, {}};
  assigned.offer.order_id = "o-1";
  assigned.offer.offer_id = "o-1-1";
  r.apply(assigned);
  CHECK(r.order_id() == "o-1");
  CHECK_FALSE(r.has_offer());
  CHECK_FALSE(r.can_take_offer());
  rider_event released{rider_event::kind::released, false, {}};
  released.offer.order_id = "o-9"; // not ours: ignored
  r.apply(released);
  CHECK(r.has_order());
  released.offer.order_id = "o-1";
  r.apply(released);
  CHECK(r.can_take_offer());
  CHECK(r.was_released("o-1"));
  // Released before its assignment arrived (the two come from different entities).
  released.offer.order_id = "o-late";
  r.apply(released);
  CHECK(r.was_released("o-late"));
  CHECK(r.move_to_cell("a").empty());
  CHECK(r.move_to_cell("a").empty());
  CHECK(r.move_to_cell("b") == "a");
}

TEST_CASE("rider_logic_remembers_the_last_16_released_orders_and_clears_only_its_offer") {
  rider_logic r;
  CHECK(r.offer().offer_id.empty()); // no offer: an empty one, never a dangling one
  r.apply(rider_event{rider_event::kind::availability, true, {}});
  r.apply(offer_taken("o-1-1", "o-1"));
  r.apply(clear_event_for("o-2-1")); // another offer's withdrawal: kept
  CHECK(r.offer().offer_id == "o-1-1");
  CHECK(r.offer().distance_m == 123.25);
  r.apply(clear_event_for("o-1-1"));
  CHECK_FALSE(r.has_offer());
  for (int i = 0; i <= static_cast<int>(rider_logic::released_remembered_max); ++i) {
    rider_event released{rider_event::kind::released, false, {}};
    released.offer.order_id = "o-r" + std::to_string(i);
    r.apply(released);
  }
  CHECK_FALSE(r.was_released("o-r0")); // the oldest of 17 is forgotten
  CHECK(r.was_released("o-r1"));
  CHECK(r.was_released("o-r16"));
}

TEST_CASE("rider_events_round_trip_exactly") {
  for (auto ev : {offer_taken("o-1-1", "o-1"), rider_event{rider_event::kind::availability, true, {}}}) {
    auto back = rider_event::decode(ev.encode());
    REQUIRE(back.ok());
    CHECK(back->encode() == ev.encode());
  }
  CHECK(rider_event::decode(offer_taken("x", "y").encode())->offer.distance_m == 123.25);
  CHECK_FALSE(rider_event::decode("offer\tonly").ok());
}

TEST_CASE("rider_logic_marks_on_a_cell_change_after_the_interval_and_backs_off_after_a_failure") {
  using reason = rider_logic::mark_reason;
  constexpr std::chrono::milliseconds interval{30'000};
  rider_logic r;
  CHECK_FALSE(r.unmarked());
  CHECK(r.mark_due(0, interval) == reason::none);
  REQUIRE(r.accept_position(1, 1, 2, 1000));
  CHECK(r.unmarked());
  CHECK(r.mark_due(1000, interval) == reason::none); // no cell yet, no interval passed
  r.move_to_cell("a");
  CHECK(r.mark_due(1000, interval) == reason::cell_changed);
  r.apply(rider_event{rider_event::kind::position_mark, false, {}, r.mark(1000)});
  CHECK_FALSE(r.unmarked());
  REQUIRE(r.accept_position(2, 1, 2, 2000));
  CHECK(r.mark_due(2000, interval) == reason::none);
  CHECK(r.mark_due(31'000, interval) == reason::interval);
  r.move_to_cell("b");
  CHECK(r.mark_due(2000, interval) == reason::cell_changed);
  r.mark_failed(2000); // a journal outage: no write per position
  CHECK(r.mark_due(3000, interval) == reason::none);
  CHECK(r.mark_due(32'000, interval) == reason::retry);
  auto m = r.mark(32'000);
  r.apply(rider_event{rider_event::kind::position_mark, false, {}, m});
  CHECK(r.mark_due(99'000, interval) == reason::none); // nothing new since
  // A fresh activation recovers seq, cell and position from the mark.
  auto back = rider_event::decode(rider_event{rider_event::kind::position_mark, false, {}, m}.encode());
  REQUIRE(back.ok());
  rider_logic recovered;
  recovered.apply(*back);
  CHECK(recovered.last_seq() == 2);
  CHECK(recovered.cell() == "b");
  CHECK(recovered.has_position());
  CHECK(recovered.position_at_ms() == 2000);
  CHECK_FALSE(recovered.unmarked());
  CHECK_FALSE(recovered.accept_position(2, 9, 9, 5000));
  CHECK(recovered.move_to_cell("c") == "b");
}

TEST_CASE("rider_logic_snapshot_rebuilds_the_same_rider") {
  rider_logic r;
  r.apply(rider_event{rider_event::kind::availability, true, {}});
  for (auto id : {"o-1", "o-2"}) {
    rider_event released{rider_event::kind::released, false, {}};
    released.offer.order_id = id;
    r.apply(released);
  }
  r.apply(offer_taken("o-3-1", "o-3"));
  rider_event assigned{rider_event::kind::assigned, false, {}};
  assigned.offer.order_id = "o-3";
  assigned.offer.offer_id = "o-3-1";
  r.apply(assigned);
  REQUIRE(r.accept_position(7, 1.5, 2.5, 700));
  r.move_to_cell("c");
  auto snap = rider_event::decode_snapshot(rider_event::encode_snapshot(r.snapshot(900)));
  REQUIRE(snap.ok());
  rider_logic back;
  for (auto& ev : *snap)
    back.apply(ev);
  CHECK(back.available());
  CHECK(back.order_id() == "o-3");
  CHECK(back.assigned_offer_id() == "o-3-1");
  CHECK_FALSE(back.has_offer());
  CHECK(back.was_released("o-1"));
  CHECK(back.was_released("o-2"));
  CHECK(back.last_seq() == 7);
  CHECK(back.lat() == 1.5);
  CHECK(back.position_at_ms() == 700);
  CHECK(back.cell() == "c");
  CHECK_FALSE(back.unmarked());
  CHECK_FALSE(rider_event::decode_snapshot("\xff").ok());
}

TEST_CASE("positions_ack_the_highest_seq_and_only_the_rider_may_move_itself") {
  rig r{harness::pick_seed("rider.position")};
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  CHECK(r.position("r-1", 3, a).seq == 3);
  CHECK(r.position("r-1", 2, offset_m(a.lat, a.lng, 900, 0)).seq == 3); // dropped, acked
  CHECK(r.view("r-1").last_seq == 3);
  msg::position pos;
  pos.seq = 9;
  pos.lat = a.lat;
  pos.lng = a.lng;
  auto other = r.ask(rider_ref(core::rider_id{"r-1"}), position_cmd{rig::rider_caller("r-2"), pos});
  CHECK(code_of(other) == core::errc::forbidden);
  auto cust = r.ask(rider_ref(core::rider_id{"r-1"}),
                    position_cmd{caller{msg::role::customer, "r-1"}, pos});
  CHECK(code_of(cust) == core::errc::forbidden);
}

TEST_CASE("a_rider_crossing_cells_leaves_the_old_region_and_joins_the_new") {
  rig r{harness::pick_seed("rider.cells")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto home = cell_of(cfg, a);
  auto b = point_in_another_cell(cfg, a);
  r.available("r-1", true);
  r.position("r-1", 1, a);
  CHECK(r.stats(home).riders_available == 1);
  r.position("r-1", 2, b);
  CHECK(r.stats(home).riders_available == 0);
  CHECK(r.stats(cell_of(cfg, b)).riders_available == 1);
  CHECK(r.view("r-1").cell == cell_of(cfg, b));
  r.available("r-1", false); // offline: no region counts it
  CHECK(r.stats(cell_of(cfg, b)).riders_available == 0);
  CHECK(r.stats(cell_of(cfg, b)).riders_busy == 0);
}

TEST_CASE("availability_is_journaled_and_the_offer_is_pushed_to_the_riders_sessions") {
  rig r{harness::pick_seed("rider.offer_push")};
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto gw = r.w.make_probe();
  r.ask_as<msg::ok_reply>(rider_ref(core::rider_id{"r-1"}),
                          subscribe_cmd{rig::rider_caller("r-1"), gw.handle});
  CHECK(code_of(r.ask(rider_ref(core::rider_id{"r-1"}),
                      subscribe_cmd{rig::rider_caller("r-2"), gw.handle})) ==
        core::errc::forbidden);
  r.available("r-1", true);
  r.position("r-1", 1, a);
  r.start("o-1", a);
  REQUIRE(gw.size() == 1);
  auto m = gw.next_any();
  REQUIRE(m->match_elements<push_atom, std::string, msg::offer>());
  CHECK(m->get_as<std::string>(1) == "rider:r-1");
  CHECK(m->get_as<msg::offer>(2).offer_id.str() == "o-1-1");
  CHECK(m->get_as<msg::offer>(2).expires_ms == r.w.clock().now_ms() + 15'000);
  // A second offer while holding one is refused.
  msg::offer other;
  other.offer_id = core::offer_id{"o-2-1"};
  other.order_id = core::order_id{"o-2"};
  CHECK_FALSE(r.ask_as<offer_reply>(rider_ref(core::rider_id{"r-1"}), offer_request{other}).offered);
  // The same offer again is idempotent.
  auto same = m->get_as<msg::offer>(2);
  CHECK(r.ask_as<offer_reply>(rider_ref(core::rider_id{"r-1"}), offer_request{same}).offered);
  r.w.crash();
  r.restart();
  auto v = r.view("r-1");
  CHECK(v.available);
  CHECK(v.offer_id == "o-1-1");
  CHECK(v.last_seq == 1); // from the position mark its first cell made
}

TEST_CASE("status_reports_go_to_the_assigned_order_only") {
  rig r{harness::pick_seed("rider.status")};
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  r.available("r-1", true);
  r.position("r-1", 1, a);
  r.start("o-1", a);
  REQUIRE(r.answer("r-1", "o-1-1", true).match_elements<msg::ok_reply>());
  r.w.run();
  msg::status_report rep;
  rep.order_id = core::order_id{"o-1"};
  rep.status = msg::order_status::picked_up;
  auto ok = r.ask_as<msg::ok_reply>(rider_ref(core::rider_id{"r-1"}),
                                    rider_status_cmd{rig::rider_caller("r-1"), rep});
  CHECK(ok.version == std::optional<std::uint64_t>{6});
  rep.order_id = core::order_id{"o-2"};
  CHECK(code_of(r.ask(rider_ref(core::rider_id{"r-1"}),
                      rider_status_cmd{rig::rider_caller("r-1"), rep})) == core::errc::forbidden);
  rep.order_id = core::order_id{"o-1"};
  rep.status = msg::order_status::delivered;
  r.ask_as<msg::ok_reply>(rider_ref(core::rider_id{"r-1"}),
                          rider_status_cmd{rig::rider_caller("r-1"), rep});
  r.w.run();
  CHECK(r.view("r-1").order_id.empty()); // free again
}

TEST_CASE("a_release_that_overtakes_the_assignment_leaves_the_rider_free") {
  rig r{harness::pick_seed("rider.release_race")};
  r.available("r-1", true);
  r.position("r-1", 1, {gangnam_lat, gangnam_lng});
  msg::offer o;
  o.offer_id = core::offer_id{"o-9-1"};
  o.order_id = core::order_id{"o-9"};
  o.expires_ms = r.w.clock().now_ms() + 15'000;
  REQUIRE(r.ask_as<offer_reply>(rider_ref(core::rider_id{"r-1"}), offer_request{o}).offered);
  r.ask_as<msg::ok_reply>(rider_ref(core::rider_id{"r-1"}), rider_released{o.order_id});
  r.send(rider_ref(core::rider_id{"r-1"}), rider_assigned{o.order_id, o.offer_id});
  r.w.run();
  auto v = r.view("r-1");
  CHECK(v.order_id.empty());
  CHECK(v.offer_id.empty());
}

TEST_CASE("a_rider_that_subscribes_again_gets_the_offer_it_holds") {
  // Issue #12 item 2: a rider who reconnected waited for the next offer.
  rig r{harness::pick_seed("rider.offer_again")};
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto gw = r.w.make_probe();
  auto rider = rider_ref(core::rider_id{"r-1"});
  r.ask_as<msg::ok_reply>(rider, subscribe_cmd{rig::rider_caller("r-1"), gw.handle});
  r.available("r-1", true);
  r.position("r-1", 1, a);
  r.start("o-1", a);
  REQUIRE(gw.size() == 1);
  gw.next_any();
  // The session is gone; the rider reconnects (through a new gateway here,
  // and again through the same one).
  auto gw2 = r.w.make_probe();
  for (auto* g : {&gw2, &gw}) {
    r.ask_as<msg::ok_reply>(rider, subscribe_cmd{rig::rider_caller("r-1"), g->handle});
    REQUIRE(g->size() == 1);
    auto m = g->next_any();
    REQUIRE(m->match_elements<push_atom, std::string, msg::offer>());
    CHECK(m->get_as<msg::offer>(2).offer_id.str() == "o-1-1");
  }
  // Once expired, nothing is re-sent.
  r.w.advance(std::chrono::seconds{16});
  while (gw.size() > 0)
    gw.next_any();
  r.ask_as<msg::ok_reply>(rider, subscribe_cmd{rig::rider_caller("r-1"), gw.handle});
  CHECK(gw.size() == 0);
}

TEST_CASE("a_rider_that_subscribes_again_gets_the_order_it_is_assigned_to") {
  // Issue #12: a (re)connecting rider is owed its held offer and its
  // assignment; the accept's `ok` may have gone to a session that is gone.
  rig r{harness::pick_seed("rider.assignment_again")};
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto rider = rider_ref(core::rider_id{"r-1"});
  r.available("r-1", true);
  r.position("r-1", 1, a);
  r.start("o-1", a);
  REQUIRE(r.answer("r-1", "o-1-1", true).match_elements<msg::ok_reply>());
  r.w.run();
  REQUIRE(r.view("r-1").order_id == "o-1");
  auto gw = r.w.make_probe();
  r.ask_as<msg::ok_reply>(rider, subscribe_cmd{rig::rider_caller("r-1"), gw.handle});
  REQUIRE(gw.size() == 1);
  auto m = gw.next_any();
  REQUIRE(m->match_elements<push_atom, std::string, msg::assignment>());
  CHECK(m->get_as<msg::assignment>(2).order_id.str() == "o-1");
  CHECK(m->get_as<msg::assignment>(2).offer_id.str() == "o-1-1");
  // Delivered: free again, nothing owed.
  msg::status_report rep;
  rep.order_id = core::order_id{"o-1"};
  rep.status = msg::order_status::delivered;
  r.ask_as<msg::ok_reply>(rider, rider_status_cmd{rig::rider_caller("r-1"), rep});
  r.w.run();
  while (gw.size() > 0)
    gw.next_any();
  r.ask_as<msg::ok_reply>(rider, subscribe_cmd{rig::rider_caller("r-1"), gw.handle});
  CHECK(gw.size() == 0);
}

TEST_CASE("a_rider_that_crashed_rejects_seqs_up_to_its_last_mark_and_knows_its_cell") {
  // Issue #12 item 5: the seq restarted from 0 after a crash, so old
  // positions were accepted again.
  rig r{harness::pick_seed("rider.mark_crash")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto near = offset_m(a.lat, a.lng, 20, 0);
  REQUIRE(cell_of(cfg, near) == cell_of(cfg, a));
  r.position("r-1", 1, a);    // a new cell: marked
  r.position("r-1", 2, near); // same cell, inside the interval: not marked
  r.w.advance(cfg.rider_mark_interval);
  r.position("r-1", 3, a);    // the interval passed: marked
  r.position("r-1", 4, near); // not marked: what a crash may lose
  r.w.crash();
  r.restart();
  auto v = r.view("r-1");
  CHECK(v.last_seq == 3);
  CHECK(v.cell == cell_of(cfg, a));
  CHECK(r.position("r-1", 2, near).seq == 3); // older than the mark: dropped, acked
  CHECK(r.position("r-1", 3, near).seq == 3);
  CHECK(r.position("r-1", 4, near).seq == 4); // the documented window: taken again
}

TEST_CASE("a_rider_passivated_marks_its_last_seq_and_cell_before_it_stops") {
  // A graceful stop (idle passivation here; a handoff takes the same path)
  // loses nothing, even inside the mark interval.
  rig r{harness::pick_seed("rider.mark_passivate")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto near = offset_m(a.lat, a.lng, 20, 0);
  REQUIRE(cell_of(cfg, near) == cell_of(cfg, a));
  r.position("r-1", 1, a);
  r.position("r-1", 2, near);
  r.position("r-1", 3, a);
  r.w.advance(std::chrono::minutes{11}); // past the router's idle timeout (10 min)
  auto st = r.router_stats();
  CHECK(st.live == 0);
  CHECK(st.passivations_total >= 1);
  CHECK(st.crashed_total == 0);
  auto v = r.view("r-1");
  CHECK(v.last_seq == 3);
  CHECK(v.cell == cell_of(cfg, a));
  CHECK(r.position("r-1", 2, near).seq == 3); // older than the mark: dropped, acked
}

TEST_CASE("a_rider_that_crashed_leaves_the_region_it_was_in_when_it_next_moves") {
  // Issue #12 item 5: a rider restarted with no cell, so crossing into
  // another cell left a ghost in the old region. Only the rider's
  // activation dies here, as when its node dies and its region's does not.
  rig r{harness::pick_seed("rider.ghost")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto home = cell_of(cfg, a);
  auto b = point_in_another_cell(cfg, a);
  r.available("r-1", true);
  r.position("r-1", 1, a);
  REQUIRE(r.stats(home).riders_available == 1);
  r.kill_activation<rider_view>(rider_ref(core::rider_id{"r-1"}), rider_view_query{});
  REQUIRE(r.router_stats().crashed_total == 1);
  r.position("r-1", 2, b);
  auto old_cell = r.stats(home);
  CHECK(old_cell.riders_available == 0);
  CHECK(old_cell.riders.empty());
  CHECK(r.stats(cell_of(cfg, b)).riders_available == 1);
  CHECK(r.view("r-1").cell == cell_of(cfg, b));
}

TEST_CASE("rider_records_journaled_before_position_marks_still_decode") {
  // Bytes as the journal held them before KIND_POSITION_MARK existed.
  auto avail = rider_event::decode(std::string("\x08\x01\x10\x01\x1a\x00", 6));
  REQUIRE(avail.ok());
  CHECK(avail->what == rider_event::kind::availability);
  CHECK(avail->available);
  auto released = rider_event::decode(std::string("\x08\x05\x1a\x05\x12\x03o-1", 9));
  REQUIRE(released.ok());
  CHECK(released->what == rider_event::kind::released);
  CHECK(released->offer.order_id == "o-1");
}

TEST_CASE("a_riders_stream_is_snapshotted_so_marks_never_make_recovery_read_more") {
  // Position marks add an event per rider_mark_interval of riding: without
  // snapshots every activation would replay a rider's whole history.
  rig r{harness::pick_seed("rider.snapshot")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng a{gangnam_lat, gangnam_lng};
  auto rider = rider_ref(core::rider_id{"r-1"});
  r.available("r-1", true);
  std::uint64_t seq = 0;
  r.position("r-1", ++seq, a);
  for (auto id : {"o-x1", "o-x2"})
    r.ask_as<msg::ok_reply>(rider, rider_released{core::order_id{id}});
  msg::offer o;
  o.offer_id = core::offer_id{"o-9-1"};
  o.order_id = core::order_id{"o-9"};
  o.distance_m = 321.5;
  o.expires_ms = r.w.clock().now_ms() + 24 * 3600 * 1000;
  REQUIRE(r.ask_as<offer_reply>(rider, offer_request{o}).offered);
  for (std::size_t i = 0; i < rider_snapshot_every + 10; ++i) {
    r.w.advance(cfg.rider_mark_interval); // each position is marked
    r.position("r-1", ++seq, offset_m(a.lat, a.lng, static_cast<double>(i % 7), 0));
  }
  r.w.crash();
  r.restart();
  r.p.clear();
  caf::send_as(r.p.handle, r.w.journal(), cluster::read_atom::value, rider.str());
  r.w.run();
  auto rec = r.p.next<storage::recovered_stream>();
  REQUIRE(rec.has_value());
  CHECK(rec->snapshot.has_value());
  CHECK(rec->events.size() < rider_snapshot_every);
  auto v = r.view("r-1");
  CHECK(v.available);
  CHECK(v.offer_id == "o-9-1");
  CHECK(v.last_seq == seq);
  CHECK(v.cell == cell_of(cfg, a));
  // The releases came back too: an assignment for one of them is refused.
  r.send(rider, rider_assigned{core::order_id{"o-x1"}, core::offer_id{"o-x1-1"}});
  r.w.run();
  CHECK(r.view("r-1").order_id.empty());
  CHECK(r.view("r-1").offer_id == "o-9-1");
}
