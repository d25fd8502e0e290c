// Regions: the pure index, stats and split bookkeeping, and the region
// entity in the harness (search, stats pushes, radius triggers, hot-cell
// split and merge).
#include "actors/region_index.hpp"
#include "actors/rider_test_kit.hpp"
#include "core/limits.hpp"
#include "geo/hierarchy.hpp"
#include "messages/json.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testkit;
using namespace std::chrono_literals;

namespace {

indexed_rider at(const std::string& id, double north_m, core::time_ms t = 1000,
                 rider_mode mode = rider_mode::available) {
  auto p = offset_m(gangnam_lat, gangnam_lng, north_m, 0);
  return indexed_rider{id, p.lat, p.lng, t, mode};
}

rider_search around(std::uint32_t limit, double radius_m = 5000) {
  return rider_search{gangnam_lat, gangnam_lng, radius_m, limit, 500, {}};
}

std::vector<std::string> children_of(const std::string& cell, int res) {
  auto c = geo::string_to_cell(cell);
  REQUIRE(c.ok());
  auto kids = geo::cell_to_children(*c, res);
  REQUIRE(kids.ok());
  std::vector<std::string> out;
  for (auto k : *kids)
    out.push_back(geo::cell_to_string(k));
  return out;
}

/// Every rider a region can find (any distance), by id.
std::vector<std::string> riders_in(rig& r, const std::string& cell) {
  region_find_riders q{gangnam_lat, gangnam_lng, 1e7, 100000, {}};
  auto found = r.ask_as<region_candidates>(region_ref(cell), q);
  std::vector<std::string> ids;
  for (auto& c : found.riders)
    ids.push_back(c.rider_id.str());
  return ids;
}

} // namespace

TEST_CASE("region_index_finds_available_fresh_riders_nearest_first_within_limit") {
  region_index idx{100};
  CHECK(idx.upsert(at("r-3", 300)) == region_index::upsert_outcome::inserted);
  idx.upsert(at("r-1", 100));
  idx.upsert(at("r-2", 200));
  idx.upsert(at("r-busy", 10, 1000, rider_mode::busy));
  idx.upsert(at("r-stale", 20, 100)); // older than fresh_since
  idx.upsert(at("r-far", 9000));
  CHECK(idx.upsert(at("r-1", 50)) == region_index::upsert_outcome::updated);
  CHECK(idx.available() == 5);
  CHECK(idx.busy() == 1);
  auto found = idx.nearest(around(2));
  REQUIRE(found.size() == 2);
  CHECK(found[0].rider_id == "r-1");
  CHECK(found[0].distance_m == doctest::Approx(50).epsilon(0.01));
  CHECK(found[1].rider_id == "r-2");
  auto q = around(10);
  q.exclude.insert("r-1");
  found = idx.nearest(q);
  REQUIRE(found.size() == 2); // r-2, r-3: not busy, stale, far or excluded
  CHECK(found[0].rider_id == "r-2");
  CHECK(idx.remove("r-2"));
  CHECK_FALSE(idx.remove("r-2"));
  region_index tiny{1};
  tiny.upsert(at("a", 1));
  CHECK(tiny.upsert(at("b", 1)) == region_index::upsert_outcome::full);
}

TEST_CASE("order_stats_count_each_order_once_whatever_the_redelivery") {
  using st = msg::order_status;
  order_stats s{10};
  CHECK(s.apply("o-1", st::placed, true, st::placed));
  CHECK_FALSE(s.apply("o-1", st::placed, true, st::placed)); // duplicate new
  CHECK(s.apply("o-1", st::paid, false, st::placed));
  CHECK_FALSE(s.apply("o-1", st::paid, false, st::placed)); // duplicate move
  CHECK(s.apply("o-2", st::placed, true, st::placed));
  CHECK(s.apply("o-2", st::cancelled, false, st::placed));
  CHECK_FALSE(s.apply("o-2", st::cancelled, false, st::placed));
  auto by = s.by_status();
  CHECK(by["paid"] == 1);
  CHECK(by["placed"] == 0);
  CHECK(by["cancelled"] == 1);
  CHECK(s.active() == 1);
}

TEST_CASE("split_directory_routes_moves_between_children_and_keeps_counts") {
  split_directory d;
  auto r1 = d.place("r-1", "c1", rider_mode::available, 0);
  CHECK(r1.child == "c1");
  CHECK(r1.left_child.empty());
  d.place("r-2", "c2", rider_mode::busy, 0);
  auto moved = d.place("r-1", "c2", rider_mode::busy, 0);
  CHECK(moved.left_child == "c1"); // the old child must forget it
  CHECK(d.size() == 2);
  CHECK(d.available() == 0);
  CHECK(d.busy() == 2);
  CHECK(d.remove("r-1") == "c2");
  CHECK(d.remove("r-1").empty());
  CHECK(d.children() == std::vector<std::string>{"c1", "c2"});
  CHECK(split_directory::should_split(401, 400));
  CHECK_FALSE(split_directory::should_split(400, 400));
  CHECK(split_directory::should_merge(199, 200));
  CHECK_FALSE(split_directory::should_merge(200, 200));
}

TEST_CASE("hot_cell_splits_and_merges_with_riders_moving_and_no_rider_is_lost_or_duplicated") {
  auto seed = harness::pick_seed("region.split");
  for (std::uint64_t run = 0; run < 10; ++run) {
    CAPTURE(seed + run);
    auto cfg = test_config();
    cfg.region_split_riders = 20;
    cfg.region_merge_riders = 10;
    rig r{seed + run, cfg};
    const msg::lat_lng centre{gangnam_lat, gangnam_lng};
    auto parent = cell_of(cfg, centre);
    auto kids = children_of(parent, cfg.region_res + 1);
    std::mt19937_64 rng{seed + run};
    std::uniform_real_distribution<double> off{-400.0, 400.0};
    std::map<std::string, msg::lat_lng> where;
    std::map<std::string, std::uint64_t> seq;
    auto move = [&](const std::string& id, msg::lat_lng p) {
      r.position(id, ++seq[id], p);
      where[id] = p;
    };
    auto in_parent = [&]() {
      std::set<std::string> ids;
      for (auto& [id, p] : where)
        if (cell_of(cfg, p) == parent)
          ids.insert(id);
      return ids;
    };
    // Union over the children == the parent's riders, each exactly once.
    auto check_children = [&](bool expect_split) {
      std::multiset<std::string> seen;
      for (auto& k : kids)
        for (auto& id : riders_in(r, k))
          seen.insert(id);
      auto expected = in_parent();
      auto stats = r.stats(parent);
      CHECK(stats.riders_available == expected.size());
      if (expect_split) {
        CHECK(seen.size() == expected.size());
        CHECK(std::set<std::string>(seen.begin(), seen.end()) == expected);
      } else {
        CHECK(seen.empty());
      }
      auto at_parent = riders_in(r, parent); // answered directly or by the children
      CHECK(std::set<std::string>(at_parent.begin(), at_parent.end()) == expected);
      CHECK(at_parent.size() == expected.size());
    };
    for (int i = 0; i < 24; ++i) {
      auto id = "r-" + std::to_string(i);
      r.available(id, true);
      move(id, offset_m(centre.lat, centre.lng, off(rng), off(rng)));
    }
    r.w.run();
    REQUIRE(in_parent().size() > 20);
    check_children(true);
    // Riders move around inside (across children) and some leave the cell.
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 24; i += 2) {
        auto id = "r-" + std::to_string(i);
        move(id, offset_m(centre.lat, centre.lng, off(rng), off(rng)));
      }
      r.w.run();
      check_children(in_parent().size() >= 10);
    }
    // Riders go offline until the cell cools below the merge threshold.
    for (int i = 0; i < 24 && in_parent().size() >= 10; ++i) {
      auto id = "r-" + std::to_string(i);
      r.available(id, false);
      where.erase(id);
    }
    r.w.run();
    check_children(false);
  }
}

TEST_CASE("region_stats_push_at_most_once_per_interval_and_only_on_change") {
  rig r{harness::pick_seed("region.stats")};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto cell = cell_of(r.svc->cfg, centre);
  auto gw = r.w.make_probe();
  auto first = r.ask_as<msg::region_stats>(region_ref(cell), subscribe_cmd{rig::admin(), gw.handle});
  CHECK(first.riders_available == 0);
  CHECK(code_of(r.ask(region_ref(cell), subscribe_cmd{rig::rider_caller("r-1"), gw.handle})) ==
        core::errc::forbidden);
  r.available("r-1", true);
  r.position("r-1", 1, centre);
  r.available("r-2", true);
  r.position("r-2", 1, offset_m(centre.lat, centre.lng, 50, 0));
  CHECK(gw.size() == 0); // nothing before the interval
  r.w.advance(1s);
  REQUIRE(gw.size() == 1);
  auto m = gw.next_any();
  REQUIRE(m->match_elements<push_atom, std::string, msg::region_stats>());
  CHECK(m->get_as<std::string>(1) == "region:" + cell);
  CHECK(m->get_as<msg::region_stats>(2).riders_available == 2);
  r.position("r-1", 2, offset_m(centre.lat, centre.lng, 10, 0)); // same counts, moved
  r.w.advance(1s);
  REQUIRE(gw.size() == 1); // the live map sees the rider move
  auto moved = gw.next_any()->get_as<msg::region_stats>(2);
  CHECK(moved.riders.size() == 2);
  r.w.advance(1s);
  CHECK(gw.size() == 0); // nothing changed: no push
  region_order_delta d{core::order_id{"o-1"}, msg::order_status::placed, true,
                       msg::order_status::placed};
  r.send(region_ref(cell), d);
  r.w.run();
  r.w.advance(1s);
  REQUIRE(gw.size() == 1);
  auto with_order = gw.next_any()->get_as<msg::region_stats>(2);
  CHECK(with_order.orders_by_status.at("placed") == 1);
  CHECK(with_order.orders.size() == 1);
}

TEST_CASE("region_radius_triggers_apply_in_order_and_survive_a_crash") {
  rig r{harness::pick_seed("region.radius")};
  auto cell = cell_of(r.svc->cfg, {gangnam_lat, gangnam_lng});
  auto trig = [&](msg::radius_trigger_kind k, double m) {
    msg::radius_trigger t;
    t.target = cell;
    t.trigger = k;
    t.radius_m = m;
    return radius_trigger_cmd{rig::admin(), t};
  };
  auto a = r.ask_as<msg::radius_result>(region_ref(cell),
                                        trig(msg::radius_trigger_kind::weather, 2000));
  CHECK(a.radius_m == 2000);
  CHECK(a.applied);
  auto b = r.ask_as<msg::radius_result>(region_ref(cell),
                                        trig(msg::radius_trigger_kind::manual, 2500));
  CHECK(b.radius_m == 2000);
  CHECK_FALSE(b.applied);
  auto forbidden = radius_trigger_cmd{rig::rider_caller("r-1"), trig(msg::radius_trigger_kind::manual, 1).body};
  CHECK(code_of(r.ask(region_ref(cell), forbidden)) == core::errc::forbidden);
  r.w.crash();
  r.restart();
  CHECK(r.ask_as<region_radius>(region_ref(cell), region_radius_query{}).radius_m == 2000);
  auto c = r.ask_as<msg::radius_result>(region_ref(cell),
                                        trig(msg::radius_trigger_kind::restore, 0));
  CHECK(c.applied);
  CHECK(c.radius_m == 0);
  CHECK(c.reason.has_value());
  CHECK(r.ask_as<region_radius>(region_ref(cell), region_radius_query{}).radius_m == none_i64);
}

TEST_CASE("a_radius_trigger_on_a_cell_stores_never_consult_is_refused") {
  // Issue #12 item 6: a finer (or coarser) cell than the region resolution
  // took the trigger (`applied`) and nothing ever read it.
  rig r{harness::pick_seed("region.radius_res")};
  auto region = cell_of(r.svc->cfg, {gangnam_lat, gangnam_lng});
  auto finer = children_of(region, r.svc->cfg.region_res + 1).front();
  msg::radius_trigger t;
  t.target = finer;
  t.trigger = msg::radius_trigger_kind::weather;
  t.radius_m = 1500;
  CHECK(code_of(r.ask(region_ref(finer), radius_trigger_cmd{rig::admin(), t})) ==
        core::errc::bad_request);
  t.target = region;
  CHECK(r.ask_as<msg::radius_result>(region_ref(region), radius_trigger_cmd{rig::admin(), t})
            .applied);
}

TEST_CASE("region_stats_at_a_hot_spot_fit_one_frame_and_say_when_lists_are_cut") {
  // Issue #12 item 8: 1,000 riders at Gangnam made region_stats larger than
  // a frame, and the reply was dropped silently.
  auto cfg = test_config();
  cfg.region_split_riders = 100000; // keep one cell: this is about the message
  rig r{harness::pick_seed("region.stats_bound"), cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto cell = cell_of(cfg, centre);
  std::mt19937_64 rng{7};
  std::uniform_real_distribution<double> off{-300.0, 300.0};
  for (int i = 0; i < 1000; ++i) {
    auto id = "r-hot-" + std::to_string(i);
    r.available(id, true);
    r.position(id, 1, offset_m(centre.lat, centre.lng, off(rng), off(rng)));
  }
  auto stats = r.stats(cell);
  CHECK(stats.riders_available == 1000); // the counts stay complete
  CHECK(stats.truncated);
  CHECK(stats.riders.size() < 1000);
  auto text = msg::encode_json(msg::envelope{"", msg::client_body{stats}});
  CHECK(text.size() < core::limits::frame_bytes_max);
}

TEST_CASE("region_index_prunes_riders_not_heard_since_a_time_a_bounded_number_per_call") {
  region_index idx{1000};
  for (int i = 0; i < 100; ++i) {
    auto r = at("r-old-" + std::to_string(i), i);
    r.heard_ms = 1000;
    idx.upsert(r);
  }
  auto fresh = at("r-fresh", 5);
  fresh.heard_ms = 5000;
  idx.upsert(fresh);
  constexpr std::size_t scan_max = 10;
  auto first = idx.prune_silent(2000, scan_max);
  CHECK(first.size() < 100); // bounded: a sweep looks at about scan_max riders
  std::size_t gone = first.size();
  for (int call = 0; call < 1000 && idx.size() > 1; ++call)
    gone += idx.prune_silent(2000, scan_max).size();
  CHECK(gone == 100);
  CHECK(idx.size() == 1);
  CHECK(idx.contains("r-fresh"));
  CHECK(idx.available() == 1);
  CHECK(idx.prune_silent(2000, scan_max).empty());
}

TEST_CASE("a_region_drops_riders_silent_for_region_rider_silence_and_dispatch_never_offers_them") {
  // Issue #12 item 5: a rider whose app died without going offline stayed
  // in its region for good. With its phone's clock ahead, its position even
  // looked fresh to dispatch for as long as the clock was ahead.
  rig r{harness::pick_seed("region.silence")};
  const auto& cfg = r.svc->cfg;
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto cell = cell_of(cfg, centre);
  auto live_at = offset_m(centre.lat, centre.lng, 300, 0);
  REQUIRE(cell_of(cfg, live_at) == cell);
  r.available("r-ahead", true);
  msg::position pos;
  pos.seq = 1;
  pos.lat = centre.lat;
  pos.lng = centre.lng;
  pos.time_ms = r.w.clock().now_ms() + 10 * 60 * 1000; // the phone's clock is 10 min ahead
  r.ask_as<msg::ack>(rider_ref(core::rider_id{"r-ahead"}),
                     position_cmd{rig::rider_caller("r-ahead"), pos});
  r.available("r-live", true);
  std::uint64_t seq = 0;
  r.position("r-live", ++seq, live_at);
  REQUIRE(r.stats(cell).riders_available == 2);
  // r-live reports every 5 s; r-ahead is never heard from again.
  for (auto t = std::chrono::milliseconds{0};
       t <= cfg.region_rider_silence + cfg.region_prune_interval; t += 5s) {
    r.w.advance(5s);
    r.position("r-live", ++seq, live_at);
  }
  auto s = r.stats(cell);
  CHECK(s.riders_available == 1);
  CHECK(s.riders.size() == 1);
  for (auto& m : s.riders)
    CHECK(m.rider_id.str() == "r-live");
  r.start("o-1", centre);
  CHECK(r.dispatch("o-1").rider_id == "r-live");
  // A pruned rider that speaks again is back.
  pos.seq = 2;
  pos.time_ms = r.w.clock().now_ms();
  r.ask_as<msg::ack>(rider_ref(core::rider_id{"r-ahead"}),
                     position_cmd{rig::rider_caller("r-ahead"), pos});
  CHECK(r.stats(cell).riders_available == 1); // r-ahead; r-live holds the offer
  CHECK(r.stats(cell).riders_busy == 1);
}

TEST_CASE("a_split_cell_drops_silent_riders_from_its_directory_and_children") {
  auto cfg = test_config();
  cfg.region_split_riders = 4;
  cfg.region_merge_riders = 2;
  rig r{harness::pick_seed("region.silence_split"), cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto parent = cell_of(cfg, centre);
  auto kids = children_of(parent, cfg.region_res + 1);
  for (int i = 0; i < 6; ++i) {
    auto id = "r-" + std::to_string(i);
    r.available(id, true);
    r.position(id, 1, offset_m(centre.lat, centre.lng, 60.0 * i - 150, 40.0 * i - 100));
  }
  REQUIRE(r.stats(parent).riders_available == 6);
  std::size_t in_children = 0;
  for (auto& k : kids)
    in_children += riders_in(r, k).size();
  REQUIRE(in_children == 6); // split
  // Only r-0 keeps reporting.
  std::uint64_t seq = 1;
  for (auto t = std::chrono::milliseconds{0};
       t <= cfg.region_rider_silence + cfg.region_prune_interval; t += 5s) {
    r.w.advance(5s);
    r.position("r-0", ++seq, offset_m(centre.lat, centre.lng, -150, -100));
  }
  CHECK(r.stats(parent).riders_available == 1);
  auto at_parent = riders_in(r, parent);
  CHECK(at_parent == std::vector<std::string>{"r-0"});
  std::size_t left_in_children = 0;
  for (auto& k : kids)
    left_in_children += riders_in(r, k).size();
  CHECK(left_in_children == 0); // merged back: below region_merge_riders
}
