// The Redis archive and dropping streams from the Redis journal (issue #13),
// against a redis-server this test starts (skipped without one).
#include "storage/archive_redis.hpp"
#include "storage/redis_backend.hpp"
#include "storage/redis_client.hpp"
#include "storage/tests/redis_server.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::storage;
using namespace std::chrono_literals;

TEST_CASE("redis_archive_stores_with_the_retention_as_ttl_and_reads_the_newest") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto a = redis_archive::open(server.url(), std::chrono::hours{24});
  REQUIRE(a.ok());
  auto missing = (*a)->get("order:o-1");
  REQUIRE(missing.ok());
  CHECK_FALSE(*missing);
  REQUIRE((*a)->put("order:o-1", "delivered", 0).ok());
  REQUIRE((*a)->sync().ok());
  REQUIRE((*a)->put("order:o-1", "delivered again", 0).ok()); // a retry after a crash
  auto got = (*a)->get("order:o-1");
  REQUIRE(got.ok());
  CHECK(*got == std::string("delivered again"));
  CHECK((*a)->usage().puts == 2);
  auto c = redis_client::connect(server.url(), 2s);
  REQUIRE(c.ok());
  auto ttl = (*c)->command({"PTTL", redis_archive::key_of("order:o-1")});
  REQUIRE(ttl.ok());
  CHECK(ttl->integer > 23 * 3600 * 1000);
  CHECK(ttl->integer <= 24 * 3600 * 1000);
  // Any node reads it.
  auto other = redis_archive::open(server.url());
  REQUIRE(other.ok());
  CHECK(*(*other)->get("order:o-1") == std::string("delivered again"));
}

TEST_CASE("redis_backend_drop_deletes_the_stream_checks_its_version_and_is_idempotent") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto j = redis_backend::open(server.url());
  REQUIRE(j.ok());
  REQUIRE((*j)->append({"order:o-1", 0, {"e1", "e2"}}).ok());
  REQUIRE((*j)->save_snapshot("order:o-1", 1, "s1").ok());
  REQUIRE((*j)->append({"store:s-1", 0, {"e1"}}).ok());
  CHECK((*j)->usage().streams == 2);
  auto stale = (*j)->drop("order:o-1", 1);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.err().code == core::errc::conflict);
  REQUIRE((*j)->drop("order:o-1", 2).ok());
  CHECK((*j)->version("order:o-1") == 0);
  auto rec = (*j)->read("order:o-1");
  REQUIRE(rec.ok());
  CHECK_FALSE(rec->snapshot);
  CHECK(rec->events.empty());
  CHECK((*j)->streams() == std::vector<std::string>{"store:s-1"});
  CHECK((*j)->drop("order:o-1", 2).ok());
  CHECK((*j)->usage().streams == 1);
  CHECK((*j)->usage().drops == 1);
  auto c = redis_client::connect(server.url(), 2s);
  REQUIRE(c.ok());
  auto left = (*c)->command({"EXISTS", "courier:j:order:o-1", "courier:s:order:o-1"});
  REQUIRE(left.ok());
  CHECK(left->integer == 0);
  // The name starts over from version 1.
  REQUIRE((*j)->append({"order:o-1", 0, {"new"}}).ok());
  CHECK((*j)->version("order:o-1") == 1);
}
