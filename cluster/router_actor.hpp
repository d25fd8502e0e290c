#pragma once
/// \file
/// The entity router: one per node. Callers send `(route_atom, entity_ref,
/// caf::message)`; the router finds the live activation of that entity, or
/// activates it (the entity recovers from the journal), and delegates the
/// message, so a request's reply goes straight back to the caller.
///
/// Guarantees: messages from one sender to one entity arrive in send order,
/// also across passivation (messages that arrive while an activation is
/// stopping are buffered, bounded, and handed to its successor in order).
/// Live activations are bounded (least-recently-used ones passivate above
/// `activations_max`) and idle ones passivate after `idle_timeout`.
///
/// Other messages: `(stats_atom) -> router_stats`; `(passivated_atom, ref)`
/// and `(idle_atom, ref)` (passivate me, from the current activation only),
/// `(watch_gateway_atom, ref, gateway)` / `(unwatch_gateway_atom, ref, addr)`
/// (tell me with `(gateway_down_atom, addr)` when it goes down) from entities.
///
/// Cluster mode (`node_id` set): the router learns the members from
/// `(view_atom, cluster_view)` messages (cluster_view.hpp) and delivers a
/// message locally only if placement makes this node the owner; otherwise it
/// forwards it to the owner's router. On a new view it passivates what it no
/// longer owns (forwarding what it held for them); keys it gains are gated
/// until every member has handed off (cluster_view.hpp has the protocol).
/// Messages that cannot go anywhere yet (before the first view, while
/// fenced, for a gated key, for a member whose connection broke) are parked
/// in one bounded queue and routed again on every view and handoff, in
/// per-origin order; over `peer_buffer_max` a request is answered
/// `unavailable` (never silently dropped).

#include "cluster/entity_ref.hpp"

#include <caf/message.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::cluster {

struct entity_context;

/// Router tunables, each with its unit.
struct router_config {
  /// Live activations before the least recently used is passivated.
  std::size_t activations_max = 1'000'000;
  /// An activation with no message for this long is passivated; 0 = never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes{10}};
  /// How often idle activations are looked for. With the cap below this
  /// bounds idle passivation to 10,000 per second: it must outpace
  /// activation, or finished entities pile up until activations_max. The
  /// soak (bench/soak) found a 30 s interval passivating at most 333/s
  /// while 1,000 orders/s activated 2,000 entities/s. A scan that finds
  /// nothing idle costs one look at the LRU tail.
  std::chrono::milliseconds idle_scan_interval{std::chrono::seconds{1}};
  /// Idle activations passivated per scan (bounds the work of one tick).
  std::size_t idle_passivations_per_scan_max = 10'000;
  /// Messages held for one entity while it passivates.
  std::size_t buffer_max = 1024;
  /// Activations told to stop (passivate, or exit when the router stops)
  /// and not yet finished; the rest wait in the router. Each told one is a
  /// job in a CAF worker's queue, and CAF 0.17's work stealing takes from a
  /// queue's tail by walking it from the head: 100k jobs queued at once made
  /// stopping quadratic and a node with 100k entities never finished
  /// SIGTERM (issue #17).
  std::size_t stops_in_flight_max = 1024;

  /// This node's id in the cluster; empty = a single node, all local.
  std::string node_id;
  /// Messages parked (see above), all keys together.
  std::size_t peer_buffer_max = 100'000;
  /// Entities that must run wherever they are placed even without traffic
  /// (durable timer shards): the owner sends `resident_wake` to each one it
  /// gains on a view change.
  std::vector<entity_ref> resident;
  caf::message resident_wake;
  /// Kinds whose activations re-read their stream when an activation of
  /// the same key stopped on another node after a view change (a node on
  /// an older view may have run and journaled it meanwhile, unseen by an
  /// activation here that recovered earlier): once an activation of one of
  /// these kinds has moved away and stopped, the router routes this
  /// message to the key's new owner. Other kinds recover on their next
  /// write (a version conflict) or activation.
  std::unordered_map<std::string, caf::message> moved_notice;
};

/// Counters for /metrics and tests.
struct router_stats {
  std::uint64_t live = 0;               ///< activations now
  std::uint64_t activations_total = 0;  ///< ever spawned
  std::uint64_t passivations_total = 0; ///< confirmed passivations
  std::uint64_t routed_total = 0;       ///< messages delivered
  std::uint64_t buffered_total = 0;     ///< messages held during passivation
  std::uint64_t rejected_total = 0;     ///< unknown kind or buffer full
  std::uint64_t crashed_total = 0;      ///< activations that stopped abnormally
  std::uint64_t forwarded_total = 0;    ///< messages sent to another node's router
  std::uint64_t handoffs_total = 0;     ///< handoffs this router completed
  std::uint64_t view_version = 0;       ///< the view it routes by (0: none)
  std::uint64_t handed_off_version = 0; ///< the last view it handed off
  std::uint64_t lease_waits_total = 0;  ///< messages parked past the lease deadline
  std::uint64_t gateways_watched = 0;   ///< distinct gateways activations push to
  std::uint64_t gateway_watches = 0;    ///< (activation, gateway) pairs
  /// Activations now, by entity kind (bounded: the registered kinds).
  std::map<std::string, std::uint64_t> live_by_kind;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, router_stats& x) {
    return f(x.live, x.activations_total, x.passivations_total, x.routed_total,
             x.buffered_total, x.rejected_total, x.crashed_total, x.forwarded_total,
             x.handoffs_total, x.view_version, x.handed_off_version, x.lease_waits_total,
             x.gateways_watched, x.gateway_watches, x.live_by_kind);
  }
};

/// Makes the actor of one entity. Called by the router on activation.
using entity_factory =
    std::function<caf::actor(caf::actor_system&, const entity_context&)>;

/// Entity kind ("order", "rider", ...) -> its factory.
using entity_factories = std::unordered_map<std::string, entity_factory>;

/// Spawns a router over the given kinds, activating entities with `journal`.
caf::actor spawn_router(caf::actor_system& sys, router_config cfg,
                        entity_factories factories, caf::actor journal);

} // namespace courier::cluster
