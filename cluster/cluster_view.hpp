#pragma once
/// \file
/// What a router knows of the cluster: the members and a handle to each
/// one's router. The membership actor (Redis + CAF middleman in production,
/// the simulated network in the test harness) sends the router a new view on
/// every change: `(view_atom, cluster_view)`. This is the transport seam of
/// cluster/: the router only ever talks to other nodes through the handles
/// in the view.
///
/// Router <-> router protocol (all one-way unless noted):
/// - `(forward_atom, from_id, origin_id, seq, entity_ref, message)`: a
///   message for an entity the receiver owns (a request's promise travels
///   with it: the entity's reply goes straight back to the original caller).
///   `origin_id`/`seq` name the router that first routed it and its place in
///   that router's order; per-sender order is per-origin `seq` order.
/// - `(adopted_atom, from_id, view_version)`: the sender routes by this view
///   now; every message it forwarded under an older view was sent before.
/// - `(handoff_atom, from_id, view_version)`: the sender has passivated every
///   entity it does not own in this view, forwarded what it held for them,
///   and heard `adopted` for this view from every reachable member.
///
/// A router delivers a key it gained only when every member of its view has
/// handed off the views since the key was last settled (messages for it are
/// parked until then, and released in per-origin order), so no message
/// overtakes an older one and no entity runs on two nodes.
///
/// The membership actor may also send `(fence_atom)`: the node lost its lease
/// (e.g. it cannot reach Redis), so the router passivates everything and
/// parks messages until a newer view includes it again.
///
/// And after every join or renewal `(lease_atom, caf::timespan until)`: the
/// instant (the actor clock's time since its epoch) before which no other
/// member can have replaced this node, a safety margin before the lease
/// runs out. Past it the router serves nothing: it parks messages until
/// the next lease message, so a node whose membership stalled (a paused
/// process, a stuck thread) cannot answer from state another owner has
/// moved past. A router that never heard a lease message (tests with
/// hand-given views) does not check.
#include "cluster/entity_ref.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace courier::cluster {

using view_atom = caf::atom_constant<caf::atom("c.view")>;
using forward_atom = caf::atom_constant<caf::atom("c.fwd")>;
using adopted_atom = caf::atom_constant<caf::atom("c.adopted")>;
using handoff_atom = caf::atom_constant<caf::atom("c.handoff")>;
using fence_atom = caf::atom_constant<caf::atom("c.fence")>;
using lease_atom = caf::atom_constant<caf::atom("c.lease")>;
/// router: `(owner_atom, entity_ref) -> std::string` owner id ("" = none).
using owner_atom = caf::atom_constant<caf::atom("c.owner")>;
/// router: `(counts_atom) -> std::string` live entities by kind, "k=n,k=n".
using counts_atom = caf::atom_constant<caf::atom("c.counts")>;

struct member {
  std::string id;
  std::uint64_t epoch = 0;
  bool draining = false; ///< placement skips it; it still forwards
  caf::actor router;     ///< the member's router (or the harness's link to it)

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, member& x) {
    return f(x.id, x.epoch, x.draining, x.router);
  }
};

struct cluster_view {
  std::uint64_t version = 0;    ///< views with equal versions are equal
  std::vector<member> members;  ///< sorted by id

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
    return f(x.version, x.members);
  }
};

/// Ids of the members placement may choose (not draining), sorted.
std::vector<std::string> placement_ids(const cluster_view& v);

/// The id of `ref`'s owner in `v` ("" if no member may own anything).
std::string owner_of(const cluster_view& v, const entity_ref& ref);

/// The member with `id`, or nullptr.
const member* find_member(const cluster_view& v, const std::string& id);

} // namespace courier::cluster
