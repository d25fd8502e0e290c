#pragma once
/// \file
/// PROTOCOL.md's authorization and routing table in one place: which role
/// may send which message, to which entity it goes, as which command, and
/// what the entity answers. Pure (no sockets, no actors), so every rule is
/// unit-tested; the WebSocket/TCP handler and the REST handler both use it.

#include "actors/protocol.hpp"
#include "core/result.hpp"
#include "messages/client.hpp"
#include "nodes/node/client_link.hpp"

namespace courier::node {

/// Where one client message goes. `local_leave` marks an unsubscribe, which
/// the gateway actor handles itself.
struct routed_command {
  cluster::entity_ref target;
  caf::message command;
  reply_kind kind = reply_kind::ok;
  std::string topic;        ///< for subscriptions
  bool local_leave = false; ///< unsubscribe: no entity request
};

/// Maps an authenticated client's message to its entity command, or an
/// error (forbidden for a role that may not send it, bad_request for a
/// server-to-client type). `hello` is not handled here.
core::result<routed_command> route_command(const actors::caller& who,
                                           const msg::client_body& body);

/// The automatic subscription a role gets at hello (riders: their offers,
/// stores: their new orders), if any.
std::optional<routed_command> auto_subscription(const actors::caller& who);

} // namespace courier::node
