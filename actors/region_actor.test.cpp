// Regions: the pure index, stats and split bookkeeping, and the region
// entity in the harness (search, stats pushes, radius triggers, hot-cell
// split and merge).
#include "actors/order_state.hpp"
#include "actors/region_index.hpp"
#include "actors/rider_test_kit.hpp"
#include "core/limits.hpp"
#include "geo/hierarchy.hpp"
#include "messages/json.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
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

TEST_CASE("split_children_sum_reported_loads_and_merge_only_once_all_reported") {
  split_children k;
  k.start({"c1", "c2", "c3"});
  CHECK(k.set_load("c1", 3, 1, false)); // handed down at the split
  CHECK_FALSE(k.set_load("c9", 1, 1, true));
  CHECK(k.riders() == 4);
  CHECK_FALSE(k.all_reported());
  k.set_load("c1", 2, 0, true);
  k.set_load("c2", 1, 1, true);
  CHECK_FALSE(k.all_reported());
  k.set_load("c3", 0, 0, true);
  CHECK(k.all_reported());
  CHECK(k.available() == 3);
  CHECK(k.busy() == 1);
  CHECK(k.children() == std::vector<std::string>{"c1", "c2", "c3"});
  k.forget_reports(); // the parent recovered: counts unknown until reported
  CHECK_FALSE(k.all_reported());
  CHECK(k.riders() == 0);
  CHECK(split_children::should_split(401, 400));
  CHECK_FALSE(split_children::should_split(400, 400));
  CHECK(split_children::should_merge(199, 200));
  CHECK_FALSE(split_children::should_merge(200, 200));
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
    // Union over the children == the parent's riders, each exactly once
    // (a child may have split again: riders_in asks its children).
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
      r.w.advance(2 * cfg.region_load_interval); // loads reported: a merge if it cooled
      check_children(in_parent().size() >= 10);
    }
    // Riders go offline until the cell cools below the merge threshold;
    // the children report their counts (region_load_interval) and the
    // parent merges.
    for (int i = 0; i < 24 && in_parent().size() >= 10; ++i) {
      auto id = "r-" + std::to_string(i);
      r.available(id, false);
      where.erase(id);
    }
    r.w.run();
    r.w.advance(2 * cfg.region_load_interval);
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

// -- nested split (issue #12 item 7) ----------------------------------------------

namespace {

region_probe probe(rig& r, const std::string& cell) {
  return r.ask_as<region_probe>(region_ref(cell), region_probe_query{});
}

/// `root` and every cell below it down to cfg.region_split_max_res.
std::vector<std::string> tree_of(const domain_config& cfg, const std::string& root) {
  std::vector<std::string> out{root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto c = geo::string_to_cell(out[i]);
    REQUIRE(c.ok());
    if (geo::get_resolution(*c) < cfg.region_split_max_res)
      for (auto& k : children_of(out[i], geo::get_resolution(*c) + 1))
        out.push_back(k);
  }
  return out;
}

/// Riders of a whole region tree as its cells hold them.
struct tree_view {
  std::map<std::string, region_probe> probes;      ///< cell -> probe
  std::multimap<std::string, std::string> holders; ///< rider -> cell holding it
};

tree_view look_at(rig& r, const domain_config& cfg, const std::string& root) {
  tree_view v;
  for (auto& cell : tree_of(cfg, root)) {
    auto p = probe(r, cell);
    v.probes[cell] = p;
    if (!p.split && p.riders > 0)
      for (auto& id : riders_in(r, cell))
        v.holders.emplace(id, cell);
  }
  return v;
}

/// The deepest cell of the tree containing `p` that is not split.
std::string owner_of(const tree_view& v, const domain_config& cfg, const std::string& root,
                     msg::lat_lng p) {
  auto cell = root;
  for (int res = cfg.region_res + 1; v.probes.at(cell).split; ++res)
    cell = cell_of(cfg, p, res);
  return cell;
}

/// Every rider in `expected` is held exactly once, by the deepest cell of
/// its position, and nobody else is held anywhere in the tree.
void check_exactly_once(const tree_view& v, const domain_config& cfg, const std::string& root,
                        const std::map<std::string, msg::lat_lng>& expected) {
  CHECK(v.holders.size() == expected.size());
  for (auto& [id, p] : expected) {
    CAPTURE(id);
    REQUIRE(v.holders.count(id) == 1);
    auto held_by = v.holders.find(id)->second;
    CHECK(held_by == owner_of(v, cfg, root, p));
    CHECK(v.probes.at(held_by).owner);
  }
}

int deepest_res(const tree_view& v) {
  int deepest = 0;
  for (auto& [cell, p] : v.probes)
    if (p.owner && p.riders > 0)
      deepest = std::max(deepest, geo::get_resolution(*geo::string_to_cell(cell)));
  return deepest;
}

/// A point at most `radius_m` from (lat,lng), denser near it (the hot spot
/// is hottest at the station).
msg::lat_lng near(std::mt19937_64& rng, msg::lat_lng c, double radius_m) {
  std::uniform_real_distribution<double> u{0.0, 1.0};
  double d = radius_m * u(rng);
  double a = 2 * 3.14159265358979 * u(rng);
  return offset_m(c.lat, c.lng, d * std::cos(a), d * std::sin(a));
}

} // namespace

TEST_CASE("a_gangnam_hot_spot_splits_7_8_9_riders_report_to_the_deepest_cell_and_it_merges_back") {
  auto cfg = test_config();
  cfg.region_split_riders = 150;
  cfg.region_merge_riders = 60;
  auto seed = harness::pick_seed("region.gangnam");
  CAPTURE(seed);
  rig r{seed, cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto root = cell_of(cfg, centre);
  std::mt19937_64 rng{seed};
  std::map<std::string, msg::lat_lng> where;
  std::map<std::string, std::uint64_t> seq;
  auto move = [&](const std::string& id, msg::lat_lng p) {
    r.position(id, ++seq[id], p);
    where[id] = p;
  };
  auto in_root = [&] {
    std::map<std::string, msg::lat_lng> out;
    for (auto& [id, p] : where)
      if (cell_of(cfg, p) == root)
        out[id] = p;
    return out;
  };
  constexpr int riders = 1000;
  for (int i = 0; i < riders; ++i) {
    auto id = "r-" + std::to_string(i);
    r.available(id, true);
    move(id, near(rng, centre, 1000));
  }
  r.w.advance(2 * cfg.region_load_interval);
  auto expected = in_root();
  REQUIRE(expected.size() > 500);

  // 7 -> 8 -> 9: the root and the hottest res-8 children split.
  auto v = look_at(r, cfg, root);
  CHECK(v.probes.at(root).split);
  int split_8 = 0;
  for (auto& k : children_of(root, cfg.region_res + 1))
    split_8 += v.probes.at(k).split ? 1 : 0;
  CHECK(split_8 >= 1);
  CHECK(deepest_res(v) == 9);
  check_exactly_once(v, cfg, root, expected);
  CHECK(r.stats(root).riders_available == expected.size());
  {
    // The live map learns the split: region_stats lists the deepest cells
    // (children of split cells that are not split themselves), in cell
    // order, and their riders add up to the root's.
    std::vector<std::string> leaves;
    for (auto& [cell, p] : v.probes) {
      auto c = *geo::string_to_cell(cell);
      if (cell == root || p.split)
        continue;
      auto parent = geo::cell_to_string(*geo::cell_to_parent(c, geo::get_resolution(c) - 1));
      if (v.probes.at(parent).split)
        leaves.push_back(cell);
    }
    std::sort(leaves.begin(), leaves.end());
    auto s = r.stats(root);
    std::vector<std::string> listed;
    std::uint64_t riders_listed = 0;
    for (auto& c : s.split_cells) {
      listed.push_back(c.cell);
      riders_listed += c.riders_available + c.riders_busy;
      auto res = geo::get_resolution(*geo::string_to_cell(c.cell));
      CHECK((res == 8 || res == 9));
    }
    CHECK(listed == leaves);
    CHECK(riders_listed == expected.size());
  }

  // Riders were told where to report: the next round reaches the deepest
  // cells straight; the split cells see no rider message.
  for (auto& [id, p] : expected)
    CHECK(r.view(id).report_cell == owner_of(v, cfg, root, p));
  std::map<std::string, std::uint64_t> msgs_before;
  for (auto& [cell, p] : v.probes)
    if (p.split)
      msgs_before[cell] = p.rider_msgs;
  REQUIRE(msgs_before.size() >= 2);
  for (auto& [id, p] : std::map<std::string, msg::lat_lng>{where})
    move(id, p); // the same position, a new seq
  r.w.advance(cfg.region_load_interval);
  for (auto& [cell, n] : msgs_before) {
    CAPTURE(cell);
    CHECK(probe(r, cell).rider_msgs == n);
  }
  v = look_at(r, cfg, root);
  check_exactly_once(v, cfg, root, expected);

  // Dispatch asks the root and still gets the nearest riders.
  region_find_riders q{centre.lat, centre.lng, 400, 10, {}};
  auto found = r.ask_as<region_candidates>(region_ref(root), q);
  std::vector<std::pair<double, std::string>> nearest;
  for (auto& [id, p] : expected) {
    auto d = distance_between_m(centre.lat, centre.lng, p.lat, p.lng);
    if (d <= 400)
      nearest.emplace_back(d, id);
  }
  std::sort(nearest.begin(), nearest.end());
  nearest.resize(std::min<std::size_t>(nearest.size(), 10));
  REQUIRE(found.riders.size() == nearest.size());
  for (std::size_t i = 0; i < nearest.size(); ++i)
    CHECK(found.riders[i].rider_id.str() == nearest[i].second);

  // Riders spread out (far away) or go offline, keeping 100 in the root
  // cell: every res-8 subtree cools below the merge threshold (9 -> 8),
  // the root's stays above it.
  std::vector<std::string> ids;
  for (auto& [id, p] : expected)
    ids.push_back(id);
  std::shuffle(ids.begin(), ids.end(), rng);
  auto far = offset_m(centre.lat, centre.lng, 0, 8000);
  auto thin_to = [&](std::size_t keep) {
    for (auto& [id, p] : std::map<std::string, msg::lat_lng>{where}) {
      if (std::find(ids.begin(), ids.begin() + keep, id) != ids.begin() + keep)
        continue;
      if (std::hash<std::string>{}(id) % 2 == 0) {
        r.available(id, false);
        where.erase(id);
      } else {
        move(id, near(rng, far, 300));
      }
    }
    r.w.advance(3 * cfg.region_load_interval);
  };
  thin_to(100);
  expected = in_root();
  REQUIRE(expected.size() == 100);
  v = look_at(r, cfg, root);
  CHECK(v.probes.at(root).split);
  for (auto& k : children_of(root, cfg.region_res + 1))
    CHECK_FALSE(v.probes.at(k).split);
  CHECK(deepest_res(v) == 8);
  check_exactly_once(v, cfg, root, expected);
  for (std::size_t i = 0; i < 30; ++i) // the riders moved up with the merge
    CHECK(r.view(ids[i]).report_cell == owner_of(v, cfg, root, where.at(ids[i])));

  // And 8 -> 7.
  thin_to(40);
  expected = in_root();
  REQUIRE(expected.size() == 40);
  v = look_at(r, cfg, root);
  CHECK_FALSE(v.probes.at(root).split);
  CHECK(v.probes.at(root).riders == 40);
  check_exactly_once(v, cfg, root, expected);
  for (auto& [id, p] : expected)
    CHECK(r.view(id).report_cell == root);
  CHECK(r.stats(root).riders_available == 40);
  CHECK(r.stats(root).split_cells.empty()); // merged: the map draws the cell alone
  for (auto& [cell, p] : v.probes)
    CHECK(p.dropped == 0);
}

TEST_CASE("order_deltas_at_a_split_region_land_in_the_deepest_cell_and_its_stats_are_the_exact_sum") {
  using st = msg::order_status;
  auto cfg = test_config();
  cfg.region_split_riders = 6;
  cfg.region_merge_riders = 3;
  rig r{harness::pick_seed("region.orders_follow"), cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto root = cell_of(cfg, centre);
  std::map<std::string, msg::lat_lng> store_of;
  std::map<std::string, st> status;
  std::map<std::string, std::uint32_t> finished;
  auto order = [&](const std::string& id, st to, msg::lat_lng store) {
    region_order_delta d{core::order_id{id}, to, status.count(id) == 0,
                         status.count(id) ? status[id] : st::placed, store.lat + 0.001,
                         store.lng};
    d.store_lat = store.lat;
    d.store_lng = store.lng;
    r.send(region_ref(root), d);
    store_of[id] = store;
    if (is_terminal(to)) {
      status.erase(id);
      finished[std::string{msg::to_string(to)}] += 1;
    } else {
      status[id] = to;
    }
  };
  auto expected_by_status = [&] {
    auto out = finished;
    for (auto& [id, s] : status)
      out[std::string{msg::to_string(s)}] += 1;
    return out;
  };
  auto nonzero = [](std::map<std::string, std::uint32_t> m) {
    for (auto it = m.begin(); it != m.end();)
      it = it->second == 0 ? m.erase(it) : std::next(it);
    return m;
  };
  // Stores at the station (its res-8 and res-9 cells will split) and around.
  std::vector<msg::lat_lng> stores;
  for (int i = 0; i < 6; ++i)
    stores.push_back(offset_m(centre.lat, centre.lng, 15.0 * i, -10.0 * i));
  for (int i = 0; i < 6; ++i)
    stores.push_back(offset_m(centre.lat, centre.lng, 350.0 - 120 * i, 250.0 - 90 * i));
  for (auto& s : stores)
    REQUIRE(cell_of(cfg, s) == root);
  // Orders placed before the split.
  for (int i = 0; i < 5; ++i)
    order("o-" + std::to_string(i), st::placed, stores[i * 2]);
  order("o-0", st::paid, stores[0]);
  r.w.run();
  CHECK(nonzero(r.stats(root).orders_by_status) == expected_by_status());

  // Riders crowd the station: the root splits, and the station's res-8 cell.
  for (int i = 0; i < 14; ++i) {
    auto id = "r-" + std::to_string(i);
    r.available(id, true);
    r.position(id, 1, i < 9 ? offset_m(centre.lat, centre.lng, 5.0 * i, 3.0 * i)
                            : offset_m(centre.lat, centre.lng, 300.0 - 100 * (i - 9), 200));
  }
  r.w.advance(2 * cfg.region_load_interval);
  REQUIRE(probe(r, root).split);
  REQUIRE(probe(r, cell_of(cfg, centre, cfg.region_res + 1)).split);

  // Orders after the split, and the earlier ones moving on.
  for (int i = 5; i < 12; ++i)
    order("o-" + std::to_string(i), st::placed, stores[i]);
  order("o-0", st::accepted, stores[0]);
  order("o-2", st::cancelled, stores[4]);
  order("o-5", st::paid, stores[5]);
  order("o-6", st::paid, stores[6]);
  order("o-6", st::accepted, stores[6]);
  order("o-7", st::rejected, stores[7]);
  r.w.run();

  auto v = look_at(r, cfg, root);
  CHECK(v.probes.at(root).orders == 0); // nothing stays on a split cell
  std::uint32_t held = 0;
  for (auto& [cell, p] : v.probes)
    held += p.split ? 0 : p.orders;
  CHECK(held == status.size());
  for (auto& [id, s] : status) {
    CAPTURE(id);
    auto cell = owner_of(v, cfg, root, store_of[id]);
    CHECK(geo::get_resolution(*geo::string_to_cell(cell)) > cfg.region_res);
    auto stats = r.stats(cell);
    auto it = std::find_if(stats.orders.begin(), stats.orders.end(),
                           [&](auto& o) { return o.order_id.str() == id; });
    REQUIRE(it != stats.orders.end());
    CHECK(it->status == s);
  }
  CHECK(nonzero(r.stats(root).orders_by_status) == expected_by_status());

  // The riders leave: 9 -> 8 -> 7; the orders come back up, still exact.
  for (int i = 0; i < 14; ++i)
    r.available("r-" + std::to_string(i), false);
  r.w.advance(4 * cfg.region_load_interval);
  REQUIRE_FALSE(probe(r, root).split);
  CHECK(probe(r, root).orders == status.size());
  CHECK(nonzero(r.stats(root).orders_by_status) == expected_by_status());
  order("o-5", st::accepted, stores[5]);
  order("o-6", st::delivered, stores[6]);
  r.w.run();
  CHECK(nonzero(r.stats(root).orders_by_status) == expected_by_status());
}

TEST_CASE("region_index_drops_forwarded_updates_older_than_an_entry_or_a_remembered_leave") {
  region_index idx{100};
  auto r = at("r-1", 10);
  r.seq = 5;
  r.how = arrival::direct;
  idx.upsert(r);
  CHECK_FALSE(idx.is_newer("r-1", 4, arrival::forwarded, 0));
  CHECK_FALSE(idx.is_newer("r-1", 5, arrival::forwarded, 0)); // the rider went direct after it
  CHECK(idx.is_newer("r-1", 6, arrival::forwarded, 0));
  CHECK(idx.is_newer("r-1", 1, arrival::direct, 0)); // the rider's own word (a crash restarts its seq)
  CHECK_FALSE(idx.leave("r-1", 5, arrival::forwarded, 1000)); // not older than the entry
  CHECK(idx.contains("r-1"));
  CHECK(idx.leave("r-1", 7, arrival::forwarded, 1000));
  CHECK_FALSE(idx.is_newer("r-1", 6, arrival::forwarded, 1000)); // the tombstone
  CHECK(idx.is_newer("r-1", 7, arrival::forwarded, 1000));
  CHECK(idx.is_newer("r-1", 6, arrival::forwarded, 1000 + region_tombstone_ttl_ms + 1));
  // Bounded however many riders leave.
  for (std::size_t i = 0; i < 3 * region_tombstones_max; ++i)
    idx.leave("r-x" + std::to_string(i), 1, arrival::forwarded, 2000);
  CHECK(idx.tombstones() <= region_tombstones_max);
}

TEST_CASE("a_forwarded_update_after_a_newer_direct_one_or_a_leave_does_not_rewind_or_resurrect") {
  auto cfg = test_config();
  cfg.region_split_riders = 4;
  cfg.region_merge_riders = 2;
  rig r{harness::pick_seed("region.reorder"), cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto root = cell_of(cfg, centre);
  auto update = [&](const std::string& to, const std::string& id, std::uint64_t seq,
                    msg::lat_lng p, region_via via, const std::string& reported_to) {
    region_rider_update u{core::rider_id{id}, p.lat, p.lng, r.w.clock().now_ms(),
                          rider_state::available};
    u.seq = seq;
    u.via = via;
    u.reported_to = reported_to;
    r.send(region_ref(to), u);
    r.w.run();
  };
  // Five riders in the root: it splits; r-0 is in a res-8 child.
  for (int i = 0; i < 5; ++i) {
    auto p = offset_m(centre.lat, centre.lng, 60.0 * i, -40.0 * i);
    REQUIRE(cell_of(cfg, p) == root);
    update(root, "r-" + std::to_string(i), 1, p, region_via::rider, root);
  }
  REQUIRE(probe(r, root).split);
  auto p9 = offset_m(centre.lat, centre.lng, 20, 0);
  auto p10 = offset_m(centre.lat, centre.lng, 40, 0);
  auto child = cell_of(cfg, centre, cfg.region_res + 1);
  REQUIRE(cell_of(cfg, p9, cfg.region_res + 1) == child);
  REQUIRE(cell_of(cfg, p10, cfg.region_res + 1) == child);
  auto where_is = [&](const std::string& id) -> std::optional<msg::lat_lng> {
    region_find_riders q{gangnam_lat, gangnam_lng, 1e7, 100, {}};
    for (auto& c : r.ask_as<region_candidates>(region_ref(child), q).riders)
      if (c.rider_id.str() == id)
        return msg::lat_lng{c.lat, c.lng};
    return std::nullopt;
  };
  // r-0 reports seq 10 straight to its child; its seq 9, sent to the root
  // earlier, arrives (forwarded by the root) only now.
  update(child, "r-0", 10, p10, region_via::rider, child);
  auto stale_before = probe(r, child).stale;
  update(child, "r-0", 9, p9, region_via::parent, root);
  REQUIRE(where_is("r-0").has_value());
  CHECK(where_is("r-0")->lat == doctest::Approx(p10.lat));
  CHECK(probe(r, child).stale == stale_before + 1);
  // r-0 leaves (seq 11); a forward of its seq 10 comes after: it stays gone.
  region_rider_leave leave{core::rider_id{"r-0"}, 11, p10.lat, p10.lng};
  r.send(region_ref(child), leave);
  r.w.run();
  CHECK_FALSE(where_is("r-0").has_value());
  update(child, "r-0", 10, p10, region_via::parent, root);
  CHECK_FALSE(where_is("r-0").has_value());
  CHECK(r.stats(root).riders_available == 4);
  // Its next position (seq 12) brings it back, by whatever path.
  update(root, "r-0", 12, p9, region_via::rider, root);
  CHECK(where_is("r-0").has_value());
  CHECK(r.stats(root).riders_available == 5);
}

TEST_CASE("a_crash_of_a_split_parent_or_of_a_child_loses_no_rider_beyond_its_next_update") {
  auto cfg = test_config();
  cfg.region_split_riders = 20;
  cfg.region_merge_riders = 8;
  auto seed = harness::pick_seed("region.split_crash");
  CAPTURE(seed);
  rig r{seed, cfg};
  const msg::lat_lng centre{gangnam_lat, gangnam_lng};
  auto root = cell_of(cfg, centre);
  std::mt19937_64 rng{seed};
  std::map<std::string, msg::lat_lng> where;
  std::map<std::string, std::uint64_t> seq;
  auto send_position = [&](const std::string& id, msg::lat_lng p) {
    msg::position pos;
    pos.seq = ++seq[id];
    pos.lat = p.lat;
    pos.lng = p.lng;
    pos.time_ms = r.w.clock().now_ms();
    r.send(rider_ref(core::rider_id{id}), position_cmd{rig::rider_caller(id), pos});
    where[id] = p;
  };
  auto in_root = [&] {
    std::map<std::string, msg::lat_lng> out;
    for (auto& [id, p] : where)
      if (cell_of(cfg, p) == root)
        out[id] = p;
    return out;
  };
  for (int i = 0; i < 80; ++i) {
    auto id = "r-" + std::to_string(i);
    r.available(id, true);
    send_position(id, near(rng, centre, 400));
    r.w.run();
  }
  r.w.advance(2 * cfg.region_load_interval);
  auto v = look_at(r, cfg, root);
  REQUIRE(v.probes.at(root).split);
  REQUIRE(deepest_res(v) == 9);
  check_exactly_once(v, cfg, root, in_root());
  // Every rider's next update, moving a little; the crash comes after half
  // of them. Riders whose update came after it are all there at once (a
  // crash of a cell that holds none loses none); the others are back with
  // their next update.
  auto moves = [&](int crash_after, auto crash) {
    int i = 0;
    for (auto& [id, p] : std::map<std::string, msg::lat_lng>{where}) {
      if (i++ == crash_after)
        crash();
      send_position(id, near(rng, p, 30));
    }
    r.w.run();
    r.w.advance(2 * cfg.region_load_interval);
  };
  auto round = [&](auto crash, bool holds_riders) {
    moves(40, crash);
    if (!holds_riders) {
      auto seen = look_at(r, cfg, root);
      check_exactly_once(seen, cfg, root, in_root());
    }
    moves(-1, [] {});
    auto seen = look_at(r, cfg, root);
    check_exactly_once(seen, cfg, root, in_root());
    CHECK(r.stats(root).riders_available == in_root().size());
    return seen;
  };
  // The split root dies.
  v = round([&] { r.kill_activation<region_probe>(region_ref(root), region_probe_query{}); },
            false);
  CHECK(v.probes.at(root).split);
  // A split res-8 child dies.
  std::string split_child;
  for (auto& k : children_of(root, cfg.region_res + 1))
    if (v.probes.at(k).split)
      split_child = k;
  REQUIRE_FALSE(split_child.empty());
  v = round([&] {
    r.kill_activation<region_probe>(region_ref(split_child), region_probe_query{});
  }, false);
  CHECK(v.probes.at(split_child).split);
  // The busiest owner (res 9) dies: its riders come back with their next update.
  std::string leaf;
  std::uint32_t most = 0;
  for (auto& [cell, p] : v.probes)
    if (p.owner && p.riders > most) {
      most = p.riders;
      leaf = cell;
    }
  REQUIRE(most > 0);
  round([&] { r.kill_activation<region_probe>(region_ref(leaf), region_probe_query{}); },
        true);
  // And all the way back down to one cell, nobody lost.
  int kept = 0;
  for (auto& [id, p] : std::map<std::string, msg::lat_lng>{where})
    if (++kept > 5) {
      r.available(id, false);
      where.erase(id);
    }
  r.w.advance(4 * cfg.region_load_interval);
  v = look_at(r, cfg, root);
  REQUIRE(in_root().size() < cfg.region_merge_riders);
  CHECK_FALSE(v.probes.at(root).split);
  check_exactly_once(v, cfg, root, in_root());
}
