// Multi-node runs in one process (tests/harness/cluster_world.hpp): first
// the pieces against plain actors (links, the shared fenced store, the
// membership controller), then the real router on N nodes (forwarding,
// order across a hop, crash failover, drain, partition + fencing), then a
// property test of the order side over >= 1,000 seeded runs with
// partitions, crashes, restarts, drains and link faults.
// Seeds follow tests/harness/seeds.hpp: COURIER_SEED=<s> replays seed s
// alone; COURIER_SEEDS=<n> changes the count.
#include "actors/order_state.hpp"
#include "actors/order_testing.hpp"
#include "tests/cluster/counter_entity.hpp"
#include "tests/harness/cluster_world.hpp"
#include "tests/harness/seeds.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/placement.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

using namespace courier;
using namespace std::chrono_literals;
using testing::add_atom;
using testing::get_atom;
using testing::counter;
using testing::key_owned_by;

namespace {

/// Every message a probe holds that is a T, in order.
template <class T>
std::vector<T> all_of(harness::probe& p) {
  std::vector<T> out;
  while (auto m = p.next_any())
    if (m->match_elements<T>())
      out.push_back(m->get_as<T>(0));
  return out;
}

/// An actor that answers an int with twice its value.
caf::behavior doubler(caf::event_based_actor*, int) {
  return {[](int x) { return 2 * x; }};
}

/// An actor that asks `dest` for `x` and stores the answer (or -1 on error).
caf::behavior asker(caf::event_based_actor* self, caf::actor dest, int x,
                    std::shared_ptr<int> out) {
  self->request(dest, 10s, x).then([out](int y) { *out = y; },
                                   [out](caf::error&) { *out = -1; });
  return {[](caf::unit_t) {}};
}

/// An actor that monitors `dest` and counts down messages.
caf::behavior watcher(caf::event_based_actor* self, caf::actor dest, std::shared_ptr<int> downs) {
  self->monitor(dest);
  self->set_down_handler([downs](caf::down_msg&) { *downs += 1; });
  return {[](caf::unit_t) {}};
}

struct counter_cluster {
  harness::cluster_world cw;
  harness::probe p;

  explicit counter_cluster(std::uint64_t seed, harness::cluster_config cfg = {})
      : cw(seed, testing::counter_factories(), std::move(cfg)), p(cw.make_probe()) {}

  void add(const harness::probe& from, const std::string& via, const std::string& key,
           const std::string& value) {
    cw.send(from, via, counter(key), caf::make_message(add_atom::value, value));
  }

  std::vector<std::string> values(const std::string& via, const std::string& key) {
    p.clear();
    cw.send(p, via, counter(key), caf::make_message(get_atom::value));
    cw.advance(1s);
    auto v = p.next<std::vector<std::string>>();
    REQUIRE_MESSAGE(v.has_value(), "no answer for " << key << " via " << via);
    return *v;
  }

  std::optional<cluster::router_stats> stats(const std::string& node) {
    p.clear();
    caf::send_as(p.handle, cw.router(node), cluster::stats_atom::value);
    cw.run();
    return p.next<cluster::router_stats>();
  }
};

/// Runs a scenario over 50 seeds (tests/harness/seeds.hpp's policy).
void for_seeds(const std::string& label, const std::function<void(std::uint64_t)>& scenario) {
  harness::for_each_seed(label, {}, 50, scenario);
}

} // namespace

// -- the simulated network against plain actors -----------------------------------

TEST_CASE("a link keeps FIFO order under random delays") {
  harness::world w{harness::pick_seed("multi_node.link_fifo")};
  harness::sim_network net{w};
  harness::link_faults f;
  f.delay_rate = 0.5;
  f.delay_max = 100ms;
  net.set_faults(f);
  auto sink = w.make_probe();
  auto link = net.link("a", "b", sink.handle);
  REQUIRE(link != nullptr);
  for (int i = 0; i < 200; ++i)
    caf::anon_send(link, i);
  w.run();
  CHECK(sink.size() < 200); // some wait in virtual time
  w.advance(1s);
  auto got = all_of<int>(sink);
  REQUIRE(got.size() == 200);
  for (int i = 0; i < 200; ++i)
    CHECK(got[static_cast<std::size_t>(i)] == i);
  CHECK(net.stats().delayed > 0);
  CHECK(net.link("a", "b", sink.handle) == link); // reused while unbroken
}

TEST_CASE("a request through a delayed link is answered to the original caller") {
  harness::world w{harness::pick_seed("multi_node.link_request")};
  harness::sim_network net{w};
  harness::link_faults f;
  f.delay_rate = 1.0;
  f.delay_max = 30ms;
  net.set_faults(f);
  auto target = w.sys().spawn(doubler, 0);
  auto link = net.link("a", "b", target);
  auto out = std::make_shared<int>(0);
  auto a = w.sys().spawn(asker, link, 21, out);
  w.run();
  CHECK(*out == 0); // still on the wire
  w.advance(50ms);
  CHECK(*out == 42);
}

TEST_CASE("a drop breaks the connection both ways and monitors see it") {
  harness::world w{harness::pick_seed("multi_node.link_drop")};
  harness::sim_network net{w};
  auto sink = w.make_probe();
  auto ab = net.link("a", "b", sink.handle);
  auto ba = net.link("b", "a", sink.handle);
  auto downs = std::make_shared<int>(0);
  // Kept: an actor nobody holds a handle to is collected.
  auto w1 = w.sys().spawn(watcher, ab, downs);
  auto w2 = w.sys().spawn(watcher, ba, downs);
  w.run();
  harness::link_faults f;
  f.drop_rate = 1.0;
  net.set_faults(f);
  caf::anon_send(ab, 1);
  w.run();
  CHECK(sink.size() == 0);
  CHECK(*downs == 2);
  CHECK(net.stats().breaks == 1);
  CHECK(net.take_broken().size() == 1);
  net.set_faults({});
  auto again = net.link("a", "b", sink.handle);
  CHECK(again != ab); // a new connection
  caf::anon_send(again, 2);
  w.run();
  CHECK(sink.next<int>() == 2);
}

TEST_CASE("duplicates follow their original in order") {
  harness::world w{harness::pick_seed("multi_node.link_dup")};
  harness::sim_network net{w};
  harness::link_faults f;
  f.duplicate_rate = 1.0;
  net.set_faults(f);
  auto sink = w.make_probe();
  auto link = net.link("a", "b", sink.handle);
  caf::anon_send(link, 1);
  caf::anon_send(link, 2);
  w.run();
  CHECK(all_of<int>(sink) == std::vector<int>{1, 1, 2, 2});
}

TEST_CASE("a partition refuses connections until healed") {
  harness::world w{harness::pick_seed("multi_node.link_cut")};
  harness::sim_network net{w};
  auto sink = w.make_probe();
  auto ab = net.link("a", "b", sink.handle);
  auto downs = std::make_shared<int>(0);
  auto w1 = w.sys().spawn(watcher, ab, downs);
  w.run();
  net.cut("a", "b");
  w.run();
  CHECK(*downs == 1);
  CHECK(!net.connected("a", "b"));
  CHECK(net.link("a", "b", sink.handle) == nullptr);
  CHECK(net.link("b", "a", sink.handle) == nullptr);
  CHECK(net.link("a", "c", sink.handle) != nullptr);
  net.heal_all();
  CHECK(net.link("a", "b", sink.handle) != nullptr);
}

// -- the shared fenced store --------------------------------------------------------

TEST_CASE("a node whose lease expired is fenced and writes nothing") {
  harness::world w{harness::pick_seed("multi_node.store_fence")};
  auto store = std::make_shared<harness::shared_store>(w.sched());
  auto c1 = std::make_shared<harness::fence_cell>();
  c1->node = "n1";
  c1->incarnation = 1;
  auto c2 = std::make_shared<harness::fence_cell>();
  c2->node = "n2";
  c2->incarnation = 2;
  c1->epoch = store->join("n1", 3s);
  c2->epoch = store->join("n2", 3s);
  CHECK(c2->epoch > c1->epoch);
  auto b1 = store->backend_for(c1);
  auto b2 = store->backend_for(c2);
  REQUIRE(b1->append({"s:1", 0, {"a"}}).ok());
  w.advance(2s);
  store->renew("n2", 3s);
  w.advance(2s); // n1's lease ran out, n2's did not
  CHECK(!store->may_write(*c1));
  auto refused = b1->append({"s:1", 1, {"b"}});
  REQUIRE(!refused.ok());
  CHECK(refused.err().code == core::errc::unavailable);
  CHECK(store->data().version("s:1") == 1);
  CHECK(b2->append({"s:1", 1, {"c"}}).value() == 2);
  CHECK(store->stats().fenced == 1);
  // Joining again takes a new epoch; the old incarnation stays fenced.
  CHECK(store->expire());
  auto c1b = std::make_shared<harness::fence_cell>();
  c1b->node = "n1";
  c1b->incarnation = 3;
  c1b->epoch = store->join("n1", 3s);
  CHECK(store->backend_for(c1b)->append({"s:1", 2, {"d"}}).ok());
  CHECK(!b1->append({"s:1", 3, {"e"}}).ok());
}

TEST_CASE("one node's journal faults never roll back another node's writes") {
  harness::world w{harness::pick_seed("multi_node.store_faults")};
  auto store = std::make_shared<harness::shared_store>(w.sched());
  std::vector<std::shared_ptr<harness::fence_cell>> cells;
  for (std::string id : {"n1", "n2"}) {
    auto c = std::make_shared<harness::fence_cell>();
    c->node = id;
    c->incarnation = cells.size() + 1;
    c->epoch = store->join(id, 3s);
    cells.push_back(c);
  }
  auto b1 = store->backend_for(cells[0]);
  auto b2 = store->backend_for(cells[1]);
  REQUIRE(b2->append({"s:2", 0, {"x"}}).ok());
  store->fail_next_appends("n1", 1, harness::append_fault::refused);
  CHECK(!b1->append({"s:1", 0, {"a"}}).ok());
  CHECK(store->data().version("s:1") == 0);
  CHECK(store->data().version("s:2") == 1);
  store->fail_next_appends("n1", 1, harness::append_fault::lost_ack);
  auto lost = b1->append({"s:1", 0, {"a"}});
  CHECK(!lost.ok());
  CHECK(store->data().version("s:1") == 1); // written: only the answer was lost
  CHECK(b1->append({"s:1", 0, {"a"}}).err().code == core::errc::conflict);
  CHECK(store->data().version("s:2") == 1);
}

// -- membership and the real router --------------------------------------------------

TEST_CASE("a crashed node leaves the view after its lease and rejoins with a new epoch") {
  for_seeds("multi_node.membership", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto v0 = cw.store().view_version();
    auto epoch0 = cw.store().members().at("n2").epoch;
    cw.crash("n2");
    CHECK(!cw.up("n2"));
    cw.advance(cw.config().lease + 2 * cw.config().tick);
    CHECK(cw.store().members().count("n2") == 0);
    CHECK(cw.store().view_version() > v0);
    CHECK(cw.converged());
    CHECK(cw.router_stats("n1")->view_version == cw.store().view_version());
    cw.restart("n2");
    cw.advance(3 * cw.config().tick);
    REQUIRE(cw.store().members().count("n2") == 1);
    CHECK(cw.store().members().at("n2").epoch > epoch0);
    CHECK(cw.member("n2"));
    CHECK(cw.settle());
    CHECK(cw.stats().expiries == 1);
  });
}

TEST_CASE("a message to a key owned by another node is delivered there and answered") {
  for_seeds("multi_node.forward", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n2");
    c.add(c.p, "n1", key, "x");
    cw.run();
    CHECK(c.p.next<storage::version_t>() == storage::version_t{1});
    CHECK(c.values("n3", key) == std::vector<std::string>{"x"});
    CHECK(cw.router_stats("n2")->live == 1);
    CHECK(cw.router_stats("n1")->live == 0);
    CHECK(cw.router_stats("n1")->forwarded_total >= 1);
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("one sender's order is kept across the hop under link delays") {
  harness::cluster_config cfg;
  cfg.faults.delay_rate = 0.5;
  cfg.faults.delay_max = 40ms;
  for_seeds("multi_node.order", [&](std::uint64_t seed) {
    counter_cluster c{seed, cfg};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n3");
    for (int i = 0; i < 100; ++i)
      c.add(c.p, "n1", key, "v" + std::to_string(i));
    cw.advance(2s);
    auto acks = all_of<storage::version_t>(c.p);
    REQUIRE(acks.size() == 100);
    for (std::size_t i = 0; i < acks.size(); ++i)
      CHECK(acks[i] == i + 1);
    auto vals = c.values("n2", key);
    REQUIRE(vals.size() == 100);
    for (std::size_t i = 0; i < vals.size(); ++i)
      CHECK(vals[i] == "v" + std::to_string(i));
    CHECK(cw.net().stats().delayed > 0);
  });
}

TEST_CASE("a crash moves keys to survivors which recover from the shared journal") {
  for_seeds("multi_node.failover", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto& nodes = cw.config().nodes;
    std::vector<std::string> keys;
    for (int i = 0; i < 6; ++i)
      keys.push_back(key_owned_by(nodes, "n1", i * 50));
    for (auto& k : keys)
      c.add(c.p, "n2", k, "before");
    cw.run();
    CHECK(all_of<storage::version_t>(c.p).size() == keys.size());
    CHECK(cw.router_stats("n1")->live == keys.size());
    cw.crash("n1");
    // Writes meanwhile wait (the owner is unreachable) and go through once the
    // view drops it.
    for (auto& k : keys)
      c.add(c.p, "n3", k, "after");
    cw.run();
    CHECK(c.p.size() == 0);
    cw.advance(cw.config().lease + 2 * cw.config().tick);
    CHECK(all_of<storage::version_t>(c.p) == std::vector<storage::version_t>(keys.size(), 2));
    for (auto& k : keys)
      CHECK(c.values("n2", k) == std::vector<std::string>{"before", "after"});
    CHECK(cw.router_stats("n2")->live + cw.router_stats("n3")->live == keys.size());
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("a drain hands its keys off without reordering and the node leaves") {
  for_seeds("multi_node.drain", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto& nodes = cw.config().nodes;
    std::vector<std::string> keys;
    for (int i = 0; i < 5; ++i)
      keys.push_back(key_owned_by(nodes, "n1", i * 50));
    for (int i = 0; i < 10; ++i)
      for (auto& k : keys)
        c.add(c.p, "n2", k, "a" + std::to_string(i));
    cw.run();
    cw.drain("n1");
    // The same sender keeps writing, through another node, while views move.
    for (int i = 0; i < 10; ++i) {
      for (auto& k : keys)
        c.add(c.p, i % 2 ? "n3" : "n2", k, "b" + std::to_string(i));
      cw.advance(cw.config().tick / 2);
    }
    cw.advance(cw.config().lease);
    CHECK(all_of<storage::version_t>(c.p).size() == 2 * 10 * keys.size()); // every write acked
    CHECK(cw.stats().leaves == 1);
    CHECK(!cw.up("n1"));
    for (auto& k : keys) {
      auto vals = c.values("n3", k);
      std::string all_vals;
      for (auto& x : vals)
        all_vals += x + " ";
      REQUIRE_MESSAGE(vals.size() == 20, k << ": " << all_vals);
      for (std::size_t i = 0; i < 10; ++i) {
        CHECK(vals[i] == "a" + std::to_string(i));
        CHECK(vals[10 + i] == "b" + std::to_string(i));
      }
    }
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("a node whose membership stalls stops serving before its lease runs out") {
  // Found by the multi-node property test once it stalled memberships
  // (issue #16's seed hunt, e.g. seed 7546524673181681061): a node that
  // neither renews nor notices (a paused process, a stuck membership
  // thread) kept answering reads from an activation whose key another
  // member had taken over and moved on: a read went back from version 3 to
  // version 2. The router now serves only until the lease deadline the
  // membership last confirmed.
  for_seeds("multi_node.stall", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n1");
    c.add(c.p, "n1", key, "a");
    cw.run();
    REQUIRE(c.p.next<storage::version_t>() == storage::version_t{1});
    cw.stall("n1");
    cw.advance(cw.config().lease + 2 * cw.config().tick);
    CHECK(cw.store().members().count("n1") == 0);
    c.add(c.p, "n2", key, "b"); // the key's new owner moves on
    cw.advance(1s);
    REQUIRE(c.p.next<storage::version_t>() == storage::version_t{2});
    c.p.clear();
    cw.send(c.p, "n1", counter(key), caf::make_message(get_atom::value));
    cw.advance(1s);
    CHECK(c.p.size() == 0); // parked, not answered from the stale activation
    CHECK(c.stats("n1")->lease_waits_total >= 1);
    // Healed: n1 notices it was fenced, joins again, and the parked read
    // goes to the key's owner.
    cw.heal();
    cw.advance(3 * cw.config().lease);
    auto v = c.p.next<std::vector<std::string>>();
    REQUIRE(v.has_value());
    CHECK(*v == std::vector<std::string>{"a", "b"});
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("a partitioned owner is fenced, its keys move, and it rejoins after the heal") {
  for_seeds("multi_node.partition", [&](std::uint64_t seed) {
    counter_cluster c{seed};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n1");
    c.add(c.p, "n1", key, "a");
    cw.run();
    CHECK(c.p.next<storage::version_t>() == storage::version_t{1});
    cw.partition({"n1"}, harness::partition_kind::with_store);
    c.add(c.p, "n1", key, "lost"); // the owner cannot reach the store
    cw.run();
    auto refused = c.p.next<caf::error>();
    REQUIRE(refused.has_value());
    CHECK(cluster::from_caf_error(*refused).code == core::errc::unavailable);
    cw.advance(cw.config().lease + 2 * cw.config().tick);
    CHECK(cw.store().members().count("n1") == 0);
    // It fenced itself before its lease ran out: it serves nothing now.
    CHECK(c.stats("n1")->live == 0);
    CHECK(cw.stats().fenced_noticed == 1);
    c.add(c.p, "n2", key, "b");
    cw.advance(1s);
    CHECK(c.p.next<storage::version_t>() == storage::version_t{2});
    // Healed: what reaches n1 waits until it has joined again, then goes to
    // the key's owner (which may be n1 again).
    cw.heal();
    c.p.clear();
    c.add(c.p, "n1", key, "c");
    cw.advance(5 * cw.config().tick);
    CHECK(c.p.next<storage::version_t>() == storage::version_t{3});
    CHECK(cw.member("n1"));
    CHECK(cw.settle());
    CHECK(c.values("n1", key) == std::vector<std::string>{"a", "b", "c"});
    CHECK(cw.store().stats().two_owner_violations == 0);
    CHECK(cw.stats().fenced_noticed == 1);
  });
}

// -- failover on a broken connection (issue #14, cluster/failover.hpp) -------------

namespace {

harness::cluster_config fencing_config() {
  harness::cluster_config cfg;
  cfg.on_peer_loss = harness::peer_loss::fence;
  return cfg;
}

/// Virtual time from now until a read of `key` through `via` is answered
/// (a read every 50 ms, as the e2e test's client does), at most `max`.
std::chrono::milliseconds time_to_serve(counter_cluster& c, const std::string& via,
                                        const std::string& key, std::chrono::milliseconds max) {
  auto& cw = c.cw;
  auto t0 = cw.w().clock().now_ms();
  auto probe = cw.make_probe();
  for (auto waited = 0ms; waited <= max; waited += 50ms) {
    cw.send(probe, via, counter(key), caf::make_message(get_atom::value));
    cw.advance(50ms);
    if (probe.next<std::vector<std::string>>())
      return std::chrono::milliseconds{cw.w().clock().now_ms() - t0};
    probe.clear();
  }
  return max + 1ms;
}

} // namespace

TEST_CASE("a crashed owner is fenced by a survivor and its keys are served again within 1 s") {
  auto slowest = 0ms;
  for_seeds("multi_node.fence_crash", [&](std::uint64_t seed) {
    counter_cluster c{seed, fencing_config()};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n1");
    c.add(c.p, "n2", key, "before");
    cw.run();
    REQUIRE(c.p.next<storage::version_t>() == storage::version_t{1});
    cw.crash("n1");
    CHECK(cw.store().members().count("n1") == 0); // fenced at once, not after the lease
    CHECK(cw.stats().peer_fences == 1);
    auto took = time_to_serve(c, "n2", key, 3s);
    slowest = std::max(slowest, took);
    CHECK_MESSAGE(took < 1000ms, "seed " << seed << ": kill->serving " << took.count() << " ms");
    CHECK(c.values("n3", key).front() == "before");
    CHECK(cw.stats().expiries == 0);
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
  MESSAGE("kill->serving with fencing, slowest seed: " << slowest.count() << " ms (virtual; reads every 50 ms)");
}

TEST_CASE("without peer fencing a crashed owner's keys wait for its lease (the before)") {
  counter_cluster c{harness::pick_seed("multi_node.no_fence_crash")};
  auto& cw = c.cw;
  auto key = key_owned_by(cw.config().nodes, "n1");
  c.add(c.p, "n2", key, "before");
  cw.run();
  cw.crash("n1");
  auto took = time_to_serve(c, "n2", key, 6s);
  MESSAGE("kill->serving without fencing: " << took.count() << " ms (lease "
                                            << cw.config().lease.count() << " ms)");
  CHECK(took >= cw.config().lease - cw.config().tick);
}

TEST_CASE("a broken connection between live members is made again and fences nobody") {
  for_seeds("multi_node.fence_blip", [&](std::uint64_t seed) {
    counter_cluster c{seed, fencing_config()};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n1");
    c.add(c.p, "n2", key, "a");
    cw.run();
    cw.break_link("n1", "n2");
    cw.run(); // (what was on the broken connection is lost, as with TCP)
    c.add(c.p, "n2", key, "b");
    cw.advance(1s);
    CHECK(cw.stats().peer_fences == 0);
    CHECK(cw.stats().fence_reconnects == 2); // each end settles it
    CHECK(cw.member("n1"));
    CHECK(cw.member("n2"));
    CHECK(c.values("n3", key) == std::vector<std::string>{"a", "b"});
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("a partitioned owner is fenced at once, writes nothing, serves nothing, and rejoins") {
  for_seeds("multi_node.fence_partition", [&](std::uint64_t seed) {
    counter_cluster c{seed, fencing_config()};
    auto& cw = c.cw;
    auto key = key_owned_by(cw.config().nodes, "n1");
    c.add(c.p, "n1", key, "a");
    cw.run();
    REQUIRE(c.p.next<storage::version_t>() == storage::version_t{1});
    // Links only: n1 still reaches the store, but it is cut from both
    // others, so it fences nobody; they fence it.
    cw.partition({"n1"}, harness::partition_kind::links_only);
    cw.run();
    CHECK(cw.store().members().count("n1") == 0);
    CHECK(cw.member("n2"));
    CHECK(cw.member("n3"));
    CHECK(cw.stats().peer_fences == 1); // n1 fenced nobody (isolated, or fenced first)
    // What reaches n1 now is held (never served from its old state) ...
    auto stale = cw.make_probe();
    cw.send(stale, "n1", counter(key), caf::make_message(get_atom::value));
    cw.run();
    CHECK(stale.size() == 0);
    // ... while the survivors take the key over at once.
    auto took = time_to_serve(c, "n2", key, 3s);
    CHECK_MESSAGE(took < 1000ms, "seed " << seed << ": " << took.count() << " ms");
    c.p.clear();
    c.add(c.p, "n2", key, "b");
    cw.advance(1s);
    CHECK(c.p.next<storage::version_t>() == storage::version_t{2});
    // n1 learns at its next tick, rejoins with a new epoch, and the heal
    // brings everything together again.
    cw.advance(2 * cw.config().tick);
    CHECK(cw.stats().fenced_noticed >= 1);
    CHECK(cw.settle());
    CHECK(c.values("n1", key) == std::vector<std::string>{"a", "b"});
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("of two members cut apart exactly one fences the other") {
  for_seeds("multi_node.fence_pair", [&](std::uint64_t seed) {
    auto cfg = fencing_config();
    cfg.nodes = {"n1", "n2"};
    counter_cluster c{seed, cfg};
    auto& cw = c.cw;
    cw.partition({"n1"}, harness::partition_kind::links_only);
    cw.run();
    CHECK(cw.stats().peer_fences == 1);
    CHECK(cw.stats().fenced_by_peer == 1);
    CHECK(cw.store().members().size() == 1);
    CHECK(cw.member("n1") != cw.member("n2"));
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("the same seed replays the same multi-node run") {
  // Faults, view lags and the interleaving all come from the seed: two runs
  // of one scenario give the same controller events and the same trace.
  auto run_once = [](std::uint64_t seed) {
    harness::cluster_config cfg;
    cfg.faults.delay_rate = 0.3;
    cfg.faults.duplicate_rate = 0.05;
    cfg.faults.drop_rate = 0.02;
    counter_cluster c{seed, cfg};
    auto& cw = c.cw;
    for (int i = 0; i < 30; ++i) {
      c.add(c.p, cw.config().nodes[static_cast<std::size_t>(i) % 3], "k" + std::to_string(i % 7),
            "v" + std::to_string(i));
      if (i == 10)
        cw.partition({"n2"}, harness::partition_kind::with_store);
      if (i == 20)
        cw.crash("n3");
      cw.advance(300ms);
    }
    cw.settle();
    return std::make_pair(std::vector<std::string>(cw.events().begin(), cw.events().end()),
                          cw.w().trace());
  };
  auto seed = harness::pick_seed("multi_node.replay");
  auto a = run_once(seed);
  auto b = run_once(seed);
  CHECK(a.first.size() > 10);
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
}

// -- router bugs the property test found (minimal regression tests) ------------------
// Each comment tells the bug as it was found; the router now parks messages
// for a gained key until every member has handed off every view since the
// key last settled, and releases them in per-origin order (cluster_view.hpp).
// These use hand-given views (as tests/cluster/router_cluster.test.cpp) and
// the fifo policy, so each is one exact interleaving.

namespace {

struct manual_cluster {
  harness::world w;
  std::map<std::string, caf::actor> routers;
  harness::probe p;
  std::uint64_t version = 0;

  explicit manual_cluster(const std::string& label)
      : w{harness::pick_seed(label), harness::order_policy::fifo}, p(w.make_probe()) {}

  void start(const std::string& id, cluster::router_config cfg = {}) {
    cfg.node_id = id;
    routers[id] = w.spawn_router(testing::counter_factories(), cfg);
  }
  cluster::cluster_view view(const std::vector<std::string>& ids,
                             const std::vector<std::string>& draining = {}) {
    cluster::cluster_view v;
    v.version = ++version;
    for (auto& id : ids)
      v.members.push_back({id, 1,
                           std::find(draining.begin(), draining.end(), id) != draining.end(),
                           routers.at(id)});
    return v;
  }
  void give(const std::string& id, const cluster::cluster_view& v) {
    caf::anon_send(routers.at(id), cluster::view_atom::value, v);
  }
  void add(const std::string& via, const std::string& key, const std::string& value) {
    caf::send_as(p.handle, routers.at(via), cluster::route_atom::value, counter(key),
                 caf::make_message(add_atom::value, value));
  }
  std::optional<cluster::router_stats> stats(const std::string& id) {
    p.clear();
    caf::send_as(p.handle, routers.at(id), cluster::stats_atom::value);
    w.run();
    return p.next<cluster::router_stats>();
  }
};

} // namespace

TEST_CASE("a joining node waits for the previous owner's handoff before serving a key it "
          "gains") {
  // Found as a two-owner violation (multi-node property test, e.g. seed
  // 18319983848593489035): a node's FIRST view has no `prev`, so the router
  // serves every key it owns at once, while the member that owned it under
  // the older view still runs it.
  manual_cluster c{"multi_node.bug.join_without_prev"};
  c.start("n1");
  c.start("n2");
  c.start("n3");
  auto key = key_owned_by({"n1", "n3"}, "n3", 0, {"n1", "n2", "n3"}, "n2");
  auto v1 = c.view({"n1", "n3"});
  c.give("n1", v1);
  c.give("n3", v1);
  c.add("n1", key, "a");
  c.w.run();
  REQUIRE(c.p.next<storage::version_t>() == storage::version_t{1});
  // n2 joins: its first view reaches it before the others'.
  auto v2 = c.view({"n1", "n2", "n3"});
  c.give("n2", v2);
  c.w.run();
  c.add("n2", key, "b");
  c.w.run();
  CHECK(c.stats("n3")->live == 1); // n3 still runs the key under v1...
  CHECK(c.stats("n2")->live == 0); // ...so n2 must hold "b" until n3's handoff
  c.p.clear();
  c.give("n1", v2);
  c.give("n3", v2);
  c.w.run();
  CHECK(c.stats("n3")->live == 0);
  CHECK(c.stats("n2")->live == 1);
}

TEST_CASE("a key stays held for its previous owner's handoff across a second view change") {
  // Found as a two-owner violation (multi-node property test, e.g. seed
  // 18319983848593490748 with the two bugs above fixed): a router holds a
  // gained key only for the owner in `prev`, the view just before the
  // current one. If another view arrives before that owner's
  // handoff (a second change, or a reconnect after its connection broke),
  // `prev` now names this router as the owner, so the hold is dropped and
  // the key activates here while the old owner, alive and unfenced, still
  // runs it.
  manual_cluster c{"multi_node.bug.second_view"};
  c.start("n1");
  c.start("n2");
  c.start("n3");
  auto key = key_owned_by({"n1", "n2"}, "n1", 0, {"n2", "n3"}, "n2");
  auto v1 = c.view({"n1", "n2"});
  c.give("n1", v1);
  c.give("n2", v1);
  c.add("n1", key, "a");
  c.w.run();
  REQUIRE(c.p.next<storage::version_t>() == storage::version_t{1});
  // n1 drains (the key moves to n2), then n3 joins; n2 reads both views
  // before n1 has read the first.
  c.give("n2", c.view({"n1", "n2"}, {"n1"}));
  c.give("n2", c.view({"n1", "n2", "n3"}, {"n1"}));
  c.w.run();
  c.add("n2", key, "b");
  c.w.run();
  CHECK(c.stats("n1")->live == 1); // n1 still runs the key...
  CHECK(c.stats("n2")->live == 0); // ...so n2 must hold "b" until n1 hands off
}

TEST_CASE("a message bounced to a member that adopted the new view first is not stranded") {
  // Found by "a drain hands its keys off without reordering and the node
  // leaves" (seed 7398174954069484798, 3 writes lost): n1 drains and adopts
  // the view first; n2, still on the old view, forwards a write for a key
  // that moves to n2 to n1; n1 sees `from == owner` and parks it in
  // `lagging`, which only n1's NEXT view releases. n2's adopted(v) does not
  // release it, n1 hands off anyway (maybe_hand_off ignores `lagging`), and
  // when the drained n1 leaves and stops, the write is gone.
  manual_cluster c{"multi_node.bug.lagging"};
  c.start("n1");
  c.start("n2");
  auto key = key_owned_by({"n1", "n2"}, "n1");
  auto v1 = c.view({"n1", "n2"});
  c.give("n1", v1);
  c.give("n2", v1);
  c.w.run();
  auto v2 = c.view({"n1", "n2"}, {"n1"});
  c.give("n1", v2);
  c.w.run();
  c.add("n2", key, "x"); // n2 (old view) -> n1 (new view) -> bounced
  c.w.run();
  c.give("n2", v2);
  c.w.run();
  CHECK(c.p.next<storage::version_t>() == storage::version_t{1});
  CHECK(c.stats("n1")->handed_off_version == v2.version);
}

TEST_CASE("a forward parked since an older view does not pass the handoff gate") {
  // Found as a two-owner violation (multi-node property test, seed
  // 251666811624097037 with the fixes for the other tests here applied): a gained
  // key lets the previous owner's own forwards through (`msg.from ==
  // old_owner`), but `from` stays on a message that was parked (lagging, or
  // held for a peer) under an older view. Released views later, it passes
  // the gate although that member has since taken the key back and runs it.
  manual_cluster c{"multi_node.bug.stale_from"};
  c.start("n1");
  c.start("n2");
  auto key = key_owned_by({"n1", "n2"}, "n2");
  auto va = c.view({"n1", "n2"}, {"n2"}); // the key is n1's
  auto vb = c.view({"n1", "n2"}, {"n1"}); // n2's
  auto vc = c.view({"n1", "n2"}, {"n2"}); // n1's
  auto vd = c.view({"n1", "n2"}, {"n1"}); // n2's
  c.give("n1", va);
  c.give("n2", va);
  c.w.run();
  c.give("n1", vb);
  c.w.run();
  c.add("n1", key, "m"); // n1 (vb) -> n2 (va): bounced, parked with from = n1
  c.w.run();
  c.give("n1", vc);
  c.give("n2", vc);
  c.w.run();
  c.add("n1", key, "m2"); // the key runs on n1 now
  c.w.run();
  REQUIRE(c.stats("n1")->live == 1);
  c.give("n2", vd); // n1 has not seen vd: it still runs the key
  c.w.run();
  CHECK(c.stats("n2")->live == 0); // "m" must wait for n1's handoff of vd
}

TEST_CASE("a resident wake that cannot be delivered does not kill the router") {
  // Found as "router stopped on its own: no cluster member may own
  // reminder:0" (multi-node property test, seed 18319983848593489158: every
  // member draining at once; the stderr lines "unexpected message
  // [courier.router]: (courier.ok(false))" in every multi-node run are the
  // benign half of it): the router sends resident wakes to itself
  // (`self->send(self, ...)`), so the answer comes back to the router: an
  // ok_reply is an "unexpected message" on stderr, an error runs CAF's
  // default error handler, which stops the router (and with it every entity
  // of the node).
  manual_cluster c{"multi_node.bug.resident_wake"};
  cluster::router_config cfg;
  cfg.resident = {counter("r")};
  cfg.resident_wake = caf::make_message(get_atom::value);
  c.start("n1", cfg);
  // The wake is queued behind a view in which nobody may own anything.
  c.give("n1", c.view({"n1"}));
  c.give("n1", c.view({"n1"}, {"n1"}));
  c.w.run();
  CHECK(c.stats("n1").has_value());
}

// -- property test: the order side on 3 nodes under partitions and crashes ----------

namespace {

using namespace courier::actors;
using namespace courier::actors::testing;
using msg::order_status;

constexpr int orders_per_seed = 4;
constexpr int steps_per_seed = 100;

/// Seeds that once failed, run first on every run. Issue #16: every node
/// had crashed or drained and left when the final check began (the first);
/// an activation busy when its node fenced itself wrote after the rejoin
/// under the new epoch while the key's new owner ran it (the others, found
/// by the seed hunt; writes now carry their activation's epoch).
const std::vector<std::uint64_t> property_regressions = {
    6448721948994625519ULL,  2681497852381662516ULL, 2681497852381665168ULL,
    6228375330569396593ULL,  10721888412309420700ULL, 4243754239906352267ULL,
    13844736406581983320ULL,
};

/// Totals over all seeds, printed at the end (shows the faults happened).
struct totals {
  std::uint64_t crashes = 0, restarts = 0, partitions = 0, stalls = 0, expiries = 0, fenced = 0,
                leaves = 0, breaks = 0, duplicated = 0, delayed = 0, views = 0,
                acked_orders = 0, acked_commands = 0, reads = 0;
};
totals all;

struct order_track {
  core::order_id id;
  std::string customer;
  bool placed_acked = false;
  std::uint64_t acked_version = 0; ///< highest version acknowledged
  std::uint64_t seen_version = 0;  ///< highest version any reply showed
  int seen_rank = -1;
  harness::probe gw;               ///< the current subscription's gateway
  std::uint64_t pushed_version = 0;
  int cursor = 0;
};

/// A request in flight: what it asked, and what the reply must not be below.
struct in_flight {
  harness::probe from;
  std::size_t order = 0;
  std::uint64_t floor_version = 0;
  int floor_rank = -1;
  std::string via;
  bool answered = false;
};

struct cluster_run {
  std::uint64_t seed;
  std::mt19937_64 rng;
  std::shared_ptr<domain_services> svc = std::make_shared<domain_services>();
  std::shared_ptr<fake_log> log = std::make_shared<fake_log>();
  std::unique_ptr<harness::cluster_world> cw;
  std::vector<order_track> orders;
  std::vector<in_flight> sent;
  bool partitioned = false;
  std::string isolated; ///< the node cut from the store, if any
  bool failed = false; ///< a check failed: print the controller's events
  /// COURIER_CLUSTER_TRACE=1 also prints every client request and reply.
  bool trace = std::getenv("COURIER_CLUSTER_TRACE") != nullptr;

  long long now_ms() {
    return static_cast<long long>(cw->w().clock().now_ms() - harness::virtual_clock::epoch_ms);
  }

  /// CHECK that also remembers a failure of this seed.
  bool expect(bool ok) {
    failed = failed || !ok;
    return ok;
  }

  void print_events_if_failed() {
    if (!failed)
      return;
    std::printf("seed %llu failed; replay: COURIER_SEED=%llu; events:\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    for (auto& e : cw->events())
      std::printf("  %s\n", e.c_str());
    for (auto& v : cw->store().violations())
      std::printf("  violation: %s\n", v.c_str());
  }

  /// `lossy`: links also drop messages (breaking the connection).
  cluster_run(std::uint64_t s, const domain_config& dcfg, bool lossy = true,
              harness::peer_loss on_peer_loss = harness::peer_loss::wait_for_lease)
      : seed(s), rng(s ^ 0xc1a5ULL) {
    svc->cfg = dcfg;
    svc->seed = s;
    svc->payments = make_simulated_provider(dcfg, s);
    harness::cluster_config cfg;
    cfg.faults.delay_rate = 0.2;
    cfg.faults.delay_max = 80ms;
    cfg.faults.duplicate_rate = 0.02;
    cfg.faults.drop_rate = lossy ? 0.005 : 0.0;
    cfg.on_peer_loss = on_peer_loss;
    for (std::uint32_t i = 0; i < dcfg.reminder_shards; ++i)
      cfg.router.resident.push_back({kind::reminder, std::to_string(i)});
    cfg.router.resident_wake = caf::make_message(reminder_wake{});
    cfg.router.moved_notice = domain_moved_notices();
    // Services shared by every node (the provider is an outside service);
    // the clock is the world's virtual one.
    cw = std::make_unique<harness::cluster_world>(
        s,
        [this](harness::world& w) {
          svc->clock = &w.clock();
          auto f = make_domain_factories(svc);
          for (auto k : {kind::dispatch, kind::rider, kind::region})
            f[k] = fake_factory(log);
          return f;
        },
        cfg);
  }

  std::uint64_t pick(std::uint64_t n) { return rng() % n; }

  std::string any_up() {
    auto up = cw->up_nodes();
    return up.empty() ? std::string{} : up[pick(up.size())];
  }

  void check_floor(const in_flight& f, std::uint64_t version, int rank, const std::string& what) {
    auto& o = orders[f.order];
    CHECK_MESSAGE(expect(version >= f.floor_version),
                  "seed " << seed << ": " << what << " of " << o.id << " via " << f.via
                          << " went back to version " << version << " after "
                          << f.floor_version << " was seen");
    CHECK_MESSAGE(expect(rank >= f.floor_rank),
                  "seed " << seed << ": " << what << " of " << o.id << " via " << f.via
                          << " went back to rank " << rank << " after " << f.floor_rank);
    o.seen_version = std::max(o.seen_version, version);
    o.seen_rank = std::max(o.seen_rank, rank);
  }

  /// Takes every reply that arrived and checks it against what was seen
  /// before its request was sent.
  void collect() {
    for (auto& f : sent) {
      auto& o = orders[f.order];
      while (auto m = f.from.next_any()) {
        f.answered = true;
        if (trace)
          std::fprintf(stderr, "client: t=%lldms reply from %s (sent via %s): %s\n", now_ms(),
                       o.id.str().c_str(), f.via.c_str(), caf::to_string(*m).c_str());
        if (m->match_elements<msg::order_placed>()) {
          o.placed_acked = true;
        } else if (m->match_elements<msg::ok_reply>()) {
          if (auto v = m->get_as<msg::ok_reply>(0).version) {
            all.acked_commands += 1;
            o.acked_version = std::max(o.acked_version, *v);
            o.seen_version = std::max(o.seen_version, *v);
          }
        } else if (m->match_elements<order_view>()) {
          auto& v = m->get_as<order_view>(0);
          all.reads += 1;
          check_floor(f, v.version, status_rank(v.status), "a read");
        } else if (m->match_elements<msg::order_snapshot>()) {
          auto& s = m->get_as<msg::order_snapshot>(0);
          check_floor(f, s.version, status_rank(s.status), "a subscription snapshot");
        }
      }
    }
    sent.erase(std::remove_if(sent.begin(), sent.end(),
                              [](const in_flight& f) { return f.answered; }),
               sent.end());
    for (auto& o : orders)
      drain_pushes(o);
  }

  void drain_pushes(order_track& o) {
    while (auto m = o.gw.next_any()) {
      if (!m->match_elements<push_atom, std::string, msg::order_status_msg>())
        continue;
      auto s = m->get_as<msg::order_status_msg>(2);
      CHECK_MESSAGE(expect(s.version > o.pushed_version),
                    "seed " << seed << ": push of " << o.id << " went back to " << s.version);
      o.pushed_version = s.version;
      o.seen_version = std::max(o.seen_version, s.version);
      o.seen_rank = std::max(o.seen_rank, status_rank(s.status));
    }
  }

  void send(std::size_t idx, caf::message m, std::string via = {}) {
    if (via.empty())
      via = any_up();
    if (via.empty())
      return;
    auto& o = orders[idx];
    in_flight f{cw->make_probe(), idx, o.seen_version, o.seen_rank, via};
    if (trace)
      std::fprintf(stderr, "client: t=%lldms send to %s via %s: %s\n", now_ms(), o.id.str().c_str(),
                   via.c_str(), caf::to_string(m).c_str());
    cw->send(f.from, via, order_ref(o.id), std::move(m));
    sent.push_back(std::move(f));
  }

  void command(std::size_t idx, const std::string& via = {}) {
    auto& o = orders[idx];
    auto act = [&](msg::role r, const std::string& who, order_action a) {
      order_cmd c;
      c.who = {r, who};
      c.action = a;
      send(idx, caf::make_message(c), via);
    };
    static constexpr int path[] = {0, 1, 4, 2, 3, 5, 6, 6};
    int choice = static_cast<int>(pick(9));
    if (pick(5) != 0 && o.cursor < 8)
      choice = path[o.cursor++];
    switch (choice) {
      case 0:
        send(idx,
             caf::make_message(place_order_cmd{{msg::role::customer, o.customer}, o.id,
                                               domain_world::order_body("q-" + o.customer,
                                                                        "s-1")}),
             via);
        break;
      case 1: act(msg::role::store, "s-1", order_action::accept); break;
      case 2: act(msg::role::store, "s-1", order_action::cooking); break;
      case 3: act(msg::role::store, "s-1", order_action::ready); break;
      case 4:
        send(idx, caf::make_message(assign_rider{core::offer_id{"f"}, core::rider_id{"r-1"}}),
             via);
        break;
      case 5: act(msg::role::rider, "r-1", order_action::picked_up); break;
      case 6: act(msg::role::rider, "r-1", order_action::delivered); break;
      case 7: act(msg::role::customer, o.customer, order_action::cancel); break;
      default: act(msg::role::admin, "a-1", order_action::cancel); break;
    }
  }

  static caf::message admin_read() {
    return caf::make_message(order_query{{msg::role::admin, "a-1"}});
  }

  void read(std::size_t idx) { send(idx, admin_read()); }

  void subscribe(std::size_t idx) {
    auto& o = orders[idx];
    drain_pushes(o);
    o.gw = cw->make_probe(); // a new gateway: pushes start over
    o.pushed_version = 0;
    send(idx, caf::make_message(subscribe_cmd{{msg::role::admin, "a-1"}, o.gw.handle}));
  }

  void fault() {
    auto& nodes = cw->config().nodes;
    auto node = nodes[pick(nodes.size())];
    switch (pick(8)) {
      case 0:
        if (cw->up_nodes().size() > 1)
          cw->crash(node);
        break;
      case 1: cw->restart(node); break;
      case 2:
        if (!partitioned) {
          bool with_store = pick(2) == 0;
          cw->partition({node}, with_store ? harness::partition_kind::with_store
                                           : harness::partition_kind::links_only);
          partitioned = true;
          isolated = with_store ? node : std::string{};
        }
        break;
      case 3: heal(); break;
      case 4:
        // Also a second and a third drain: then nobody may own anything.
        if (cw->store().members().size() == nodes.size())
          cw->drain(node);
        break;
      case 5: {
        auto i = pick(nodes.size());
        auto j = (i + 1 + pick(nodes.size() - 1)) % nodes.size();
        cw->break_link(nodes[i], nodes[j]);
        break;
      }
      case 6:
        cw->store().fail_next_appends(node, 1, pick(2) ? harness::append_fault::refused
                                                       : harness::append_fault::lost_ack);
        break;
      default:
        // Healed like a partition: its writes meanwhile must meet the fence.
        if (!partitioned) {
          cw->stall(node);
          partitioned = true;
        }
        break;
    }
  }

  void heal() {
    cw->heal();
    partitioned = false;
    isolated.clear();
  }

  /// The fence's moment: a node that was cut from the store long enough to
  /// lose its lease is back, with its old view and live entities, before it
  /// notices. Traffic through it now must be refused, not written.
  void maybe_heal_after_fencing() {
    if (isolated.empty() || cw->store().members().count(isolated) > 0 || pick(2) != 0)
      return;
    auto node = isolated;
    heal();
    for (int i = 0; i < 3; ++i)
      if (cw->up(node))
        command(pick(orders.size()), node);
  }

  void chaos() {
    for (int step = 0; step < steps_per_seed; ++step) {
      auto r = pick(20);
      if (r < 9)
        command(pick(orders.size()));
      else if (r < 11)
        read(pick(orders.size()));
      else if (r < 12)
        subscribe(pick(orders.size()));
      else if (r < 16) {
        cw->advance(std::chrono::milliseconds{50 + static_cast<std::int64_t>(pick(1500))});
        maybe_heal_after_fencing();
      }
      else
        fault();
      if (pick(3) == 0) {
        cw->run();
        collect();
      }
    }
    cw->run();
    collect();
  }

  /// Everything heals and restarts; then every acknowledged order must be
  /// there, at least as far as anyone saw it.
  void check_end() {
    cw->store().fail_next_appends("n1", 0, harness::append_fault::refused);
    cw->store().fail_next_appends("n2", 0, harness::append_fault::refused);
    cw->store().fail_next_appends("n3", 0, harness::append_fault::refused);
    cw->net().set_faults({}); // a healthy network for the final reads
    bool settled = cw->settle(60s);
    CHECK_MESSAGE(expect(settled), "seed " << seed << ": the cluster did not converge");
    cw->advance(10s);
    collect();
    for (std::size_t i = 0; i < orders.size(); ++i) {
      auto& o = orders[i];
      if (!o.placed_acked)
        continue;
      all.acked_orders += 1;
      auto via = any_up(); // settle() brought every node back
      REQUIRE_MESSAGE(!via.empty(), "seed " << seed << ": no node is up after settling");
      in_flight f{cw->make_probe(), i, std::max(o.seen_version, o.acked_version), o.seen_rank,
                  via};
      cw->send(f.from, via, order_ref(o.id), admin_read());
      cw->advance(2s);
      auto m = f.from.next_any();
      CHECK_MESSAGE(expect(m.has_value()), "seed " << seed << ": no answer for acked " << o.id);
      if (!m)
        continue;
      CHECK_MESSAGE(expect(m->match_elements<order_view>()),
                    "seed " << seed << ": acked order " << o.id << " lost: " << caf::to_string(*m));
      if (!m->match_elements<order_view>())
        continue;
      auto& v = m->get_as<order_view>(0);
      check_floor(f, v.version, status_rank(v.status), "the final read");
    }
    CHECK_MESSAGE(expect(cw->stats().router_failures == 0),
                  "seed " << seed << ": a router stopped while its node was up (see events)");
    auto& st = cw->store().stats();
    CHECK_MESSAGE(expect(st.two_owner_violations == 0),
                  "seed " << seed << ": " << st.two_owner_violations
                          << " two-owner violations, first: "
                          << (st.two_owner_violations ? cw->store().violations().front() : ""));
  }

  void tally() {
    auto& s = cw->stats();
    auto n = cw->net().stats();
    all.crashes += s.crashes;
    all.restarts += s.restarts;
    all.partitions += s.partitions;
    all.stalls += s.stalls;
    all.expiries += s.expiries;
    all.fenced += cw->store().stats().fenced;
    all.leaves += s.leaves;
    all.breaks += n.breaks;
    all.duplicated += n.duplicated;
    all.delayed += n.delayed;
    all.views += s.views;
  }
};

} // namespace

TEST_CASE("a durable timer set on a node that crashes fires on the key's new owner") {
  for_seeds("multi_node.timer_failover", [&](std::uint64_t seed) {
    domain_config dcfg;
    dcfg.reminder_shards = 2;
    // Delays and duplicates but no drops: a fired timer is a one-way
    // message, lost if the connection breaks just then (a known limit).
    cluster_run r{seed, dcfg, false};
    auto& cw = *r.cw;
    auto target = cluster::entity_ref{kind::rider, "r-timer"};
    auto shard = reminder_ref_for(target, dcfg.reminder_shards);
    auto p = cw.make_probe();
    // Where the shard runs now (every node agrees once the views settled).
    p.clear();
    caf::send_as(p.handle, cw.router("n1"), cluster::owner_atom::value, shard);
    cw.run();
    auto owner = p.next<std::string>();
    REQUIRE(owner.has_value());
    REQUIRE(!owner->empty());
    auto via = *owner == "n1" ? std::string{"n2"} : std::string{"n1"};
    auto now = r.svc->clock->now_ms();
    p.clear();
    cw.send(p, via, shard, caf::make_message(reminder_set{target, "t-1", now + 10'000}));
    cw.advance(1s); // links delay messages in virtual time
    auto ack = p.next<msg::ok_reply>();
    if (!ack) {
      auto e = p.next<caf::error>();
      FAIL("no ack for reminder_set: " << (e ? cw.w().sys().render(*e) : "nothing"));
    }
    cw.crash(*owner);
    cw.advance(15s); // the lease runs out, the shard moves, recovers, fires
    std::size_t fired = 0;
    for (auto& [ref, m] : r.log->got)
      if (ref == target && m.match_elements<reminder_fired>() &&
          m.get_as<reminder_fired>(0).tag == "t-1") {
        ++fired;
        CHECK(m.get_as<reminder_fired>(0).due_ms == now + 10'000);
      }
    CHECK(fired >= 1); // at least once (targets deduplicate by tag)
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

TEST_CASE("an order that owes effects when its key moves finishes its saga on the new owner") {
  // Found by e2e_store_catchup (about 1 run in 25): n1, still on a view of
  // its own, ran the order and its payment; the view that placed them on
  // another node passivated both while the authorization was pending. The
  // outbox's retry tick died with the activation and nothing activated the
  // order on its new owner, so it never got paid and its store's tablet
  // never got new_order (the order's delay-alert reminder, 30 minutes later,
  // was the first thing to wake it).
  for_seeds("multi_node.outbox_move", [&](std::uint64_t seed) {
    domain_config dcfg;
    dcfg.payment_latency = 3s; // the provider still owes its answer when n1 drains
    cluster_run r{seed, dcfg, false};
    auto& cw = *r.cw;
    const auto& nodes = cw.config().nodes;
    auto owner = [&](const cluster::entity_ref& ref) {
      return nodes[static_cast<std::size_t>(cluster::place(nodes, ref))];
    };
    // The order and its payment run on n1; the store on another node (it
    // stays there when n1 leaves).
    std::string customer;
    core::order_id id;
    for (int i = 0;; ++i) {
      customer = "c-move-" + std::to_string(i);
      id = order_id_for(core::customer_id{customer}, core::request_id{"q-1"});
      if (owner(order_ref(id)) == "n1" && owner(payment_ref(id)) == "n1")
        break;
    }
    std::string store;
    for (int i = 0;; ++i) {
      store = "s-move-" + std::to_string(i);
      if (owner(store_ref(core::store_id{store})) != "n1")
        break;
    }
    auto s = store_ref(core::store_id{store});
    auto p = cw.make_probe();
    msg::upsert_store up;
    up.store_id = core::store_id{store};
    up.lat = gangnam.lat;
    up.lng = gangnam.lng;
    up.radius_m = 3000;
    up.open = true;
    cw.send(p, "n2", s, caf::make_message(store_upsert_cmd{{msg::role::admin, "a-1"}, up}));
    cw.advance(200ms);
    REQUIRE(p.next<msg::ok_reply>().has_value());
    auto tablet = cw.make_probe();
    cw.send(tablet, "n2", s,
            caf::make_message(subscribe_cmd{{msg::role::store, store}, tablet.handle}));
    cw.advance(200ms);
    auto snap = tablet.next<store_snapshot>();
    REQUIRE(snap.has_value());
    CHECK(snap->orders.empty());
    cw.send(p, "n2", order_ref(id),
            caf::make_message(place_order_cmd{{msg::role::customer, customer}, id,
                                              domain_world::order_body("q-1", store)}));
    cw.advance(200ms);
    REQUIRE(p.next<msg::order_placed>().has_value());
    // The authorization is pending on n1 when both keys move.
    cw.drain("n1");
    cw.advance(20s);
    CHECK(cw.stats().leaves == 1);
    bool new_order = false, paid = false;
    while (auto m = tablet.next_any()) {
      if (m->match_elements<push_atom, std::string, msg::new_order>())
        new_order = new_order || m->get_as<msg::new_order>(2).order_id == id;
      if (m->match_elements<push_atom, std::string, msg::order_status_msg>()) {
        auto& st = m->get_as<msg::order_status_msg>(2);
        paid = paid || (st.order_id == id && st.status == order_status::paid);
      }
    }
    CHECK_MESSAGE(new_order, "seed " << seed << ": the tablet never got new_order");
    CHECK_MESSAGE(paid, "seed " << seed << ": the tablet never got paid");
    CHECK(cw.store().stats().two_owner_violations == 0);
  });
}

namespace {

/// The order side's property loop (see the test cases below).
void run_properties(const std::string& label, const std::vector<std::uint64_t>& regressions,
                    harness::peer_loss on_peer_loss) {
  all = {};
  std::uint64_t peer_fences = 0, fenced_by_peer = 0, fence_reconnects = 0;
  domain_config dcfg;
  dcfg.payment_decline_rate = 0.1;
  dcfg.payment_transient_rate = 0.1;
  dcfg.reminder_shards = 2;
  auto rep = harness::for_each_seed(label, regressions, 1000, [&](std::uint64_t seed) {
    cluster_run r{seed, dcfg, true, on_peer_loss};
    r.cw->send(r.cw->make_probe(), "n1", store_ref(core::store_id{"s-1"}),
               caf::make_message(store_upsert_cmd{
                   {msg::role::admin, "a-1"},
                   [] {
                     msg::upsert_store b;
                     b.store_id = core::store_id{"s-1"};
                     b.lat = gangnam.lat;
                     b.lng = gangnam.lng;
                     b.radius_m = 3000;
                     b.open = true;
                     return b;
                   }()}));
    r.cw->run();
    for (int i = 0; i < orders_per_seed; ++i) {
      order_track o;
      o.customer = "c-" + std::to_string(i);
      o.id = order_id_for(core::customer_id{o.customer}, core::request_id{"q-" + o.customer});
      o.gw = r.cw->make_probe();
      r.orders.push_back(std::move(o));
    }
    r.chaos();
    r.check_end();
    r.tally();
    peer_fences += r.cw->stats().peer_fences;
    fenced_by_peer += r.cw->stats().fenced_by_peer;
    fence_reconnects += r.cw->stats().fence_reconnects;
    r.print_events_if_failed();
  });
  MESSAGE("multi-node seeds run: " << rep.run << " from base " << rep.base << "; crashes " << all.crashes
          << ", restarts " << all.restarts << ", partitions " << all.partitions << ", stalls " << all.stalls
          << ", lease expiries " << all.expiries << ", fenced writes " << all.fenced
          << ", drained+left " << all.leaves << ", broken links " << all.breaks
          << ", duplicated " << all.duplicated << ", delayed " << all.delayed
          << ", views " << all.views << ", acked commands " << all.acked_commands
          << ", acked orders checked " << all.acked_orders << ", reads " << all.reads
          << "; peer fences " << peer_fences << ", fenced by a peer " << fenced_by_peer
          << ", reconnects that fenced nobody " << fence_reconnects);
  // A property run proves something only if its faults happened.
  if (rep.run >= 100) {
    CHECK(all.crashes > 0);
    CHECK(all.restarts > 0);
    CHECK(all.partitions > 0);
    CHECK(all.stalls > 0);
    CHECK(all.expiries > 0);
    CHECK(all.fenced > 0);
    CHECK(all.leaves > 0);
    CHECK(all.breaks > 0);
    CHECK(all.duplicated > 0);
    CHECK(all.delayed > 0);
  }
  if (rep.run >= 100 && on_peer_loss == harness::peer_loss::fence) {
    CHECK(peer_fences > 0);
    CHECK(fence_reconnects > 0);
  }
}

/// Seeds of the fencing run that once failed. The first (a 30,000-seed
/// hunt): a node fenced a member that had joined a moment ago and never
/// connected to it (its router, on a view without the fencer, saw no broken
/// connection and served a stale read while also cut from the store); now
/// only members whose router told ours `adopted` are fenced.
/// The second (a 50,000-seed hunt): the member had told us `adopted` once,
/// but its membership had stalled and its router was on a view without us;
/// now only members that adopted our current view (or newer) are fenced.
/// The third (a 60,000-seed hunt): two nodes cut apart; the one the other
/// fenced did not know it (its `adopted` was still on the wire), released
/// its hold and served a stale read; now a node keeps holding while an
/// unknown member is unsettled.
/// The fourth: a node learnt it was fenced and rejoined 9 ms later, while an
/// activation started under its old epoch was still stopping; the recorder
/// counted it as a writing owner though its writes carry the old epoch (and
/// are refused): the recorder now skips activations of an older epoch.
const std::vector<std::uint64_t> fencing_regressions = {
    15639431176492695001ULL, 8724322114112792543ULL, 1461727443764820909ULL,
    18021362032629673008ULL};

} // namespace

TEST_CASE("on 3 nodes under partitions and crashes no acked order is lost, no status goes "
          "back, and no entity has two writing owners") {
  run_properties("multi_node.properties", property_regressions,
                 harness::peer_loss::wait_for_lease);
}

TEST_CASE("with peers fencing on broken connections no acked order is lost, no status goes "
          "back, and no entity has two writing owners") {
  run_properties("multi_node.properties_fencing", fencing_regressions, harness::peer_loss::fence);
}
