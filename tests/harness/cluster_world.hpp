#pragma once
/// \file
/// Multi-node runs in one process: N Courier nodes (router + journal actor
/// each) in one deterministic `world`, over a simulated network, a shared
/// fenced store and a simulated membership table. Every run is reproduced
/// exactly from its seed (the world's generator drives the interleaving,
/// every network fault and every view delivery).
///
/// - `sim_network`: for each ordered pair of nodes (a, b) a link actor, which
///   a's view holds as b's router. It forwards to b's router in FIFO order
///   (like a TCP connection), keeps a request's response promise (the reply
///   goes straight back to the original caller), and by seed delays
///   (virtual time), duplicates and drops. A drop breaks the connection:
///   the link and its reverse die (their monitors get a down_msg, as CAF's
///   middleman reports a broken connection) and what they held is lost.
///   A partition breaks every link across it and refuses new ones.
/// - `shared_store`: ONE journal shared by every node, behaving like the
///   production Redis journal (storage/redis_backend.hpp): every append is
///   atomic and durable at once (one node's trouble never rolls back
///   another's acknowledged events), and fenced: an append or snapshot from
///   a node whose membership epoch is not current (its lease expired, e.g.
///   while partitioned) fails with errc::unavailable and writes nothing.
///   It also holds the membership table and the two-owner recorder.
/// - `cluster_world`: the nodes and the membership controller. Leases are
///   renewed every `tick`; a node that cannot reach the store (crashed, or
///   partitioned with `partition_kind::with_store`) loses its lease after
///   `lease` and is removed (fenced). Every change bumps the view version and
///   each live node that can reach the store reads the new view at its next
///   tick (delivered after a seeded lag, so nodes adopt it at different
///   steps). A node that cannot renew for `lease - tick` fences itself (its
///   router gets `fence_atom` and stops serving) before the store expires
///   it; a node refused a renewal does the same at once; either joins again
///   with a new epoch once it reaches the store, as cluster/membership_actor
///   does.
/// - The recorder: every entity activation is registered (node incarnation,
///   entity, actor) until it terminates; at every successful write to the
///   store by node Y for stream "kind:key", any other node that still could
///   write (alive, epoch current, lease valid) and has a live activation of
///   that entity started under that current epoch (an older one's writes are
///   refused) is a two-owner violation (counted and described).
///
/// Deliberate simplifications: replies travel straight back to the caller
/// (only router-to-router messages cross links); the harness bumps the view
/// to reconnect broken links (`cluster_config::reconnect`).

#include "cluster/cluster_view.hpp"
#include "cluster/router_actor.hpp"
#include "storage/memory_backend.hpp"
#include "tests/harness/harness.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::harness {

// -- network --------------------------------------------------------------------

/// Per-message fault rates of every link (0 = never).
struct link_faults {
  double delay_rate = 0.0;     ///< a message waits a random delay in (0, delay_max]
  std::chrono::milliseconds delay_max{50};
  double duplicate_rate = 0.0; ///< an extra copy (no reply expected) follows it
  double drop_rate = 0.0;      ///< the message is lost and the connection breaks
};

/// Counters of the simulated network.
struct net_stats {
  std::uint64_t delivered = 0;
  std::uint64_t delayed = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t dropped = 0;     ///< messages a link lost (dropped, or behind a drop)
  std::uint64_t breaks = 0;      ///< connections broken (drops, partitions, crashes)
  std::uint64_t links_made = 0;
};

struct sim_network_state;

/// Links between named nodes. Usable on its own against plain actors.
class sim_network {
public:
  explicit sim_network(world& w);
  ~sim_network();
  sim_network(const sim_network&) = delete;
  sim_network& operator=(const sim_network&) = delete;

  /// The faults every link applies from now on.
  void set_faults(const link_faults& f);
  const link_faults& faults() const;

  /// The link from node `from` to node `to` that delivers to `target`: the
  /// live one if it exists and still delivers to `target`, else a new one.
  /// nullptr while `from` and `to` are partitioned (as a failed connect).
  caf::actor link(const std::string& from, const std::string& to, const caf::actor& target);

  /// Breaks the connection between a and b (both directions), if any.
  void break_link(const std::string& a, const std::string& b);
  /// Breaks every connection of `node` (its process died).
  void break_all(const std::string& node);

  /// Cuts a and b apart (breaks their links and refuses new ones) / joins them.
  void cut(const std::string& a, const std::string& b);
  void heal_all();
  bool connected(const std::string& a, const std::string& b) const;

  net_stats stats() const;
  /// Unordered pairs whose connection broke since the last call.
  std::set<std::pair<std::string, std::string>> take_broken();
  /// Called with both ends of every connection that breaks, as it breaks.
  void on_break(std::function<void(const std::string&, const std::string&)> f);

private:
  std::shared_ptr<sim_network_state> st_;
};

// -- store, membership table, recorder -------------------------------------------

/// One node incarnation as the store sees it: who writes, with which epoch.
struct fence_cell {
  std::string node;
  std::uint64_t incarnation = 0; ///< unique per process start
  std::uint64_t epoch = 0;       ///< the epoch this process believes it holds (0 = none)
  bool alive = true;             ///< false once the process crashed or stopped
  bool store_reachable = true;   ///< false while partitioned away from the store
};

/// A row of the simulated membership table.
struct member_row {
  std::uint64_t epoch = 0;
  caf::actor_clock::time_point expiry;
  bool draining = false;
};

/// What the recorder and the store counted.
struct store_stats {
  std::uint64_t appends = 0;          ///< successful appends
  std::uint64_t fenced = 0;           ///< writes refused: stale epoch or expired lease
  std::uint64_t unreachable = 0;      ///< operations refused: store cut off or process dead
  std::uint64_t injected = 0;         ///< injected append failures
  std::uint64_t two_owner_violations = 0;
};

/// How an injected append failure behaves.
enum class append_fault {
  refused,   ///< nothing written, errc::internal
  lost_ack,  ///< written, but the writer hears errc::unavailable (a timeout)
};

/// The shared journal + membership table + two-owner recorder.
class shared_store : public std::enable_shared_from_this<shared_store> {
public:
  explicit shared_store(caf::scheduler::test_coordinator& sched);

  /// The journal data itself (reads, versions; never inject sync faults).
  storage::memory_backend& data() { return data_; }

  /// The archive every node shares (as they share Redis in cluster mode).
  std::shared_ptr<storage::memory_archive> archive() { return archive_; }

  /// The journal backend a node incarnation's journal actor uses.
  std::shared_ptr<storage::journal_backend> backend_for(std::shared_ptr<fence_cell> cell);

  /// The next `n` appends of `node` fail as `how`.
  void fail_next_appends(const std::string& node, std::size_t n, append_fault how);

  // The membership table.
  std::uint64_t view_version() const { return version_; }
  const std::map<std::string, member_row>& members() const { return rows_; }
  /// May `cell` write now (alive, its epoch is its row's, the lease valid)?
  bool may_write(const fence_cell& cell) const;
  bool lease_valid(const std::string& node) const;
  /// Takes the next epoch for `node` (a fresh row) and bumps the view.
  std::uint64_t join(const std::string& node, std::chrono::milliseconds lease);
  void renew(const std::string& node, std::chrono::milliseconds lease);
  void set_draining(const std::string& node);
  void leave(const std::string& node);
  /// As storage::redis_membership::fence: removes `node`'s row if it holds
  /// `epoch` (its writes are refused from now on) and bumps the view.
  bool fence(const std::string& node, std::uint64_t epoch);
  /// Removes rows whose lease expired; true if any (the view was bumped).
  bool expire();
  void bump() { version_ += 1; }

  // The recorder.
  /// `epoch`: the one the activation started under (entity_context::epoch;
  /// its writes carry it, and one that is not its node's current epoch is
  /// refused, so it is no writing owner).
  void activated(const std::string& stream, std::shared_ptr<fence_cell> cell,
                 caf::actor_id id, std::uint64_t epoch = 0);
  void terminated(const std::string& stream, caf::actor_id id);
  /// Live activations of `stream` (all nodes, fenced or not).
  std::size_t live_activations(const std::string& stream) const;

  /// Called with a description of every write and activation (for tracing).
  std::function<void(const std::string&)> on_trace;

  const store_stats& stats() const { return stats_; }
  /// The first violations, described (node, entity, virtual time).
  const std::vector<std::string>& violations() const { return violation_log_; }

  // Used by the node backends.
  core::result<storage::version_t> append(fence_cell& cell, const storage::append_request& r);
  /// A node's drop of a stream (fenced like an append; durable at once).
  core::result<core::unit_t> drop(fence_cell& cell, const std::string& stream,
                                  storage::version_t expected);
  core::result<core::unit_t> snapshot(fence_cell& cell, const std::string& stream,
                                      storage::version_t v, std::string payload);
  core::result<storage::recovered_stream> read(const fence_cell& cell, const std::string& s);

private:
  struct activation_rec {
    std::shared_ptr<fence_cell> cell;
    caf::actor_id id = 0;
    std::uint64_t epoch = 0; ///< started under (0: not clustered)
  };
  struct injected {
    std::size_t left = 0;
    append_fault how = append_fault::refused;
  };
  core::result<core::unit_t> writable(const fence_cell& cell, const std::string& stream);
  void check_owner(const fence_cell& writer, const std::string& stream);
  std::int64_t now_ms() const;

  caf::scheduler::test_coordinator& sched_;
  caf::actor_clock::time_point start_;
  storage::memory_backend data_;
  std::shared_ptr<storage::memory_archive> archive_ = std::make_shared<storage::memory_archive>();
  std::map<std::string, member_row> rows_;
  std::uint64_t version_ = 0;
  std::uint64_t epochs_ = 0;
  std::map<std::string, injected> faults_;
  std::unordered_map<std::string, std::vector<activation_rec>> live_;
  store_stats stats_;
  std::vector<std::string> violation_log_;
};

// -- the cluster --------------------------------------------------------------------

/// How a partition treats the store.
enum class partition_kind {
  links_only, ///< the two sides cannot talk; everyone still reaches the store
  with_store, ///< the given side also loses the store (and so its leases)
};

/// How the configured nodes start.
enum class start_mode {
  /// All join, then every node reads the same first view.
  one_view,
  /// All processes start at the same instant and join in a seeded order;
  /// each reads the view of its own join (the first joiner's holds only
  /// itself) after a seeded lag, so views disagree until the next ticks
  /// (every node may serve a key meanwhile: issue #12 item 1).
  same_instant,
};

/// Actors that live and die with a node's process and get every view its
/// router gets, as cluster/membership_actor's listeners (the gateway
/// actor). Called at each process start with the node id and its router.
using listeners_maker =
    std::function<std::vector<caf::actor>(const std::string& node, const caf::actor& router)>;

/// What a node does when its connection to a member breaks.
enum class peer_loss {
  /// Nothing: the member stays in the view until its lease runs out (the
  /// model before issue #14).
  wait_for_lease,
  /// As cluster/membership_actor (cluster/failover.hpp): both ends hold
  /// their routers, try one reconnect (a live, connected peer: nothing
  /// happens), else fence the member in the store and read the view at
  /// once; the one fenced first learns it and fences itself; a node cut
  /// from more than half of the others (and at least two) fences nobody;
  /// a member whose router has not adopted this node's current view (it
  /// may have no handle to it and not see the break) is left to its lease,
  /// and the node keeps holding until it is settled (it may fence us).
  fence,
};

/// Shape and timing of a simulated cluster.
struct cluster_config {
  std::vector<std::string> nodes{"n1", "n2", "n3"};
  std::chrono::milliseconds lease{3000};
  /// Lease renewal and view read period (membership_actor: lease/6).
  std::chrono::milliseconds tick{500};
  /// A node reads a new view up to this long after the tick (seeded).
  std::chrono::milliseconds view_lag_max{200};
  link_faults faults;
  /// Broken connections between live members are made again by bumping the
  /// view (at the next tick, and at heal()). (cluster/membership_actor
  /// instead re-sends the same view with the new handle, which the router
  /// also accepts.) false = never reconnect.
  bool reconnect = true;
  peer_loss on_peer_loss = peer_loss::wait_for_lease;
  /// Every node's router config (node_id is set per node).
  cluster::router_config router;
  order_policy policy = order_policy::random;
  start_mode start = start_mode::one_view;
  listeners_maker listeners; ///< none if empty
};

/// Counters of the membership controller.
struct cluster_stats {
  std::uint64_t views = 0;       ///< view versions published
  std::uint64_t crashes = 0;
  std::uint64_t restarts = 0;
  std::uint64_t joins = 0;
  std::uint64_t expiries = 0;    ///< leases that ran out (node removed and fenced)
  std::uint64_t fenced_noticed = 0; ///< nodes that learnt they had been fenced
  std::uint64_t leaves = 0;      ///< drained nodes that left
  std::uint64_t partitions = 0;
  std::uint64_t stalls = 0;      ///< membership stalls (see cluster_world::stall)
  std::uint64_t router_failures = 0; ///< routers that stopped while their node was up
  std::uint64_t peer_fences = 0;     ///< members fenced by a peer (peer_loss::fence)
  std::uint64_t fence_reconnects = 0; ///< broken connections made again: nobody fenced
  std::uint64_t fenced_by_peer = 0;  ///< nodes that learnt a peer fenced them
  std::uint64_t isolated_holds = 0;  ///< cut from most others: fenced nobody
  std::uint64_t fence_unknown = 0;   ///< unreachable, not on its view: left to the lease (held)
};

class cluster_world_impl;

/// N nodes over the simulated network, sharing one fenced store.
class cluster_world {
public:
  /// Starts every node of `cfg` (as `cfg.start` says) with `factories`
  /// (wrapped per node for the recorder) and runs until idle.
  cluster_world(std::uint64_t seed, cluster::entity_factories factories,
                cluster_config cfg = {});
  /// The same, with factories made from the world before any node starts
  /// (for services that need `world::clock()`: resident entities wake as
  /// soon as the first view arrives).
  using factories_maker = std::function<cluster::entity_factories(world&)>;
  cluster_world(std::uint64_t seed, const factories_maker& make, cluster_config cfg = {});
  ~cluster_world();
  cluster_world(const cluster_world&) = delete;
  cluster_world& operator=(const cluster_world&) = delete;

  world& w();
  std::mt19937_64& rng() { return w().rng(); }
  void run() { w().run(); }
  void advance(std::chrono::milliseconds d) { w().advance(d); }
  probe make_probe() { return w().make_probe(); }

  const cluster_config& config() const;
  /// The node's current router (nullptr while it is down).
  caf::actor router(const std::string& node) const;
  bool up(const std::string& node) const;
  /// Does the node hold a current epoch (joined, not fenced, not left)?
  bool member(const std::string& node) const;
  /// Nodes now up, in config order.
  std::vector<std::string> up_nodes() const;
  /// The listeners of the node's current process (empty while it is down).
  std::vector<caf::actor> listeners(const std::string& node) const;

  /// Sends `payload` to `ref` through `node`'s router as `from` (replies
  /// land in the probe).
  void send(const probe& from, const std::string& node, const cluster::entity_ref& ref,
            caf::message payload);

  // Faults and operations.
  /// The node's process dies: router, entities and journal actor stop, its
  /// connections break, it stops renewing its lease.
  void crash(const std::string& node);
  /// A crashed (or left) node starts again: a new router and journal actor;
  /// it joins with a new epoch once its old lease is gone.
  void restart(const std::string& node);
  /// Cuts `side` from the other nodes (and from the store for with_store).
  void partition(const std::vector<std::string>& side, partition_kind kind);
  /// Ends every partition; the next view reconnects everyone.
  void heal();
  /// Breaks one connection (both directions) now.
  void break_link(const std::string& a, const std::string& b);
  /// The node's membership stands still (a process paused, a membership
  /// thread stuck): no renewals, no self-fencing, no new views, until heal()
  /// or a restart; its router and entities keep serving with the last view.
  /// Its lease expires and others take its keys, so what it still writes
  /// must be refused by the store's fence.
  void stall(const std::string& node);
  /// Marks the node draining; once its router has handed everything off it
  /// leaves the table and stops.
  void drain(const std::string& node);

  sim_network& net();
  shared_store& store();
  const cluster_stats& stats() const;
  /// What the controller did, in order, with virtual times ("t=1500ms ...":
  /// views sent, joins, expiries, crashes, partitions...), the last
  /// `events_max` of them: print it when a seed fails.
  const std::deque<std::string>& events() const;
  static constexpr std::size_t events_max = 2000;

  /// Router stats of an up node (runs the world until idle); nullopt if its
  /// router did not answer (it died: see stats().router_failures).
  std::optional<cluster::router_stats> router_stats(const std::string& node);
  /// Every up node holds a current epoch and routes by the table's view
  /// (queries the routers; runs the world).
  bool converged();
  /// Every configured node is up and a member with its current epoch, not
  /// draining: the whole cluster serves.
  bool serving_all() const;
  /// Heals, then advances time tick by tick, restarting every node that is
  /// down (crashed, or drained and left, also during the settling), until
  /// serving_all() and converged() (at most `max`). Returns whether it got
  /// there.
  bool settle(std::chrono::milliseconds max = std::chrono::seconds{60});

private:
  std::unique_ptr<cluster_world_impl> impl_;
};

} // namespace courier::harness
