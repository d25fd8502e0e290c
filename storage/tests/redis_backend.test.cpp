// The Redis journal backend and client against a real redis-server: what
// the shared contract (journal_backend.test.cpp) does not cover: fencing,
// the events-since-snapshot bound, script reloads, reconnects, many streams,
// and the append rate (printed, not asserted).
#include "storage/redis_backend.hpp"
#include "storage/redis_membership.hpp"
#include "storage/tests/redis_server.hpp"

#include "core/limits.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace courier;
using namespace courier::storage;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<redis_backend> open_backend(const testing::redis_server& server,
                                            std::optional<redis_fence> fence = std::nullopt) {
  auto opened = redis_backend::open(server.url(), std::move(fence));
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.err().message));
  return std::move(*opened);
}

std::unique_ptr<redis_membership> open_table(const testing::redis_server& server) {
  auto table = redis_membership::connect(server.url());
  REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.err().message));
  return std::move(*table);
}

member_record member(const std::string& id) {
  member_record m;
  m.id = id;
  m.cluster_port = 7000;
  return m;
}

} // namespace

TEST_CASE("parse_redis_url_accepts_host_and_port_and_rejects_the_rest") {
  auto url = parse_redis_url("redis://10.0.0.5:6380");
  REQUIRE(url.ok());
  CHECK(url->host == "10.0.0.5");
  CHECK(url->port == 6380);
  CHECK(url->str() == "redis://10.0.0.5:6380");
  auto bare = parse_redis_url("redis://cache.local");
  REQUIRE(bare.ok());
  CHECK(bare->port == 6379);
  for (const char* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:70000",
                          "redis://h:x", "redis://u@h:1", "redis://:6379"}) {
    auto r = parse_redis_url(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok())
      CHECK(r.err().code == core::errc::bad_request);
  }
}

TEST_CASE("parse_redis_url_takes_sentinels_and_a_master_name_with_bounds") {
  auto url = parse_redis_url("redis-sentinel://10.0.0.1:26380,sentinel-b,10.0.0.3:5000/courier-1");
  REQUIRE(url.ok());
  CHECK(url->via_sentinel());
  REQUIRE(url->sentinels.size() == 3);
  CHECK(url->sentinels[0].host == "10.0.0.1");
  CHECK(url->sentinels[0].port == 26380);
  CHECK(url->sentinels[1].host == "sentinel-b");
  CHECK(url->sentinels[1].port == 26379);
  CHECK(url->sentinels[2].port == 5000);
  CHECK(url->master_name == "courier-1");
  CHECK(url->wait.replicas == 1); // durable across a failover by default
  CHECK(url->str() == "redis-sentinel://10.0.0.1:26380,sentinel-b:26379,10.0.0.3:5000/courier-1");
  auto plain = parse_redis_url("redis://h");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->via_sentinel());
  CHECK(plain->wait.replicas == 0);

  std::string many = "redis-sentinel://";
  for (std::size_t i = 0; i <= redis_sentinels_max; ++i)
    many += (i == 0 ? "" : ",") + std::string("h") + std::to_string(i);
  many += "/m";
  for (const std::string& bad :
       {std::string("redis-sentinel://h:1"), std::string("redis-sentinel://h:1/"),
        std::string("redis-sentinel:///m"), std::string("redis-sentinel://h,,g/m"),
        std::string("redis-sentinel://h:0/m"), std::string("redis-sentinel://h/m/x"),
        std::string("redis-sentinel://h/m y"), std::string("redis-sentinel://u@h/m"),
        std::string("redis-sentinel://h/") + std::string(redis_master_name_bytes_max + 1, 'm'),
        many}) {
    auto r = parse_redis_url(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) {
      CHECK(r.err().code == core::errc::bad_request);
      CHECK(r.err().message.find("redis-sentinel://HOST[:PORT],.../NAME") != std::string::npos);
    }
  }
}

TEST_CASE("unreachable_sentinels_are_unavailable_within_bounded_rounds") {
  auto url = parse_redis_url("redis-sentinel://127.0.0.1:1,127.0.0.1:2/courier");
  REQUIRE(url.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto c = redis_client::connect(*url, 200ms);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().code == core::errc::unavailable);
  CHECK(c.err().message.find("no master 'courier'") != std::string::npos);
  CHECK(took < 5s);
}

TEST_CASE("unreachable_redis_is_unavailable") {
  // Port 1 on loopback: nothing listens there.
  auto c = redis_client::connect(redis_url{"127.0.0.1", 1}, 200ms);
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().code == core::errc::unavailable);
}

TEST_CASE("fenced_writer_with_a_stale_epoch_is_unavailable_and_writes_nothing") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto epoch = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto j = open_backend(server, redis_fence{member_key("n1"), epoch});

  // Not joined yet: epoch 0 writes nothing.
  auto unjoined = j->append({"order:o-1", 0, {"e1"}});
  REQUIRE_FALSE(unjoined.ok());
  CHECK(unjoined.err().code == core::errc::unavailable);

  auto e1 = table->join(member("n1"), 10s);
  REQUIRE(e1.ok());
  epoch->store(*e1);
  REQUIRE(j->append({"order:o-1", 0, {"e1"}}).ok());
  REQUIRE(j->save_snapshot("order:o-1", 1, "s1").ok());

  // The node leaves and a new incarnation joins: the old epoch is fenced.
  REQUIRE(table->leave("n1", *e1).ok());
  auto e2 = table->join(member("n1"), 10s);
  REQUIRE(e2.ok());
  CHECK(*e2 > *e1);
  auto stale = j->append({"order:o-1", 1, {"e2"}});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.err().code == core::errc::unavailable);
  CHECK(stale.err().message.rfind("FENCED", 0) == 0);
  auto stale_snap = j->save_snapshot("order:o-1", 1, "stale");
  REQUIRE_FALSE(stale_snap.ok());
  CHECK(stale_snap.err().code == core::errc::unavailable);

  auto got = j->read("order:o-1");
  REQUIRE(got.ok());
  CHECK(got->version == 1);
  REQUIRE(got->snapshot.has_value());
  CHECK(got->snapshot->payload == "s1");

  // The new epoch writes.
  epoch->store(*e2);
  CHECK(j->append({"order:o-1", 1, {"e2"}}).ok());
  CHECK(j->version("order:o-1") == 2);
}

TEST_CASE("a_writer_started_under_an_older_epoch_is_refused_after_the_node_rejoins") {
  // Issue #16's seed hunt: an activation busy when its node fenced itself
  // wrote after the node rejoined, with the node's new epoch, while the
  // key's new owner ran it (two writers). Writes carry their writer's epoch.
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e1 = table->join(member("n1"), 10s);
  REQUIRE(e1.ok());
  auto epoch = std::make_shared<std::atomic<std::uint64_t>>(*e1);
  auto j = open_backend(server, redis_fence{member_key("n1"), epoch});
  storage::append_request first{"order:o-1", 0, {"e1"}, *e1};
  REQUIRE(j->append(first).ok());
  REQUIRE(table->leave("n1", *e1).ok());
  auto e2 = table->join(member("n1"), 10s);
  REQUIRE(e2.ok());
  epoch->store(*e2); // rejoined
  storage::append_request late{"order:o-1", 1, {"late"}, *e1};
  auto refused = j->append(late);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == core::errc::unavailable);
  CHECK(j->version("order:o-1") == 1);
  storage::append_request fresh{"order:o-1", 1, {"e2"}, *e2};
  CHECK(j->append(fresh).ok());
}

TEST_CASE("a_write_with_the_old_epoch_after_a_peer_fenced_the_node_is_refused") {
  // Failover on a broken connection (cluster/README.md): n2 fences n1 while
  // n1 is alive (partitioned) and still believes it holds its epoch, with a
  // write in flight. The write races the fence in Redis; either it lands
  // before (and the new owner's recovery reads it) or it is refused.
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e1 = table->join(member("n1"), 10s);
  auto peer = table->join(member("n2"), 10s);
  REQUIRE(e1.ok());
  REQUIRE(peer.ok());
  auto epoch = std::make_shared<std::atomic<std::uint64_t>>(*e1);
  auto j = open_backend(server, redis_fence{member_key("n1"), epoch});
  REQUIRE(j->append({"order:o-1", 0, {"before"}, *e1}).ok());
  auto fenced = table->fence("n1", *e1, "n2", *peer);
  REQUIRE(fenced.ok());
  REQUIRE(*fenced == fence_outcome::fenced);
  // n1 has not noticed: its epoch is still e1.
  auto late = j->append({"order:o-1", 1, {"late"}, *e1});
  REQUIRE_FALSE(late.ok());
  CHECK(late.err().code == core::errc::unavailable);
  CHECK(late.err().message.rfind("FENCED", 0) == 0);
  auto late_snap = j->save_snapshot("order:o-1", 1, "late");
  REQUIRE_FALSE(late_snap.ok());
  CHECK(j->version("order:o-1") == 1);
  auto got = j->read("order:o-1");
  REQUIRE(got.ok());
  CHECK(got->version == 1);
  CHECK_FALSE(got->snapshot.has_value());
}

TEST_CASE("fenced_writer_whose_lease_expired_is_unavailable_and_writes_nothing") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e = table->join(member("n1"), 100ms);
  REQUIRE(e.ok());
  auto epoch = std::make_shared<std::atomic<std::uint64_t>>(*e);
  auto j = open_backend(server, redis_fence{member_key("n1"), epoch});
  REQUIRE(j->append({"rider:r-1", 0, {"e1"}}).ok());
  std::this_thread::sleep_for(200ms); // the lease expires, nobody noticed yet
  auto late = j->append({"rider:r-1", 1, {"e2"}});
  REQUIRE_FALSE(late.ok());
  CHECK(late.err().code == core::errc::unavailable);
  CHECK(j->version("rider:r-1") == 1);
}

TEST_CASE("unfenced_backend_ignores_membership") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  CHECK(j->append({"order:o-1", 0, {"a", "b"}}).ok());
  CHECK(j->version("order:o-1") == 2);
}

TEST_CASE("events_after_a_snapshot_are_bounded_and_a_snapshot_frees_room") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  const std::string s = "rider:r-busy";
  const std::size_t batch = core::limits::journal_events_per_append_max;
  version_t v = 0;
  while (v + batch <= redis_events_since_snapshot_max) {
    auto r = j->append({s, v, std::vector<std::string>(batch, "e")});
    REQUIRE(r.ok());
    v = *r;
  }
  const auto room = redis_events_since_snapshot_max - v;
  if (room > 0) {
    auto r = j->append({s, v, std::vector<std::string>(room, "e")});
    REQUIRE(r.ok());
    v = *r;
  }
  CHECK(v == redis_events_since_snapshot_max);
  auto over = j->append({s, v, {"one too many"}});
  REQUIRE_FALSE(over.ok());
  CHECK(over.err().code == core::errc::overloaded);
  CHECK(j->version(s) == v);

  REQUIRE(j->save_snapshot(s, v, "state").ok());
  CHECK(j->append({s, v, {"after"}}).ok());
  auto got = j->read(s);
  REQUIRE(got.ok());
  CHECK(got->version == v + 1);
  REQUIRE(got->events.size() == 1);
  CHECK(got->events[0].version == v + 1);
  CHECK(got->events[0].payload == "after");
}

TEST_CASE("a_snapshot_trims_the_events_it_covers_and_versions_carry_on") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  const std::string s = "order:o-trim";
  const auto list_length = [&] {
    auto r = server.client()->command({"LLEN", "courier:j:" + s});
    REQUIRE(r.ok());
    return r->integer;
  };
  REQUIRE(j->append({s, 0, {"e1", "e2", "e3", "e4", "e5"}}).ok());
  REQUIRE(j->save_snapshot(s, 3, "state@3").ok());
  CHECK(list_length() == 2); // before: 5, the list only grew
  CHECK(j->version(s) == 5);
  REQUIRE(j->append({s, 5, {"e6"}}).ok());
  auto stale = j->append({s, 5, {"again"}});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.err().code == core::errc::conflict);
  REQUIRE(j->save_snapshot(s, 6, "state@6").ok());
  CHECK(list_length() == 0);
  CHECK(j->version(s) == 6);
  REQUIRE(j->append({s, 6, {"e7"}}).ok());
  auto got = j->read(s);
  REQUIRE(got.ok());
  CHECK(got->version == 7);
  REQUIRE(got->snapshot);
  CHECK(got->snapshot->version == 6);
  CHECK(got->snapshot->payload == "state@6");
  REQUIRE(got->events.size() == 1);
  CHECK(got->events[0].version == 7);
  CHECK(got->events[0].payload == "e7");
  // An older snapshot after a newer one is still a conflict, not a trim.
  auto older = j->save_snapshot(s, 4, "state@4");
  REQUIRE_FALSE(older.ok());
  CHECK(older.err().code == core::errc::conflict);
}

TEST_CASE("flushed_scripts_are_loaded_again") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  REQUIRE(j->append({"order:o-1", 0, {"a"}}).ok());
  REQUIRE(server.client()->command({"SCRIPT", "FLUSH"}).ok());
  CHECK(j->append({"order:o-1", 1, {"b"}}).ok());
  auto got = j->read("order:o-1");
  REQUIRE(got.ok());
  CHECK(got->events.size() == 2);
}

TEST_CASE("a_killed_connection_is_unavailable_once_then_reconnects") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  REQUIRE(j->append({"order:o-1", 0, {"a"}}).ok());
  auto admin = server.client();
  REQUIRE(admin->command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).ok());
  auto first = j->append({"order:o-1", 1, {"b"}});
  if (!first.ok())
    CHECK(first.err().code == core::errc::unavailable);
  const version_t expected = first.ok() ? 2 : 1;
  auto second = j->append({"order:o-1", expected, {"c"}});
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.err().message));
  CHECK(*second == expected + 1);
}

TEST_CASE("a_stopped_server_is_unavailable") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  server.stop();
  auto r = j->append({"order:o-1", 0, {"a"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == core::errc::unavailable);
  auto read = j->read("order:o-1");
  REQUIRE_FALSE(read.ok());
  CHECK(read.err().code == core::errc::unavailable);
  CHECK(j->version("order:o-1") == 0);
  CHECK(j->streams().empty());
  CHECK(j->failed_reads() == 2);
}

TEST_CASE("streams_pages_through_many_streams") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  const int n = 2500; // more than one SSCAN page
  std::vector<std::string> want;
  for (int i = 0; i < n; ++i) {
    want.push_back("order:o-" + std::to_string(i));
    REQUIRE(j->append({want.back(), 0, {"e"}}).ok());
  }
  std::sort(want.begin(), want.end());
  CHECK(j->streams() == want);
}

TEST_CASE("binary_events_round_trip") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = open_backend(server);
  std::string binary("\0\r\n\xff-ERR x", 10);
  REQUIRE(j->append({"order:o-bin", 0, {binary, ""}}).ok());
  REQUIRE(j->save_snapshot("order:o-bin", 1, binary).ok());
  auto got = j->read("order:o-bin");
  REQUIRE(got.ok());
  CHECK(got->snapshot->payload == binary);
  REQUIRE(got->events.size() == 1);
  CHECK(got->events[0].payload.empty());
  CHECK(got->events[0].version == 2);
}

TEST_CASE("append_rate_single_event_appends") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e = table->join(member("n1"), 60s);
  REQUIRE(e.ok());
  auto epoch = std::make_shared<std::atomic<std::uint64_t>>(*e);
  auto j = open_backend(server, redis_fence{member_key("n1"), epoch});
  const int n = 20000;
  const std::string event(100, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    // 100 streams, as a node's many entities would spread its appends.
    const std::string stream = "order:o-" + std::to_string(i % 100);
    auto r = j->append({stream, static_cast<version_t>(i / 100), {event}});
    REQUIRE(r.ok());
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("redis_backend: %d fenced single-event appends in %.2f s = %.0f appends/s\n", n,
              took.count(), n / took.count());
  // The floor for comparison: one PING round trip each on the same link.
  auto client = server.client();
  const auto ping_start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    REQUIRE(client->command({"PING"}).ok());
  const std::chrono::duration<double> ping_took = std::chrono::steady_clock::now() - ping_start;
  std::printf("redis_backend: %d PINGs in %.2f s = %.0f round trips/s\n", n, ping_took.count(),
              n / ping_took.count());
  CHECK(j->version("order:o-0") == static_cast<version_t>(n / 100));
}
