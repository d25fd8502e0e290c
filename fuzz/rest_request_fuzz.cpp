// REST request handling (nodes/node/rest_handler.cpp): routes, path ids,
// query strings, JSON bodies, authentication and rate limits, on the real
// rest_handler with no actor system: its gateway actor handle is empty,
// so a request it routes to an entity is dropped there and answered 500
// when its responder goes away; everything it decides itself (404, 400,
// 401, 403, 429, /v1/cells, /healthz) is answered on the spot, and so is a
// rider's history (a stand-in that answers one point).
//
// Input, line by line: the method; the target ("/v1/orders/o-1?x=1"); the
// caller: "<role>:<id>" (the harness signs a valid token for it),
// "raw:<token>" (sent as is) or anything else (no Authorization header);
// then the body.
#include "core/clock.hpp"
#include "fuzz/fuzz_check.hpp"
#include "nodes/auth/token.hpp"
#include "nodes/gateway/detail/responder_state.hpp"
#include "nodes/node/metrics.hpp"
#include "nodes/node/rest_handler.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

using namespace courier;

namespace {
constexpr std::string_view secret = "fuzz-secret";

/// Stands in for the HTTP connection: counts and checks the answers.
class recording_link final : public gateway::detail::http_link {
public:
  void respond(gateway::http_response r) override {
    ++answers;
    FUZZ_CHECK(r.status >= 200 && r.status <= 599);
    if (r.content_type == "application/json")
      FUZZ_CHECK(!nlohmann::json::parse(r.body, nullptr, false).is_discarded());
  }
  int answers = 0;
};

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

/// sign_token expects claims its callers checked (JSON needs UTF-8).
bool printable(std::string_view s) {
  for (unsigned char ch : s)
    if (ch < 0x20 || ch > 0x7E)
      return false;
  return true;
}

struct fixture {
  core::manual_clock clock{1'700'000'000'000};
  node::rest_handler handler{
      std::string{secret}, clock, caf::actor{}, std::make_shared<node::node_metrics>(),
      [](std::function<void(std::string)> done) { done("up 1\n"); }, node::rest_limits_config{},
      // The history answers at once: one point inside the range asked for.
      [](actors::history_query q, std::function<void(actors::history_reply)> done) {
        actors::history_reply r;
        r.from_ms = q.from_ms;
        r.to_ms = q.to_ms;
        r.samples.push_back({q.from_ms, 37.5, 127.0, 1});
        done(std::move(r));
      }};
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture fx; // one handler for the run: its rate limiter keeps state, as in a node
  fx.clock.advance(1000); // a second per request: the buckets refill
  std::string_view in{reinterpret_cast<const char*>(data), size};
  gateway::http_request req;
  req.method = std::string{next_line(in)};
  req.target = std::string{next_line(in)};
  // As http_conn splits it (detail/http_read.cpp).
  req.path = req.target.substr(0, req.target.find('?'));
  if (auto q = req.target.find('?'); q != std::string::npos)
    req.query = req.target.substr(q + 1);
  auto caller = next_line(in);
  if (caller.substr(0, 4) == "raw:") {
    req.headers.emplace_back("Authorization", "Bearer " + std::string{caller.substr(4)});
  } else if (auto colon = caller.find(':'); colon != std::string_view::npos && printable(caller)) {
    auth::token_claims claims{std::string{caller.substr(0, colon)},
                              std::string{caller.substr(colon + 1)},
                              fx.clock.now_ms() / 1000 + 3600};
    req.headers.emplace_back("Authorization", "Bearer " + auth::sign_token(claims, secret));
  }
  req.body = std::string{in};
  req.remote_address = "10.0.0.1:5000";
  recording_link link;
  {
    auto state = std::make_shared<gateway::detail::responder_state>(&link);
    fx.handler.on_request(std::move(req), gateway::responder{std::move(state)});
  }
  FUZZ_CHECK(link.answers == 1); // exactly one answer, now or when dropped
  return 0;
}
