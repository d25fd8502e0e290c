// The Redis membership table against a real redis-server.
#include "storage/redis_membership.hpp"
#include "storage/tests/redis_server.hpp"

#include "core/limits.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace courier;
using namespace courier::storage;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<redis_membership> open_table(const testing::redis_server& server) {
  auto table = redis_membership::connect(server.url());
  REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.err().message));
  return std::move(*table);
}

member_record member(const std::string& id, std::uint16_t port = 7000) {
  member_record m;
  m.id = id;
  m.host = "10.0.0.1";
  m.cluster_port = port;
  m.http_port = static_cast<std::uint16_t>(port + 1);
  m.tcp_port = static_cast<std::uint16_t>(port + 2);
  m.stats = R"({"order":3})";
  return m;
}

/// n1 and n2 joined (n2 with `n2_lease`); their epochs.
std::pair<std::uint64_t, std::uint64_t> join_two(redis_membership& table,
                                                 std::chrono::milliseconds n2_lease = 10s) {
  auto a = table.join(member("n1", 7000), 10s);
  auto b = table.join(member("n2", 7100), n2_lease);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  return {*a, *b};
}

membership_view view_of(redis_membership& table) {
  auto v = table.read_view();
  REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.err().message));
  return *v;
}

std::vector<std::string> ids_of(const membership_view& v) {
  std::vector<std::string> ids;
  for (auto& m : v.members)
    ids.push_back(m.id);
  return ids;
}

} // namespace

TEST_CASE("joins_take_increasing_epochs_and_bump_the_view") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  CHECK(view_of(*table).version == 0);
  auto e1 = table->join(member("n2", 7100), 10s);
  auto e2 = table->join(member("n1", 7000), 10s);
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  CHECK(*e2 > *e1);
  auto v = view_of(*table);
  CHECK(v.version == 2);
  REQUIRE(ids_of(v) == std::vector<std::string>{"n1", "n2"});
  const auto& n1 = v.members[0];
  CHECK(n1.epoch == *e2);
  CHECK(n1.host == "10.0.0.1");
  CHECK(n1.cluster_port == 7000);
  CHECK(n1.http_port == 7001);
  CHECK(n1.tcp_port == 7002);
  CHECK_FALSE(n1.draining);
  CHECK(n1.stats == R"({"order":3})");
  CHECK(n1.lease_left_ms > 0);
  CHECK(n1.lease_left_ms <= 10000);
}

TEST_CASE("joining_with_a_live_id_is_a_conflict") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  REQUIRE(table->join(member("n1"), 10s).ok());
  auto again = table->join(member("n1"), 10s);
  REQUIRE_FALSE(again.ok());
  CHECK(again.err().code == core::errc::conflict);
  CHECK(view_of(*table).version == 1);
}

TEST_CASE("a_rejoin_after_the_lease_expired_takes_a_new_epoch") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e1 = table->join(member("n1"), 50ms);
  REQUIRE(e1.ok());
  std::this_thread::sleep_for(120ms);
  auto e2 = table->join(member("n1"), 10s);
  REQUIRE(e2.ok());
  CHECK(*e2 > *e1);
  auto v = view_of(*table);
  REQUIRE(v.members.size() == 1);
  CHECK(v.members[0].epoch == *e2);
}

TEST_CASE("renew_extends_the_lease_and_stores_stats_until_it_is_lost") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e = table->join(member("n1"), 600ms);
  REQUIRE(e.ok());
  for (int i = 0; i < 4; ++i) { // 4 x 200 ms: lives past its first lease
    std::this_thread::sleep_for(200ms);
    auto renewed = table->renew("n1", *e, 600ms, R"({"order":)" + std::to_string(i) + "}");
    REQUIRE(renewed.ok());
    CHECK(*renewed);
  }
  auto v = view_of(*table);
  REQUIRE(v.members.size() == 1);
  CHECK(v.members[0].stats == R"({"order":3})");

  auto wrong_epoch = table->renew("n1", *e + 1, 600ms, "{}");
  REQUIRE(wrong_epoch.ok());
  CHECK_FALSE(*wrong_epoch);

  std::this_thread::sleep_for(800ms); // expired
  auto late = table->renew("n1", *e, 600ms, "{}");
  REQUIRE(late.ok());
  CHECK_FALSE(*late);

  auto too_big = table->renew("n1", *e, 600ms, std::string(member_stats_bytes_max + 1, 'x'));
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.err().code == core::errc::bad_request);
}

TEST_CASE("read_view_removes_an_expired_member_and_bumps_the_version_once") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  REQUIRE(table->join(member("n1"), 10s).ok());
  REQUIRE(table->join(member("n2"), 50ms).ok());
  auto before = view_of(*table);
  CHECK(before.version == 2);
  CHECK(ids_of(before) == std::vector<std::string>{"n1", "n2"});
  std::this_thread::sleep_for(120ms);
  auto after = view_of(*table);
  CHECK(after.version == 3);
  CHECK(ids_of(after) == std::vector<std::string>{"n1"});
  auto again = view_of(*table);
  CHECK(again.version == 3);
  CHECK(ids_of(again) == std::vector<std::string>{"n1"});
}

TEST_CASE("two_reads_of_the_same_version_have_the_same_members") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto other = open_table(server);
  for (const char* id : {"n3", "n1", "n2"})
    REQUIRE(table->join(member(id), 10s).ok());
  REQUIRE(table->set_draining("n2").ok());
  auto a = view_of(*table);
  auto b = view_of(*other);
  REQUIRE(a.version == b.version);
  REQUIRE(a.members.size() == b.members.size());
  for (std::size_t i = 0; i < a.members.size(); ++i) {
    CHECK(a.members[i].id == b.members[i].id);
    CHECK(a.members[i].epoch == b.members[i].epoch);
    CHECK(a.members[i].host == b.members[i].host);
    CHECK(a.members[i].cluster_port == b.members[i].cluster_port);
    CHECK(a.members[i].draining == b.members[i].draining);
  }
  CHECK(ids_of(a) == std::vector<std::string>{"n1", "n2", "n3"});
}

TEST_CASE("set_draining_marks_the_member_and_bumps_the_view_once") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  REQUIRE(table->join(member("n1"), 10s).ok());
  REQUIRE(table->set_draining("n1").ok());
  auto v = view_of(*table);
  CHECK(v.version == 2);
  REQUIRE(v.members.size() == 1);
  CHECK(v.members[0].draining);
  REQUIRE(table->set_draining("n1").ok());
  CHECK(view_of(*table).version == 2);

  auto missing = table->set_draining("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == core::errc::not_found);
}

TEST_CASE("leave_removes_the_member_but_not_a_newer_incarnation") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto e1 = table->join(member("n1"), 10s);
  REQUIRE(e1.ok());
  REQUIRE(table->leave("n1", *e1).ok());
  auto v = view_of(*table);
  CHECK(v.version == 2);
  CHECK(v.members.empty());
  REQUIRE(table->leave("n1", *e1).ok()); // idempotent
  CHECK(view_of(*table).version == 2);

  auto e2 = table->join(member("n1"), 10s);
  REQUIRE(e2.ok());
  REQUIRE(table->leave("n1", *e1).ok()); // the old incarnation's late leave
  v = view_of(*table);
  CHECK(v.version == 3);
  REQUIRE(v.members.size() == 1);
  CHECK(v.members[0].epoch == *e2);
}

TEST_CASE("fence_removes_a_member_that_holds_the_epoch_and_bumps_the_view_once") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto [a, b] = join_two(*table);
  auto before = view_of(*table).version;
  auto r = table->fence("n2", b, "n1", a);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  CHECK(*r == fence_outcome::fenced);
  auto v = view_of(*table);
  CHECK(v.version == before + 1);
  CHECK(ids_of(v) == std::vector<std::string>{"n1"});
  // The fenced member's renewal is refused: it must stop and rejoin.
  auto renewed = table->renew("n2", b, 10s, "{}");
  REQUIRE(renewed.ok());
  CHECK_FALSE(*renewed);
  // Idempotent: a second survivor that saw the same broken connection.
  auto again = table->fence("n2", b, "n1", a);
  REQUIRE(again.ok());
  CHECK(*again == fence_outcome::gone);
  CHECK(view_of(*table).version == before + 1);
  // The rejoin takes a new epoch at once (no lease to wait out).
  auto b2 = table->join(member("n2", 7100), 10s);
  REQUIRE(b2.ok());
  CHECK(*b2 > b);
}

TEST_CASE("fence_leaves_a_newer_incarnation_alone") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto a = table->join(member("n1", 7000), 10s);
  auto b1 = table->join(member("n2", 7100), 10s);
  REQUIRE(a.ok());
  REQUIRE(b1.ok());
  REQUIRE(table->leave("n2", *b1).ok());
  auto b2 = table->join(member("n2", 7100), 10s);
  REQUIRE(b2.ok());
  auto r = table->fence("n2", *b1, "n1", *a); // a late fence of the old incarnation
  REQUIRE(r.ok());
  CHECK(*r == fence_outcome::gone);
  auto v = view_of(*table);
  REQUIRE(v.members.size() == 2);
  CHECK(v.members[1].epoch == *b2);
}

TEST_CASE("of_two_members_fencing_each_other_exactly_one_survives") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto [a, b] = join_two(*table);
  auto first = table->fence("n2", b, "n1", a);
  auto second = table->fence("n1", a, "n2", b); // n2 was fenced a moment ago
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first == fence_outcome::fenced);
  CHECK(*second == fence_outcome::not_member);
  CHECK(ids_of(view_of(*table)) == std::vector<std::string>{"n1"});
}

TEST_CASE("fence_of_an_expired_member_drops_its_id_and_bad_arguments_are_refused") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  auto [a, b] = join_two(*table, 100ms);
  auto before = view_of(*table).version;
  std::this_thread::sleep_for(200ms);
  auto r = table->fence("n2", b, "n1", a);
  REQUIRE(r.ok());
  CHECK(*r == fence_outcome::gone);
  auto v = view_of(*table);
  CHECK(v.version == before + 1); // the expiry, noticed once
  CHECK(ids_of(v) == std::vector<std::string>{"n1"});
  for (auto bad : {table->fence("n1", a, "n1", a), table->fence("n2", 0, "n1", a),
                   table->fence("", 1, "n1", a)}) {
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().code == core::errc::bad_request);
  }
}

TEST_CASE("bad_ids_leases_and_a_full_table_are_refused") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  CHECK(table->join(member(""), 10s).err().code == core::errc::bad_request);
  CHECK(table->join(member(std::string(core::limits::id_chars_max + 1, 'n')), 10s).err().code ==
        core::errc::bad_request);
  CHECK(table->join(member("n1"), 0ms).err().code == core::errc::bad_request);
  CHECK(table->join(member("n1"), member_lease_max + 1ms).err().code ==
        core::errc::bad_request);
  for (std::size_t i = 0; i < members_max; ++i)
    REQUIRE(table->join(member("m" + std::to_string(i)), 10s).ok());
  auto full = table->join(member("one-more"), 10s);
  REQUIRE_FALSE(full.ok());
  CHECK(full.err().code == core::errc::overloaded);
  CHECK(view_of(*table).members.size() == members_max);
}
