#pragma once
/// \file
/// Failover on a broken connection (issue #14; cluster/README.md,
/// "Failover"): the pieces the router, the membership actor, the node's
/// metrics and the harness share. No CAF beyond an atom, so it is cheap to
/// include.
///
/// When a connection to a member's router breaks, both ends hold (their
/// routers park everything) until each has settled the member: one
/// reconnect attempt (a blip: nothing happens), or a fence in Redis
/// (storage::redis_membership::fence: the member's lease and with it its
/// journal epoch are gone, the view is bumped and the survivor publishes it
/// at once), or the news that it was fenced itself (it stops and rejoins).
/// A fresh renewal of its own lease releases the hold. A node cut off from
/// more than half of the other members (and at least two) at once fences
/// nobody: it is more likely the one partitioned; it keeps holding until
/// they fence it or their leases run out.

#include <caf/atom.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace courier::cluster {

/// router: `(hold_atom)` turns the hold on: from then on a broken
/// connection to a member parks every message until the next
/// `(lease_atom, until)` (the membership actor sends one once it has settled
/// the member and renewed its own lease). Without it (tests with hand-given
/// views) a broken connection only makes that member unreachable.
using hold_atom = caf::atom_constant<caf::atom("c.hold")>;

/// router: `(knows_atom, std::vector<std::string> ids) -> std::vector<std::string>`:
/// the members among `ids` whose router told ours it adopted our router's
/// current view or a newer one (a view with us in it: it holds a monitored
/// handle to this router, so when the connection breaks it sees it and
/// holds too). Only those may be fenced: a member on an older view, maybe
/// one without us (it joined a moment ago, or its membership stalled),
/// would serve on what we take over; it is left to its lease, and we keep
/// holding until it is settled (it may know us and fence us).
using knows_atom = caf::atom_constant<caf::atom("c.knows")>;

/// Fences one node attempts at most per second: a flapping network cannot
/// become a storm of Redis scripts; a member past it waits for the next
/// tick (and at worst for its lease to run out, as before).
inline constexpr std::uint32_t fences_per_s_max = 10;
/// The window `fences_per_s_max` counts in.
inline constexpr std::chrono::milliseconds fence_window{1000};

/// What the membership actor did about broken connections, for /metrics
/// (`courier_cluster_fences_total{reason}` and
/// `courier_cluster_fence_checks_total{outcome}`). Shared with the node.
struct fence_counters {
  std::atomic<std::uint64_t> fenced{0};       ///< members fenced (connection lost)
  std::atomic<std::uint64_t> reconnected{0};  ///< a blip: the reconnect worked
  std::atomic<std::uint64_t> gone{0};         ///< already fenced, expired or rejoined
  std::atomic<std::uint64_t> self_fenced{0};  ///< we were the one fenced
  std::atomic<std::uint64_t> isolated{0};     ///< cut off from most others: fenced nobody
  std::atomic<std::uint64_t> unknown{0};      ///< not on our view: left to its lease (held)
  std::atomic<std::uint64_t> rate_limited{0}; ///< past fences_per_s_max: retried next tick
  std::atomic<std::uint64_t> errors{0};       ///< Redis failed: retried next tick
};

} // namespace courier::cluster
