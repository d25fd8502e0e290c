#pragma once
/// \file
/// The gateway's session_handler: PROTOCOL.md's connection rules on the IO
/// threads. It authenticates `hello` (HMAC token), enforces the
/// per-connection message rate and in-flight request bounds, decodes and
/// validates frames (JSON text or protobuf binary), and hands each request
/// to the gateway actor as a client_call. It never blocks: no waiting on
/// actors, no disk.

#include "actors/protocol.hpp"
#include "core/clock.hpp"
#include "nodes/gateway/session.hpp"
#include "nodes/node/client_link.hpp"

#include <caf/actor.hpp>

#include <memory>
#include <optional>
#include <string>

namespace courier::node {

class session_directory;
class node_metrics;

struct client_limits {
  double messages_per_s_max = 200.0;
  double messages_burst_max = 400.0;
  std::uint32_t requests_in_flight_max = 256;
};

/// The call that gives session `s` of `who` its automatic subscription at
/// hello (a rider's offers, a store's orders with their snapshot), for the
/// gateway actor as (call_atom, call); silent: no reply to the client.
/// nullopt for roles without one. One place for hello and for the
/// multi-node harness tests, which attach sessions the same way.
std::optional<client_call> auto_subscription_call(const actors::caller& who,
                                                  const gateway::session_ptr& s, encoding enc,
                                                  node_metrics* metrics);

class client_handler final : public gateway::session_handler {
public:
  client_handler(std::string secret, const core::clock& clock, client_limits limits,
                 caf::actor gateway_actor, std::shared_ptr<session_directory> sessions,
                 std::shared_ptr<node_metrics> metrics);

  void on_open(const gateway::session_ptr& s) override;
  void on_frame(const gateway::session_ptr& s, gateway::frame f) override;
  void on_bad_framing(const gateway::session_ptr& s, std::string reason) override;
  void on_close(const gateway::session_ptr& s) override;

  /// Closes every authenticated session whose token has expired, after an
  /// error{unauthorized} that says so (a session sends refresh{token} to
  /// move its expiry). Returns how many; the node calls it every second.
  std::size_t close_expired();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace courier::node
