#pragma once
/// \file
/// The gateway actor: one per node, the bridge between client sessions and
/// entities. It (1) carries client requests to entities through the router
/// and their replies back (client_call), and (2) fans pushes out: entities
/// send (push_atom, topic, msg::X) to the gateway actors that subscribed,
/// and it writes them to every local session on that topic — rider
/// positions as coalescing frames (a slow client gets the latest only),
/// everything else reliably and in order.
///
/// Messages: (call_atom, client_call); (leave_atom, leave_topic);
/// (closed_atom, session_id); (push_atom, topic, msg::X).
///
/// Subscriptions are soft state on the entity: on `(resubscribe_atom,
/// topic)` (an activation stopping) and, in cluster mode, on `(view_atom,
/// cluster_view)` for every entity whose owner (or its epoch) changed, it subscribes again
/// and, for an order, pushes the status it missed meanwhile. Order statuses
/// go out in version order and each status once: one not newer than the
/// last seen on its topic, or the same status again, is not sent.

#include "core/clock.hpp"
#include "nodes/node/client_link.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>

namespace courier::node {

class session_directory;
class node_metrics;

using call_atom = caf::atom_constant<caf::atom("n.call")>;
using leave_atom = caf::atom_constant<caf::atom("n.leave")>;
using closed_atom = caf::atom_constant<caf::atom("n.closed")>;

/// How a client request's deadline is kept.
enum class request_deadlines {
  /// One CAF request timeout per request. Needed where a request can be
  /// lost without an answer (cluster mode: its owner node may die).
  per_request,
  /// The gateway's own table, swept every request_timeout / 4 (one timer
  /// for all requests). Only where every request is answered, even if
  /// late (a single node: the router and its entities answer or bounce
  /// every request): CAF 0.17 wakes its clock thread for every request
  /// timeout, a quarter of a node's CPU at 10k positions/s.
  swept,
};

struct gateway_actor_config {
  std::chrono::milliseconds request_timeout{std::chrono::seconds{5}};
  request_deadlines deadlines = request_deadlines::per_request;
  std::size_t topics_per_session_max = 1024;
  const core::clock* clock = nullptr; ///< for at_ms of catch-up pushes
};

caf::actor spawn_gateway_actor(caf::actor_system& sys, gateway_actor_config cfg,
                               caf::actor router,
                               std::shared_ptr<session_directory> sessions,
                               std::shared_ptr<node_metrics> metrics);

} // namespace courier::node
