#pragma once
/// \file
/// The domain put together: its tunables, the services entities share
/// (clock, payment provider, location history, seed), and the factories the
/// router uses to activate each entity kind. Nodes and the test harness
/// build a domain_services and pass make_domain_factories(...) to the router.

#include "cluster/router_actor.hpp"
#include "core/clock.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace courier::storage {
class history_writer;
}

namespace courier::actors {

class payment_provider;

/// Domain tunables; every one has its unit in its name. The node maps its
/// config keys onto these.
struct domain_config {
  // dispatch and riders
  std::chrono::milliseconds offer_timeout{std::chrono::seconds{15}};
  std::chrono::milliseconds rider_position_fresh{std::chrono::seconds{60}};
  double dispatch_radius_m = 3000.0;       ///< search radius around the store
  std::uint32_t dispatch_candidates_max = 32;
  std::uint32_t dispatch_rounds_max = 20;  ///< offers per order before giving up a round
  std::chrono::milliseconds dispatch_retry{std::chrono::seconds{10}}; ///< next round when nobody was found
  int region_res = 7;                      ///< H3 resolution of region entities
  int rider_index_res = 9;                 ///< positions indexed once here; parents give regions
  double nearby_m = 100.0;                 ///< rider_nearby threshold
  double arriving_m = 300.0;               ///< rider_arriving threshold (to the store)
  double rider_speed_mps = 5.0;            ///< for eta_s
  /// A moving rider journals a position mark (its seq and cell) at least
  /// this often, besides on every cell change and before a graceful stop:
  /// after a crash, the positions of at most this long after the last mark
  /// may be accepted again (rider_state.hpp). 30 s is 6 positions at one
  /// per 5 s, ~1,700 small writes/s for 50,000 moving riders.
  std::chrono::milliseconds rider_mark_interval{std::chrono::seconds{30}};
  /// A region drops a rider it has not heard from for this long (the
  /// rider's app died or lost its connection without going offline). 24
  /// missed positions at one per 5 s: a tunnel or a reconnect does not make
  /// a rider flap, and dispatch already skips riders silent for
  /// rider_position_fresh, so this bound only needs to be longer than that;
  /// beyond a few minutes ghosts would linger on ops' map and in counts.
  std::chrono::milliseconds region_rider_silence{std::chrono::minutes{2}};
  /// How often a region sweeps for silent riders (at most
  /// region_prune_scan_max riders per sweep, region_actor.hpp).
  std::chrono::milliseconds region_prune_interval{std::chrono::seconds{15}};
  // hot cells
  std::uint32_t region_split_riders = 400; ///< split a cell into its 7 children above this
  std::uint32_t region_merge_riders = 200; ///< merge back below this (hysteresis)
  /// The deepest cells a split makes: region_res cells split into
  /// region_res + 1 children, and so on while a child is hot, down to this
  /// resolution (9: ~0.1 km2, ~0.07 km2 at Gangnam). At most
  /// rider_index_res (positions are placed in cells through it).
  int region_split_max_res = 9;
  /// How often at most a cell of a split region reports its subtree's
  /// rider counts to its parent (region_load), which merges by them.
  std::chrono::milliseconds region_load_interval{std::chrono::seconds{1}};
  // orders
  std::chrono::milliseconds delay_alert_after{std::chrono::minutes{30}};
  /// A finished order (delivered, cancelled, rejected, payment_failed) that
  /// owes nothing more is archived this long after its final status and
  /// its journal streams (order, payment, dispatch) are dropped; reads fall
  /// back to the archive (issue #13). 0: never (orders stay in the journal).
  std::chrono::milliseconds order_retention{std::chrono::hours{1}};
  std::int64_t store_radius_default_m = 3000;
  // payments (built-in simulated provider)
  double payment_decline_rate = 0.0;
  double payment_timeout_rate = 0.0;
  double payment_transient_rate = 0.0;
  std::chrono::milliseconds payment_latency{std::chrono::milliseconds{20}};
  std::uint32_t payment_retries_max = 5;
  std::chrono::milliseconds payment_retry_backoff{std::chrono::milliseconds{200}};
  /// A payment entity with no call in flight asks its router to passivate
  /// it this long after its last call settled: an order's payment is idle
  /// from its authorization until the order ends (capture or void), and a
  /// live one costs ~2.6 KB (bench/README.md "Memory per live entity").
  /// 0: it stays until the router's idle timeout or activation limit.
  std::chrono::milliseconds payment_idle{std::chrono::seconds{5}};
  // pushes and timers
  std::chrono::milliseconds region_stats_interval{std::chrono::seconds{1}};
  std::uint32_t reminder_shards = 16;
  /// A reminder shard snapshots its timers once this many events, or half
  /// as many as it holds timers if that is more, were journaled since its
  /// last snapshot: snapshot bytes stay within about twice the event bytes,
  /// and the events since a snapshot stay far below the journal's cap.
  std::uint32_t reminder_snapshot_events_min = 4096;
  /// A fired timer stays pending until its target confirms it got it; an
  /// unconfirmed fire is tried again after this, doubling up to a minute.
  std::chrono::milliseconds reminder_refire_after{std::chrono::seconds{1}};
  std::uint32_t subscribers_max = 1024;    ///< gateway actors per entity

  static_assert(true, "relations checked in domain.cpp");
};

/// What every entity activation shares. Immutable after start, except what
/// the services themselves synchronise.
struct domain_services {
  domain_config cfg;
  const core::clock* clock = nullptr;
  std::uint64_t seed = 0;                         ///< for simulated providers
  std::shared_ptr<payment_provider> payments;     ///< required
  /// Optional: the history actor's writer for a system that has none
  /// registered (the harness; a node registers its own, history_actor.hpp).
  std::shared_ptr<storage::history_writer> history;
  /// Told the time from a store's accept to the rider's assignment, in ms,
  /// once per assigned order (optional; the node feeds its /metrics
  /// histogram). Called from actor threads: must be thread-safe and cheap.
  std::function<void(std::uint64_t)> observe_dispatch_ms;
  /// Told when an order stops retrying a capture (void_auth = false) or a
  /// void (true) after pay_attempts_max failures, so it is never silent
  /// (optional; the node counts it and logs a warning). Thread-safe, cheap.
  std::function<void(const std::string& order_id, bool void_auth)> observe_payment_given_up;
  /// Told when a reminder stops firing a timer its target never confirmed
  /// (reminder_fire_attempts_max tries; optional, like the above).
  std::function<void(const std::string& target, const std::string& tag)> observe_reminder_given_up;
  /// Told a reminder shard's load whenever it changes in bulk (after each
  /// landed batch, each tick, recovery; 0/0 when the shard stops here):
  /// its timers (at most reminders_per_shard_max) and the fire tries it has
  /// scheduled (at most one per timer). Optional.
  std::function<void(const std::string& shard, std::size_t timers, std::size_t wakes)>
      observe_reminder_load;
};

/// Factories for every entity kind of the domain.
cluster::entity_factories
make_domain_factories(std::shared_ptr<const domain_services> services);

/// router_config::moved_notice for the domain: stores re-read their stream
/// when an activation of theirs stopped on another node (their open orders
/// are what store sessions are owed; see store_actor.hpp).
std::unordered_map<std::string, caf::message> domain_moved_notices();

/// Registers the domain's message types with CAF (actors/protocol.hpp).
void register_domain_types(caf::actor_system_config& cfg);

} // namespace courier::actors
