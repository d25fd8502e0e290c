// The router in cluster mode: several routers in one deterministic world
// sharing one journal, with views given by hand (the simulated network and
// membership are tests/harness/cluster_world; this pins the router's own
// rules: forwarding, replies, order across a hop and across a handoff).
#include "tests/cluster/counter_entity.hpp"
#include "tests/harness/harness.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/placement.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace courier;
using testing::add_atom;
using testing::get_atom;
using testing::counter;
using testing::key_owned_by;

namespace {

struct cluster_fixture {
  harness::world w;
  std::map<std::string, caf::actor> routers;
  std::shared_ptr<std::atomic<int>> activations = std::make_shared<std::atomic<int>>(0);
  std::uint64_t version = 0;

  explicit cluster_fixture(const std::string& label) : w{harness::pick_seed(label)} {}

  caf::actor& start(const std::string& id, cluster::router_config cfg = {}) {
    cfg.node_id = id;
    return routers[id] = w.spawn_router(testing::counter_factories(activations), cfg);
  }

  cluster::cluster_view view(const std::vector<std::string>& ids,
                             const std::vector<std::string>& draining = {}) {
    cluster::cluster_view v;
    v.version = ++version;
    for (auto& id : ids) {
      cluster::member m;
      m.id = id;
      m.epoch = 1;
      m.draining = std::find(draining.begin(), draining.end(), id) != draining.end();
      m.router = routers.at(id);
      v.members.push_back(m);
    }
    return v;
  }

  void give(const std::string& id, const cluster::cluster_view& v) {
    caf::anon_send(routers.at(id), cluster::view_atom::value, v);
  }

  void add(const harness::probe& p, const std::string& via, const std::string& key,
           const std::string& value) {
    caf::send_as(p.handle, routers.at(via), cluster::route_atom::value, counter(key),
                 caf::make_message(add_atom::value, value));
  }

  std::vector<std::string> values(harness::probe& p, const std::string& via,
                                  const std::string& key) {
    p.clear();
    caf::send_as(p.handle, routers.at(via), cluster::route_atom::value, counter(key),
                 caf::make_message(get_atom::value));
    w.run();
    auto v = p.next<std::vector<std::string>>();
    REQUIRE(v.has_value());
    return *v;
  }

  cluster::router_stats stats(harness::probe& p, const std::string& id) {
    p.clear();
    caf::send_as(p.handle, routers.at(id), cluster::stats_atom::value);
    w.run();
    auto s = p.next<cluster::router_stats>();
    REQUIRE(s.has_value());
    return *s;
  }
};

} // namespace

TEST_CASE("a message for a key owned elsewhere reaches its owner and the reply comes back") {
  cluster_fixture f{"router_cluster.forward"};
  f.start("n1");
  f.start("n2");
  auto v = f.view({"n1", "n2"});
  f.give("n1", v);
  f.give("n2", v);
  auto key = key_owned_by({"n1", "n2"}, "n2");
  auto p = f.w.make_probe();
  for (int i = 0; i < 100; ++i)
    f.add(p, "n1", key, "v" + std::to_string(i));
  f.w.run();
  for (int i = 1; i <= 100; ++i) {
    auto ver = p.next<storage::version_t>();
    REQUIRE(ver.has_value());
    CHECK(*ver == static_cast<storage::version_t>(i)); // replies in send order
  }
  auto vals = f.values(p, "n2", key);
  REQUIRE(vals.size() == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(vals[static_cast<std::size_t>(i)] == "v" + std::to_string(i));
  CHECK(f.stats(p, "n1").live == 0);
  CHECK(f.stats(p, "n1").forwarded_total == 100);
  CHECK(f.stats(p, "n2").live == 1);
}

TEST_CASE("messages wait for the first view") {
  cluster_fixture f{"router_cluster.no_view"};
  f.start("n1");
  auto p = f.w.make_probe();
  f.add(p, "n1", "a", "x");
  f.w.run();
  CHECK(p.size() == 0);
  f.give("n1", f.view({"n1"}));
  f.w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
}

TEST_CASE("a joining node takes keys over without a message overtaking an older one") {
  // One sender writes batch A through n1 while n3 joins, then batch B
  // through n3 (which routes by the new view). The key moves n1 -> n3;
  // however the views and messages interleave (seeded), A comes before B.
  for (int run = 0; run < 200; ++run) {
    cluster_fixture f{"router_cluster.join." + std::to_string(run)};
    f.start("n1");
    f.start("n2");
    f.start("n3");
    auto v1 = f.view({"n1", "n2"});
    for (auto id : {"n1", "n2", "n3"})
      f.give(id, v1);
    f.w.run();
    auto key = key_owned_by({"n1", "n2", "n3"}, "n3", run * 7);
    // Under v1 the key may be n1's or n2's; either way it moves to n3.
    auto p = f.w.make_probe();
    for (int i = 0; i < 20; ++i)
      f.add(p, "n1", key, "a" + std::to_string(i));
    auto v2 = f.view({"n1", "n2", "n3"});
    // n3 adopts first, the others at random points later.
    f.give("n3", v2);
    for (int i = 0; i < 5; ++i)
      f.w.step();
    f.give("n2", v2);
    for (int i = 0; i < 5; ++i)
      f.w.step();
    for (int i = 0; i < 20; ++i)
      f.add(p, "n3", key, "b" + std::to_string(i));
    f.give("n1", v2);
    f.w.run();
    auto vals = f.values(p, "n3", key);
    REQUIRE(vals.size() == 40);
    for (int i = 0; i < 20; ++i) {
      CHECK(vals[static_cast<std::size_t>(i)] == "a" + std::to_string(i));
      CHECK(vals[static_cast<std::size_t>(20 + i)] == "b" + std::to_string(i));
    }
    CHECK(f.stats(p, "n1").live == 0);
    CHECK(f.stats(p, "n2").live == 0);
  }
}

TEST_CASE("an activation that ran under an older view tells the key's new owner once it stops") {
  // n1 believes it is alone (a view without n2) and writes a key that n2
  // already runs; when n1 learns of n2 again, n2's activation is stale.
  // With moved_notice the router sends it the notice (here: boom, so the
  // next message recovers from the journal); without, it stays stale.
  for (bool notice : {true, false}) {
    cluster_fixture f{std::string{"router_cluster.moved_notice."} + (notice ? "on" : "off")};
    cluster::router_config cfg;
    if (notice)
      cfg.moved_notice["counter"] = caf::make_message(testing::boom_atom::value);
    f.start("n1", cfg);
    f.start("n2", cfg);
    auto v1 = f.view({"n1", "n2"});
    f.give("n1", v1);
    f.give("n2", v1);
    f.w.run();
    auto key = key_owned_by({"n1", "n2"}, "n2");
    auto p = f.w.make_probe();
    f.add(p, "n2", key, "x");
    f.w.run();
    f.give("n1", f.view({"n1"})); // n2 never hears of this view
    f.add(p, "n1", key, "y");
    f.w.run();
    auto v3 = f.view({"n1", "n2"});
    f.give("n1", v3);
    f.give("n2", v3);
    f.w.run();
    auto vals = f.values(p, "n2", key);
    if (notice)
      CHECK(vals == std::vector<std::string>{"x", "y"});
    else
      CHECK(vals == std::vector<std::string>{"x"}); // what the notice is for
  }
}

TEST_CASE("a draining node hands its entities off and reports it") {
  cluster_fixture f{"router_cluster.drain"};
  f.start("n1");
  f.start("n2");
  auto v1 = f.view({"n1", "n2"});
  f.give("n1", v1);
  f.give("n2", v1);
  auto p = f.w.make_probe();
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i)
    keys.push_back("d" + std::to_string(i));
  for (auto& k : keys)
    f.add(p, "n1", k, "before");
  f.w.run();
  auto v2 = f.view({"n1", "n2"}, {"n1"});
  f.give("n1", v2);
  for (auto& k : keys)
    f.add(p, "n1", k, "during");
  f.give("n2", v2);
  f.w.run();
  auto s1 = f.stats(p, "n1");
  CHECK(s1.live == 0);
  CHECK(s1.handed_off_version == v2.version);
  for (auto& k : keys) {
    auto vals = f.values(p, "n2", k);
    REQUIRE(vals.size() == 2);
    CHECK(vals[0] == "before");
    CHECK(vals[1] == "during");
  }
  CHECK(f.stats(p, "n2").live == keys.size());
}

TEST_CASE("messages for a dead member's keys are held until the view drops it") {
  cluster_fixture f{"router_cluster.dead"};
  f.start("n1");
  f.start("n2");
  auto v1 = f.view({"n1", "n2"});
  f.give("n1", v1);
  f.give("n2", v1);
  f.w.run();
  auto key = key_owned_by({"n1", "n2"}, "n2");
  caf::anon_send_exit(f.routers.at("n2"), caf::exit_reason::kill);
  f.w.run();
  auto p = f.w.make_probe();
  f.add(p, "n1", key, "x");
  f.w.run();
  CHECK(p.size() == 0); // held, not lost
  CHECK(f.stats(p, "n1").buffered_total >= 1);
  auto v2 = f.view({"n1"});
  f.give("n1", v2);
  f.w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
}

TEST_CASE("a fenced router stops serving and parks messages until a newer view has it") {
  cluster_fixture f{"router_cluster.fence"};
  f.start("n1");
  auto p = f.w.make_probe();
  auto v1 = f.view({"n1"});
  f.give("n1", v1);
  f.add(p, "n1", "a", "x");
  f.w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
  CHECK(f.stats(p, "n1").live == 1);
  caf::anon_send(f.routers.at("n1"), cluster::fence_atom::value);
  f.w.run();
  CHECK(f.stats(p, "n1").live == 0);
  f.add(p, "n1", "a", "y");
  f.give("n1", v1); // the view it was fenced in does not count
  f.w.run();
  CHECK(p.size() == 0);
  f.give("n1", f.view({"n1"}));
  f.w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{2});
}

TEST_CASE("the same view with a new handle reconnects a member whose connection broke") {
  cluster_fixture f{"router_cluster.refresh"};
  f.start("n1");
  f.start("n2");
  auto p = f.w.make_probe();
  auto key = key_owned_by({"n1", "n2"}, "n2");
  // n1 reaches n2 through a relay it monitors: killing the relay is a
  // broken connection; a new relay is the new connection.
  auto relay = [&] {
    auto body = [](caf::event_based_actor* self, caf::actor target) -> caf::behavior {
      return {
          [=](cluster::forward_atom a, std::string& from, std::string& origin, std::uint64_t seq,
              cluster::entity_ref& ref, caf::message& payload) {
            return self->delegate(target, a, std::move(from), std::move(origin), seq,
                                  std::move(ref), std::move(payload));
          },
          [=](cluster::adopted_atom a, std::string& from, std::uint64_t version) {
            self->send(target, a, std::move(from), version);
          },
          [=](cluster::handoff_atom a, std::string& from, std::uint64_t version) {
            self->send(target, a, std::move(from), version);
          },
      };
    };
    return f.w.sys().spawn(body, f.routers.at("n2"));
  };
  auto v = f.view({"n1", "n2"});
  auto first = relay();
  auto for_n1 = v;
  for_n1.members[1].router = first;
  f.give("n1", for_n1);
  f.give("n2", v);
  f.w.run();
  caf::anon_send_exit(first, caf::exit_reason::kill);
  f.w.run();
  f.add(p, "n1", key, "x"); // parked: its owner is unreachable
  f.w.run();
  CHECK(p.size() == 0);
  for_n1.members[1].router = relay();
  f.give("n1", for_n1);
  f.w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
  CHECK(f.values(p, "n2", key) == std::vector<std::string>{"x"});
}
