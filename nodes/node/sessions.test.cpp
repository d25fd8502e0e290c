// The session directory's token-expiry order (issue #11 item b): the sweep
// visits only expired sessions, each once, and refresh moves an expiry.

#include "nodes/node/sessions.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace courier;
using courier::node::encoding;
using courier::node::session_directory;
using courier::node::session_entry;

namespace {

/// A session that only knows its id.
class fake_session final : public gateway::session {
public:
  explicit fake_session(std::uint64_t id) : id_(id) {}
  std::uint64_t id() const noexcept override { return id_; }
  gateway::transport transport() const noexcept override { return gateway::transport::ws; }
  const std::string& remote_address() const noexcept override { return remote_; }
  using session::push;
  gateway::push_result push(const gateway::shared_frame&, const gateway::delivery&) override {
    return gateway::push_result::queued;
  }
  void close(std::string) override {}
  bool closing() const override { return false; }
  void heartbeating() override {}

private:
  std::uint64_t id_;
  std::string remote_ = "test";
};

session_entry entry_for(const gateway::session_ptr& s) {
  return session_entry{s, encoding::json, false, {}, gateway::token_bucket{10, 10, 0}};
}

actors::caller customer(std::string id) { return actors::caller{msg::role::customer, std::move(id)}; }

} // namespace

TEST_CASE("expired tokens are taken once, soonest first, and only when due") {
  session_directory dir;
  std::vector<gateway::session_ptr> live;
  for (std::uint64_t id = 1; id <= 5; ++id) {
    live.push_back(std::make_shared<fake_session>(id));
    dir.add(id, entry_for(live.back()));
  }
  CHECK(dir.authenticate(1, customer("c-1"), encoding::json, 3000));
  CHECK(dir.authenticate(2, customer("c-2"), encoding::proto, 1000));
  CHECK(dir.authenticate(3, customer("c-3"), encoding::json, 2000));
  // 4 never says hello; 5 expires at the same time as 2.
  CHECK(dir.authenticate(5, customer("c-5"), encoding::json, 1000));
  CHECK(dir.expiries_size() == 4);

  CHECK(dir.take_expired(999).empty());
  auto due = dir.take_expired(1000); // expiry <= now
  REQUIRE(due.size() == 2);
  CHECK(due[0].first->id() == 2);
  CHECK(due[0].second == encoding::proto);
  CHECK(due[1].first->id() == 5);
  CHECK(dir.take_expired(1000).empty()); // told once
  CHECK(dir.expiries_size() == 2);
  bool authed = true;
  CHECK(dir.with(2, [&](session_entry& e) { authed = e.authenticated; }));
  CHECK_FALSE(authed);

  auto later = dir.take_expired(10'000);
  REQUIRE(later.size() == 2);
  CHECK(later[0].first->id() == 3);
  CHECK(later[1].first->id() == 1);
  CHECK(dir.expiries_size() == 0);
  CHECK(dir.size() == 5); // closing them is the caller's part
}

TEST_CASE("refresh moves a token's expiry and keeps one place per session") {
  session_directory dir;
  auto s = std::make_shared<fake_session>(7);
  dir.add(7, entry_for(s));
  CHECK_FALSE(dir.refresh_token(7, 5000)); // not authenticated yet
  CHECK(dir.authenticate(7, customer("c-7"), encoding::json, 1000));
  for (int i = 1; i <= 100; ++i)
    CHECK(dir.refresh_token(7, 1000 + i));
  CHECK(dir.expiries_size() == 1);
  CHECK(dir.take_expired(1099).empty());
  CHECK(dir.take_expired(1100).size() == 1);
  CHECK_FALSE(dir.refresh_token(7, 9000)); // told it expired: refresh comes too late
  CHECK(dir.take_expired(100'000).empty());
  CHECK_FALSE(dir.refresh_token(8, 9000)); // unknown session
}

TEST_CASE("a removed or dead session leaves the expiry order") {
  session_directory dir;
  auto a = std::make_shared<fake_session>(1);
  auto b = std::make_shared<fake_session>(2);
  dir.add(1, entry_for(a));
  dir.add(2, entry_for(b));
  CHECK(dir.authenticate(1, customer("c-1"), encoding::json, 1000));
  CHECK(dir.authenticate(2, customer("c-2"), encoding::json, 1000));
  dir.remove(1);
  CHECK(dir.expiries_size() == 1);
  b.reset(); // the connection is gone, on_close not yet seen
  CHECK(dir.take_expired(2000).empty()); // nobody left to tell
  CHECK(dir.expiries_size() == 0);
  dir.remove(2);
  CHECK(dir.size() == 0);
  CHECK_FALSE(dir.authenticate(1, customer("c-1"), encoding::json, 1000));
}
