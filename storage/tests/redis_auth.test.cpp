// Redis credentials (issue #14) against a real redis-server: a client
// without the password, or with a wrong one, gets a clear unauthorized
// error; the right one (requirepass or an ACL user's) works, also after its
// connection is cut and it reconnects.
#include "storage/redis_client.hpp"
#include "storage/redis_membership.hpp"
#include "storage/tests/redis_server.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::storage;
using namespace std::chrono_literals;

namespace {

constexpr const char* password = "correct horse";

/// The server's URL with other credentials.
redis_url as(const testing::redis_server& server, std::string user, std::string pass) {
  auto url = server.url();
  url.user = std::move(user);
  url.password = std::move(pass);
  return url;
}

bool says(const core::error& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

} // namespace

TEST_CASE("a_server_with_requirepass_lets_in_only_the_password") {
  COURIER_REDIS_SERVER_OR_SKIP_WITH(server, {}, password);

  auto none = redis_client::connect(as(server, "", ""), 2s);
  REQUIRE_FALSE(none.ok());
  CHECK(none.err().code == core::errc::unauthorized);
  CHECK_MESSAGE(says(none.err(), "wants a password"), none.err().message);

  auto wrong = redis_client::connect(as(server, "", "horse battery"), 2s);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().code == core::errc::unauthorized);
  CHECK_MESSAGE(says(wrong.err(), "refused the credentials of the default user"),
                wrong.err().message);
  CHECK_FALSE(says(wrong.err(), "horse battery")); // never echo a password

  auto table = redis_membership::connect(server.url());
  REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.err().message));
  member_record m;
  m.id = "n1";
  m.host = "127.0.0.1";
  m.cluster_port = 7000;
  CHECK((*table)->join(m, 10s).ok());
  auto locked_out = redis_membership::connect(as(server, "", ""));
  REQUIRE_FALSE(locked_out.ok());
  CHECK(locked_out.err().code == core::errc::unauthorized);
}

TEST_CASE("a_cut_connection_authenticates_again_when_it_reconnects") {
  COURIER_REDIS_SERVER_OR_SKIP_WITH(server, {}, password);
  auto client = server.client();
  REQUIRE(client->command({"SET", "k", "v"}).ok());
  // Another connection cuts every client but itself.
  auto killed = server.run({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  REQUIRE_MESSAGE(killed.ok(), (killed.ok() ? "" : killed.err().message));
  CHECK(killed->integer >= 1);
  auto first = client->command({"GET", "k"}); // may see the cut (unavailable)
  if (!first)
    CHECK(first.err().code == core::errc::unavailable);
  auto again = client->command({"GET", "k"});
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.err().message));
  CHECK(again->str == "v");
}

TEST_CASE("an_acl_user_needs_its_own_password_and_its_permissions") {
  // `courier` may do anything; `watcher` may only PING: a membership join
  // is refused as forbidden, not silently lost.
  COURIER_REDIS_SERVER_OR_SKIP_WITH(
      server,
      {"--user", "courier", "on", ">pw-courier", "~*", "&*", "+@all", "--user", "watcher", "on",
       ">pw-watcher", "+ping"},
      password);

  auto user = redis_client::connect(as(server, "courier", "pw-courier"), 2s);
  REQUIRE_MESSAGE(user.ok(), (user.ok() ? "" : user.err().message));
  CHECK((*user)->command({"SET", "k", "v"}).ok());

  auto other = redis_client::connect(as(server, "courier", password), 2s);
  REQUIRE_FALSE(other.ok());
  CHECK(other.err().code == core::errc::unauthorized);
  CHECK_MESSAGE(says(other.err(), "user 'courier'"), other.err().message);

  auto table = redis_membership::connect(as(server, "watcher", "pw-watcher"));
  if (table) {
    member_record m;
    m.id = "n1";
    m.host = "127.0.0.1";
    m.cluster_port = 7000;
    auto joined = (*table)->join(m, 10s);
    REQUIRE_FALSE(joined.ok());
    CHECK(joined.err().code == core::errc::forbidden);
  } else {
    CHECK(table.err().code == core::errc::forbidden);
  }
}
