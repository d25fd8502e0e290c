#pragma once
/// \file
/// The membership actor of a node in cluster mode: the production side of
/// the transport seam (cluster_view.hpp). It owns the node's lease in the
/// Redis membership table and the CAF middleman connections to the other
/// members' routers, and turns both into `(view_atom, cluster_view)`
/// messages for the router and the other listeners (the gateway actor).
///
/// Every `tick`: renew the lease (with the router's entity counts, for
/// `courier-ctl cluster status`), read the view, and on a new version
/// connect to new members (`remote_actor`) and send the view; a connection
/// that broke is made again at the next tick and the router gets the same
/// view with the new handle. A lost lease (renewal refused, or no successful
/// renewal for a lease less one tick, e.g. Redis unreachable) fences the node: the
/// journal refuses its writes (epoch check), the router gets `(fence_atom)`
/// and gives everything up, and the node joins again with a new epoch.
///
/// Failover (cluster/failover.hpp): when the connection to a member's router
/// breaks, the router holds (parks everything) and this actor settles the
/// member at once: one reconnect attempt (a blip), else a fence in Redis
/// (its lease and journal epoch are gone; the view is read and published at
/// once, so the router takes its keys over), or, if that member fenced us
/// first, our own fence. Then a fresh renewal releases the router's hold.
/// What could not be settled (Redis failed, fences_per_s_max) is tried
/// again at the next tick, while the router keeps holding.
///
/// Draining: when the node's own record says `draining` (set by
/// `courier-ctl drain` or by `(drain_atom)` on SIGTERM), placement skips it;
/// once its router has handed off that view and holds no entity, the actor
/// leaves the table and tells `(left_atom)` to its listeners.
///
/// Runs detached: Redis calls and middleman connects block.
///
/// Requests: `(joined_atom) -> uint64_t` the first view version that
/// includes this node (answered once joined); `(drain_atom) -> unit`.

#include "cluster/router_transport.hpp"
#include "cluster/failover.hpp"
#include "storage/redis_client.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::cluster {

using joined_atom = caf::atom_constant<caf::atom("c.joined")>;
using drain_atom = caf::atom_constant<caf::atom("c.drain")>;
using left_atom = caf::atom_constant<caf::atom("c.left")>;
using tick_atom = caf::atom_constant<caf::atom("c.tick")>;

struct membership_config {
  storage::redis_url redis;
  std::string node_id;
  std::string host = "127.0.0.1"; ///< where other members reach our router
  std::uint16_t cluster_port = 0; ///< where the router is published
  std::uint16_t http_port = 0;
  std::uint16_t tcp_port = 0;
  std::chrono::milliseconds lease{3000};
  /// How to reach the other members' routers: the node publishes ours the
  /// same way (mutual TLS, or plain on loopback for development).
  router_transport transport = router_transport::plain;
  /// The journal's fence: the epoch this node holds now (0 = none).
  std::shared_ptr<std::atomic<std::uint64_t>> epoch;
  /// Counts of what broken connections led to (for /metrics); may be null.
  std::shared_ptr<fence_counters> fences;

  /// How often the lease is renewed and the view read: a sixth of the
  /// lease, between 50 and 500 ms (a missed renewal or two is survivable).
  std::chrono::milliseconds tick() const;
};

/// Spawns the membership actor (detached). `listeners` get every view and
/// `(left_atom)`.
caf::actor spawn_membership_actor(caf::actor_system& sys, membership_config cfg,
                                  caf::actor router, std::vector<caf::actor> listeners);

} // namespace courier::cluster
