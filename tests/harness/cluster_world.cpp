#include "tests/harness/cluster_world.hpp"

#include "cluster/atoms.hpp"
#include "cluster/entity.hpp"
#include "cluster/failover.hpp"
#include "cluster/journal_actor.hpp"
#include "core/assert.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <sstream>
#include <utility>

namespace courier::harness {

using time_point = caf::actor_clock::time_point;
using std::chrono::milliseconds;

namespace {
/// link: deliver what is due.
using link_tick_atom = caf::atom_constant<caf::atom("h.ltick")>;
/// controller: membership tick.
using member_tick_atom = caf::atom_constant<caf::atom("h.mtick")>;
/// controller: settle a node's broken connections (peer_loss::fence).
using settle_atom = caf::atom_constant<caf::atom("h.settle")>;

/// Violations described at most (the count goes on).
constexpr std::size_t violation_log_max = 64;

std::pair<std::string, std::string> unordered(const std::string& a, const std::string& b) {
  return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
}

/// Uniform in [0, 1) from the world's generator.
double unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}
} // namespace

// -- network ------------------------------------------------------------------------

/// Shared between a link actor and the network: set when the connection
/// breaks, so nothing queued behind the exit message is delivered.
struct link_ctl {
  bool broken = false;
};

struct link_entry {
  caf::actor handle;
  caf::actor target;
  std::shared_ptr<link_ctl> ctl;
};

/// What the links and the network share (single-threaded: the test coordinator).
struct sim_network_state {
  explicit sim_network_state(world& wld) : w(wld) {}

  world& w;
  link_faults faults;
  net_stats stats;
  std::map<std::pair<std::string, std::string>, link_entry> links; ///< (from, to)
  std::set<std::pair<std::string, std::string>> cuts;              ///< unordered pairs
  /// Pairs whose connection broke since the controller last looked.
  std::set<std::pair<std::string, std::string>> broken_pairs;
  std::function<void(const std::string&, const std::string&)> on_break;

  void break_one(const std::string& from, const std::string& to) {
    auto it = links.find({from, to});
    if (it == links.end())
      return;
    it->second.ctl->broken = true;
    caf::anon_send_exit(it->second.handle, caf::exit_reason::remote_link_unreachable);
    links.erase(it);
  }
  void break_pair(const std::string& a, const std::string& b) {
    bool had = links.count({a, b}) + links.count({b, a}) > 0;
    break_one(a, b);
    break_one(b, a);
    if (had) {
      stats.breaks += 1;
      broken_pairs.insert(unordered(a, b));
      if (on_break)
        on_break(a, b);
    }
  }
};

namespace {

struct pending_message {
  time_point due;
  caf::response_promise promise;
  caf::message content;
  bool duplicate = false;
};

struct link_state {
  std::weak_ptr<sim_network_state> net;
  std::shared_ptr<link_ctl> ctl;
  std::string from;
  std::string to;
  caf::actor target;
  std::deque<pending_message> queue;
  time_point last_due;
  static inline const char* name = "courier.harness.link";
};

using link_actor = caf::stateful_actor<link_state>;

void deliver(link_actor* self, sim_network_state& net, pending_message& m) {
  auto& st = self->state;
  net.stats.delivered += 1;
  auto copy = m.content;
  m.promise.delegate(st.target, std::move(m.content));
  if (m.duplicate) {
    net.stats.duplicated += 1;
    caf::anon_send(st.target, std::move(copy)); // nobody waits for its reply
  }
}

void on_link_message(link_actor* self, caf::response_promise rp, caf::message content) {
  auto& st = self->state;
  auto net = st.net.lock();
  if (!net || st.ctl->broken) {
    if (net)
      net->stats.dropped += 1;
    return; // the promise dies with the connection: the caller times out
  }
  auto& rng = net->w.rng();
  auto& f = net->faults;
  if (f.drop_rate > 0 && unit(rng) < f.drop_rate) {
    net->stats.dropped += 1 + st.queue.size();
    st.queue.clear();
    net->break_pair(st.from, st.to);
    return;
  }
  pending_message m;
  m.promise = std::move(rp);
  m.content = std::move(content);
  m.duplicate = f.duplicate_rate > 0 && unit(rng) < f.duplicate_rate;
  auto now = self->clock().now();
  auto delay = milliseconds{0};
  if (f.delay_rate > 0 && f.delay_max.count() > 0 && unit(rng) < f.delay_rate) {
    delay = milliseconds{1 + static_cast<std::int64_t>(
                                 rng() % static_cast<std::uint64_t>(f.delay_max.count()))};
    net->stats.delayed += 1;
  }
  m.due = std::max(now + delay, st.last_due);
  if (st.queue.empty() && m.due <= now) {
    deliver(self, *net, m);
    return;
  }
  st.last_due = m.due;
  auto wait = m.due - now;
  st.queue.push_back(std::move(m));
  self->delayed_send(self, wait, link_tick_atom::value);
}

caf::behavior link_behavior(link_actor* self, std::weak_ptr<sim_network_state> net_ref,
                            std::shared_ptr<link_ctl> ctl, std::string from, std::string to,
                            caf::actor target) {
  auto& st = self->state;
  st.net = std::move(net_ref);
  st.ctl = std::move(ctl);
  st.from = std::move(from);
  st.to = std::move(to);
  st.target = std::move(target);
  st.last_due = self->clock().now();
  // Everything but our own tick is traffic to forward, whatever its type.
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto rp = self->make_response_promise();
        on_link_message(self, rp, x.move_content_to_message());
        return rp;
      });
  return {
    [self](link_tick_atom) {
      auto& s = self->state;
      auto net = s.net.lock();
      auto now = self->clock().now();
      while (net && !s.ctl->broken && !s.queue.empty() && s.queue.front().due <= now) {
        auto m = std::move(s.queue.front());
        s.queue.pop_front();
        deliver(self, *net, m);
      }
    },
  };
}

} // namespace

sim_network::sim_network(world& w) : st_(std::make_shared<sim_network_state>(w)) {}

sim_network::~sim_network() {
  auto links = st_->links;
  for (auto& kv : links)
    st_->break_one(kv.first.first, kv.first.second);
}

void sim_network::set_faults(const link_faults& f) {
  COURIER_ASSERT(f.delay_rate >= 0 && f.delay_rate <= 1);
  COURIER_ASSERT(f.duplicate_rate >= 0 && f.duplicate_rate <= 1);
  COURIER_ASSERT(f.drop_rate >= 0 && f.drop_rate <= 1);
  st_->faults = f;
}

const link_faults& sim_network::faults() const { return st_->faults; }

caf::actor sim_network::link(const std::string& from, const std::string& to,
                             const caf::actor& target) {
  COURIER_ASSERT(from != to);
  if (!connected(from, to) || !target)
    return nullptr;
  auto it = st_->links.find({from, to});
  if (it != st_->links.end()) {
    if (it->second.target == target)
      return it->second.handle;
    st_->break_pair(from, to); // the other end restarted: a new connection
  }
  auto ctl = std::make_shared<link_ctl>();
  auto handle = st_->w.sys().spawn(link_behavior, std::weak_ptr<sim_network_state>{st_},
                                    ctl, from, to, target);
  st_->links[{from, to}] = link_entry{handle, target, ctl};
  st_->stats.links_made += 1;
  return handle;
}

void sim_network::break_link(const std::string& a, const std::string& b) {
  st_->break_pair(a, b);
}

void sim_network::break_all(const std::string& node) {
  std::set<std::string> peers;
  for (auto& kv : st_->links) {
    if (kv.first.first == node)
      peers.insert(kv.first.second);
    if (kv.first.second == node)
      peers.insert(kv.first.first);
  }
  for (auto& p : peers)
    st_->break_pair(node, p);
}

void sim_network::cut(const std::string& a, const std::string& b) {
  COURIER_ASSERT(a != b);
  st_->cuts.insert(unordered(a, b));
  st_->break_pair(a, b);
}

void sim_network::heal_all() { st_->cuts.clear(); }

bool sim_network::connected(const std::string& a, const std::string& b) const {
  return st_->cuts.count(unordered(a, b)) == 0;
}

net_stats sim_network::stats() const { return st_->stats; }

void sim_network::on_break(std::function<void(const std::string&, const std::string&)> f) {
  st_->on_break = std::move(f);
}

std::set<std::pair<std::string, std::string>> sim_network::take_broken() {
  auto out = std::move(st_->broken_pairs);
  st_->broken_pairs.clear();
  return out;
}

// -- store -------------------------------------------------------------------------------

namespace {

/// A node incarnation's view of the shared store (its "Redis connection").
class node_backend final : public storage::journal_backend {
public:
  node_backend(std::shared_ptr<shared_store> store, std::shared_ptr<fence_cell> cell)
      : store_(std::move(store)), cell_(std::move(cell)) {}

  core::result<storage::version_t> append(const storage::append_request& r) override {
    return store_->append(*cell_, r);
  }
  /// Every append is durable when append() returns (like Redis).
  core::result<core::unit_t> sync() override {
    if (!cell_->alive)
      return core::error{core::errc::unavailable, "journal process crashed"};
    return core::unit;
  }
  core::result<storage::recovered_stream> read(const std::string& s) override {
    return store_->read(*cell_, s);
  }
  core::result<core::unit_t> save_snapshot(const std::string& s, storage::version_t v,
                                           std::string payload) override {
    return store_->snapshot(*cell_, s, v, std::move(payload));
  }
  storage::version_t version(const std::string& s) const override {
    return store_->data().version(s);
  }
  std::vector<std::string> streams() const override { return store_->data().streams(); }
  core::result<core::unit_t> drop(const std::string& s, storage::version_t expected) override {
    return store_->drop(*cell_, s, expected);
  }

private:
  std::shared_ptr<shared_store> store_;
  std::shared_ptr<fence_cell> cell_;
};

} // namespace

shared_store::shared_store(caf::scheduler::test_coordinator& sched)
    : sched_(sched), start_(sched.clock().now()) {}

std::shared_ptr<storage::journal_backend>
shared_store::backend_for(std::shared_ptr<fence_cell> cell) {
  COURIER_ASSERT(cell != nullptr);
  return std::make_shared<node_backend>(shared_from_this(), std::move(cell));
}

void shared_store::fail_next_appends(const std::string& node, std::size_t n,
                                     append_fault how) {
  faults_[node] = injected{n, how};
}

bool shared_store::lease_valid(const std::string& node) const {
  auto it = rows_.find(node);
  return it != rows_.end() && sched_.clock().now() < it->second.expiry;
}

bool shared_store::may_write(const fence_cell& cell) const {
  if (!cell.alive || cell.epoch == 0 || !lease_valid(cell.node))
    return false;
  return rows_.at(cell.node).epoch == cell.epoch;
}

std::uint64_t shared_store::join(const std::string& node, milliseconds lease) {
  COURIER_ASSERT(!lease_valid(node));
  auto epoch = ++epochs_;
  rows_[node] = member_row{epoch, sched_.clock().now() + lease, false};
  bump();
  return epoch;
}

void shared_store::renew(const std::string& node, milliseconds lease) {
  COURIER_ASSERT(lease_valid(node));
  rows_.at(node).expiry = sched_.clock().now() + lease;
}

void shared_store::set_draining(const std::string& node) {
  auto it = rows_.find(node);
  if (it == rows_.end() || it->second.draining)
    return;
  it->second.draining = true;
  bump();
}

void shared_store::leave(const std::string& node) {
  if (rows_.erase(node) > 0)
    bump();
}

bool shared_store::fence(const std::string& node, std::uint64_t epoch) {
  auto it = rows_.find(node);
  if (it == rows_.end() || it->second.epoch != epoch)
    return false;
  rows_.erase(it);
  bump();
  return true;
}

bool shared_store::expire() {
  bool any = false;
  auto now = sched_.clock().now();
  for (auto it = rows_.begin(); it != rows_.end();) {
    if (it->second.expiry <= now) {
      it = rows_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  if (any)
    bump();
  return any;
}

void shared_store::activated(const std::string& stream, std::shared_ptr<fence_cell> cell,
                             caf::actor_id id, std::uint64_t epoch) {
  if (on_trace)
    on_trace(cell->node + "#" + std::to_string(cell->incarnation) + " activates " + stream +
             " (actor " + std::to_string(id) + ")");
  live_[stream].push_back(activation_rec{std::move(cell), id, epoch});
}

void shared_store::terminated(const std::string& stream, caf::actor_id id) {
  auto it = live_.find(stream);
  if (it == live_.end())
    return;
  auto& v = it->second;
  if (on_trace)
    on_trace(stream + " (actor " + std::to_string(id) + ") stopped");
  v.erase(std::remove_if(v.begin(), v.end(), [id](auto& r) { return r.id == id; }), v.end());
  if (v.empty())
    live_.erase(it);
}

std::size_t shared_store::live_activations(const std::string& stream) const {
  auto it = live_.find(stream);
  return it == live_.end() ? 0 : it->second.size();
}

std::int64_t shared_store::now_ms() const {
  return std::chrono::duration_cast<milliseconds>(sched_.clock().now() - start_).count();
}

core::result<core::unit_t> shared_store::writable(const fence_cell& cell,
                                                  const std::string& stream) {
  if (!cell.alive) {
    stats_.unreachable += 1;
    return core::error{core::errc::unavailable, "journal process crashed"};
  }
  if (!cell.store_reachable) {
    stats_.unreachable += 1;
    return core::error{core::errc::unavailable, "store unreachable from " + cell.node};
  }
  if (!may_write(cell)) {
    stats_.fenced += 1;
    return core::error{core::errc::unavailable,
                       "FENCED journal write to '" + stream + "' refused: " + cell.node +
                           " writes with epoch " + std::to_string(cell.epoch)};
  }
  return core::unit;
}

void shared_store::check_owner(const fence_cell& writer, const std::string& stream) {
  auto it = live_.find(stream);
  if (it == live_.end())
    return;
  for (auto& rec : it->second) {
    if (rec.cell->incarnation == writer.incarnation || !may_write(*rec.cell))
      continue;
    // Started under an older epoch of its node (which fenced itself and
    // rejoined while it was stopping): its writes carry that epoch and are
    // refused (append's epoch check), so it is no writing owner.
    if (rec.epoch != 0 && rec.epoch != rec.cell->epoch)
      continue;
    stats_.two_owner_violations += 1;
    if (violation_log_.size() < violation_log_max) {
      std::ostringstream os;
      os << "t=" << now_ms() << "ms " << writer.node << "#" << writer.incarnation
         << " (epoch " << writer.epoch << ") wrote " << stream << " while "
         << rec.cell->node << "#" << rec.cell->incarnation << " (epoch " << rec.cell->epoch
         << ", may write) has it live (actor " << rec.id << ")";
      violation_log_.push_back(os.str());
    }
  }
}

core::result<core::unit_t> shared_store::drop(fence_cell& cell, const std::string& stream,
                                              storage::version_t expected) {
  if (auto ok = writable(cell, stream); !ok)
    return ok;
  auto dropped = data_.drop(stream, expected);
  if (!dropped)
    return dropped;
  auto synced = data_.sync(); // atomic and durable at once, like Redis
  COURIER_ASSERT(synced.ok());
  return core::unit;
}

core::result<storage::version_t> shared_store::append(fence_cell& cell,
                                                      const storage::append_request& r) {
  if (auto ok = writable(cell, r.stream); !ok)
    return ok.err();
  if (r.epoch != 0 && r.epoch != cell.epoch) {
    stats_.fenced += 1;
    return core::error{core::errc::unavailable,
                       "FENCED journal write to '" + r.stream + "' refused: its writer started " +
                           "under epoch " + std::to_string(r.epoch) + ", " + cell.node +
                           " holds " + std::to_string(cell.epoch)};
  }
  auto inj = faults_.find(cell.node);
  append_fault how = append_fault::refused;
  bool inject = inj != faults_.end() && inj->second.left > 0;
  if (inject) {
    inj->second.left -= 1;
    how = inj->second.how;
    stats_.injected += 1;
    if (how == append_fault::refused)
      return core::error{core::errc::internal, "injected append failure"};
  }
  auto v = data_.append(r);
  if (!v)
    return v;
  auto synced = data_.sync(); // atomic and durable at once, like Redis
  COURIER_ASSERT(synced.ok());
  stats_.appends += 1;
  if (on_trace)
    on_trace(cell.node + "#" + std::to_string(cell.incarnation) + " wrote " + r.stream + " v" +
             std::to_string(*v));
  check_owner(cell, r.stream);
  if (inject)
    return core::error{core::errc::unavailable, "injected: the append's answer was lost"};
  return v;
}

core::result<core::unit_t> shared_store::snapshot(fence_cell& cell, const std::string& stream,
                                                  storage::version_t v, std::string payload) {
  if (auto ok = writable(cell, stream); !ok)
    return ok;
  auto saved = data_.save_snapshot(stream, v, std::move(payload));
  if (!saved)
    return saved;
  auto synced = data_.sync();
  COURIER_ASSERT(synced.ok());
  check_owner(cell, stream);
  return saved;
}

core::result<storage::recovered_stream> shared_store::read(const fence_cell& cell,
                                                           const std::string& s) {
  if (!cell.alive || !cell.store_reachable) {
    stats_.unreachable += 1;
    return core::error{core::errc::unavailable, "store unreachable from " + cell.node};
  }
  return data_.read(s);
}

// -- the cluster ------------------------------------------------------------------------

/// One node id's current process.
struct node_proc {
  std::string id;
  bool up = false;
  bool left = false; ///< drained and left the table (stays down until restart)
  std::shared_ptr<fence_cell> cell;
  caf::actor router;
  caf::actor journal;
  std::vector<caf::actor> listeners; ///< cluster_config::listeners of this process
  std::uint64_t delivered = 0; ///< the last view version sent to it
  bool joined = false;         ///< this process joined once (before: it reads no view)
  bool leave_asked = false;    ///< a drain check is in flight
  /// When its lease was last taken or renewed: past `lease - tick` without a
  /// renewal it stops serving on its own (the store expires it at `lease`).
  caf::actor_clock::time_point renewed_at;
  /// peer_loss::fence: members whose connection broke, with the epoch its
  /// last view gave them, not settled yet (its router holds meanwhile).
  std::vector<std::pair<std::string, std::uint64_t>> suspects;
  std::map<std::string, std::uint64_t> view_epochs; ///< of the last view delivered
  bool settle_queued = false;
  bool settling = false; ///< waiting for its router's knows_atom answer
};

class cluster_world_impl {
public:
  cluster_world_impl(std::uint64_t seed, const cluster_world::factories_maker& make,
                     cluster_config config)
      : w(seed, config.policy),
        cfg(std::move(config)),
        net(w),
        store(std::make_shared<shared_store>(w.sched())),
        t0(w.sched().clock().now()) {
    factories = make(w);
    if (trace)
      store->on_trace = [this](const std::string& what) { event(what); };
    COURIER_ASSERT(!cfg.nodes.empty());
    COURIER_ASSERT(cfg.tick.count() > 0);
    COURIER_ASSERT(cfg.tick < cfg.lease);
    net.set_faults(cfg.faults);
    net.on_break([this](const std::string& a, const std::string& b) {
      suspect(a, b);
      suspect(b, a);
    });
    for (auto& id : cfg.nodes) {
      COURIER_ASSERT(nodes.count(id) == 0);
      nodes[id].id = id;
      start(nodes[id]);
    }
    auto joining = cfg.nodes;
    bool same_instant = cfg.start == start_mode::same_instant;
    if (same_instant)
      std::shuffle(joining.begin(), joining.end(), w.rng());
    for (auto& id : joining) {
      auto& p = nodes[id];
      p.cell->epoch = store->join(id, cfg.lease);
      p.renewed_at = w.sched().clock().now();
      confirm_lease(p);
      p.joined = true;
      stats.joins += 1;
      event(name(p) + " joins with epoch " + std::to_string(p.cell->epoch));
      if (same_instant) // the table as this join left it: later joiners are missing
        deliver_view(p, lag());
    }
    if (!same_instant)
      for (auto& id : cfg.nodes)
        deliver_view(nodes[id], milliseconds{0});
    auto impl = this;
    controller = w.sys().spawn(
        [impl](caf::event_based_actor* self, milliseconds period) -> caf::behavior {
          self->delayed_send(self, period, member_tick_atom::value);
          return {
            [=](member_tick_atom) {
              impl->tick(self);
              self->delayed_send(self, period, member_tick_atom::value);
            },
            [=](settle_atom, const std::string& id) { impl->settle(self, id); },
          };
        },
        cfg.tick);
    helper = w.make_probe();
    w.run();
  }

  ~cluster_world_impl() {
    net.on_break(nullptr);
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
    for (auto& kv : nodes)
      if (kv.second.up)
        stop(kv.second);
    w.run();
  }

  /// Records what happened, at the current virtual time.
  void event(const std::string& what) {
    auto t = std::chrono::duration_cast<milliseconds>(w.sched().clock().now() - t0).count();
    events.push_back("t=" + std::to_string(t) + "ms " + what);
    if (trace)
      std::fprintf(stderr, "cluster_world: %s\n", events.back().c_str());
    if (events.size() > cluster_world::events_max)
      events.pop_front();
  }

  std::string name(const node_proc& p) const {
    return p.id + "#" + std::to_string(p.cell->incarnation);
  }

  /// Spawns a process for `p` (not joined yet).
  void start(node_proc& p) {
    p.cell = std::make_shared<fence_cell>();
    p.cell->node = p.id;
    p.cell->incarnation = ++incarnations;
    p.cell->store_reachable = isolated.count(p.id) == 0;
    p.journal = cluster::spawn_journal_actor(w.sys(), store->backend_for(p.cell),
                                             cluster::journal_spawn::scheduled,
                                             cluster::journal_archive{store->archive(), nullptr});
    auto rcfg = cfg.router;
    rcfg.node_id = p.id;
    p.router = cluster::spawn_router(w.sys(), rcfg, recorded(p.cell), p.journal);
    // A router that stops while its process is up is a bug worth a loud event.
    p.router->attach_functor([this, cell = p.cell](const caf::error& reason) {
      if (cell->alive) {
        stats.router_failures += 1;
        event("the router of " + cell->node + "#" + std::to_string(cell->incarnation) +
              " stopped on its own: " + w.sys().render(reason));
      }
    });
    if (cfg.on_peer_loss == peer_loss::fence)
      caf::anon_send(p.router, cluster::hold_atom::value);
    p.suspects.clear();
    p.view_epochs.clear();
    p.settling = false;
    p.listeners.clear();
    if (cfg.listeners)
      p.listeners = cfg.listeners(p.id, p.router);
    p.up = true;
    p.left = false;
    p.delivered = 0;
    p.joined = false;
    p.leave_asked = false;
  }

  /// The process of `p` stops (crash or exit): nothing of it runs or writes again.
  void stop(node_proc& p) {
    p.up = false;
    p.cell->alive = false;
    net.break_all(p.id);
    // user_shutdown, not kill: the router's exit handler takes its entities down.
    caf::anon_send_exit(p.router, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(p.journal, caf::exit_reason::kill);
    for (auto& l : p.listeners)
      caf::anon_send_exit(l, caf::exit_reason::kill);
    p.listeners.clear();
    p.router = nullptr;
    p.journal = nullptr;
  }

  /// The factories, each activation registered with the recorder until it ends.
  cluster::entity_factories recorded(std::shared_ptr<fence_cell> cell) {
    cluster::entity_factories out;
    for (auto& [kind, make] : factories) {
      out[kind] = [st = store, cell, make = make](caf::actor_system& sys,
                                                   const cluster::entity_context& ctx) {
        auto handle = make(sys, ctx);
        auto stream = ctx.self.str();
        auto id = handle.id();
        st->activated(stream, cell, id, ctx.epoch);
        handle->attach_functor([st, stream, id](const caf::error&) { st->terminated(stream, id); });
        return handle;
      };
    }
    return out;
  }

  cluster::cluster_view build_view(const node_proc& to) {
    cluster::cluster_view v;
    v.version = store->view_version();
    for (auto& [id, row] : store->members()) {
      cluster::member m;
      m.id = id;
      m.epoch = row.epoch;
      m.draining = row.draining;
      if (id == to.id) {
        if (row.epoch != to.cell->epoch)
          continue; // an older incarnation of us, about to expire
        m.router = to.router;
      } else {
        auto it = nodes.find(id);
        if (it != nodes.end() && it->second.up && it->second.cell->epoch == row.epoch)
          m.router = net.link(to.id, id, it->second.router); // null if cut: connect failed
      }
      v.members.push_back(std::move(m));
    }
    return v;
  }

  void deliver_view(node_proc& p, milliseconds lag) {
    auto v = build_view(p);
    p.delivered = v.version;
    p.view_epochs.clear();
    for (auto& m : v.members)
      p.view_epochs[m.id] = m.epoch;
    std::string desc;
    for (auto& m : v.members)
      desc += " " + m.id + "@" + std::to_string(m.epoch) + (m.draining ? "(draining)" : "") +
              (m.router ? "" : "(unreachable)");
    event("view " + std::to_string(v.version) + " -> " + name(p) + " in " +
          std::to_string(lag.count()) + "ms:" + desc);
    stats.views = std::max(stats.views, v.version);
    // The listeners read the same view at the same time (membership_actor
    // sends it to the router and to them together).
    for (auto& l : p.listeners) {
      if (lag.count() == 0)
        caf::anon_send(l, cluster::view_atom::value, v);
      else
        caf::delayed_anon_send(l, lag, cluster::view_atom::value, v);
    }
    if (lag.count() == 0)
      caf::anon_send(p.router, cluster::view_atom::value, std::move(v));
    else
      caf::delayed_anon_send(p.router, lag, cluster::view_atom::value, std::move(v));
  }

  milliseconds lag() {
    auto max = static_cast<std::uint64_t>(cfg.view_lag_max.count());
    return milliseconds{static_cast<std::int64_t>(max == 0 ? 0 : w.rng()() % (max + 1))};
  }

  /// As membership_actor: the router may serve until a tick before the
  /// lease just taken runs out.
  void confirm_lease(node_proc& p) {
    auto until = p.renewed_at + cfg.lease - cfg.tick;
    caf::anon_send(p.router, cluster::lease_atom::value,
                   std::chrono::duration_cast<caf::timespan>(until.time_since_epoch()));
  }

  /// One membership round: renew, notice fencing, join, expire, drain, publish.
  void tick(caf::event_based_actor* self) {
    for (auto& id : cfg.nodes) {
      auto& p = nodes.at(id);
      if (!p.up || stalled.count(id) > 0)
        continue;
      if (!p.cell->store_reachable) {
        // As membership_actor: no renewal for (nearly) a whole lease, so it
        // may be replaced any moment: stop serving before that happens.
        if (p.cell->epoch != 0 && w.sched().clock().now() - p.renewed_at >= cfg.lease - cfg.tick) {
          fence_self(p, " cannot renew its lease: fences itself");
        }
        continue;
      }
      if (p.cell->epoch != 0) {
        if (store->may_write(*p.cell)) {
          store->renew(id, cfg.lease);
          p.renewed_at = w.sched().clock().now();
          if (p.suspects.empty()) // else its router stays held
            confirm_lease(p);
        } else {
          fence_self(p, " notices it was fenced");
        }
      } else if (!p.left && !store->lease_valid(id)) {
        p.cell->epoch = store->join(id, cfg.lease);
        p.renewed_at = w.sched().clock().now();
        confirm_lease(p);
        p.joined = true;
        stats.joins += 1;
        event(name(p) + " joins with epoch " + std::to_string(p.cell->epoch));
      }
    }
    auto rows_before = store->members();
    if (store->expire()) {
      for (auto& kv : rows_before)
        if (store->members().count(kv.first) == 0) {
          stats.expiries += 1;
          event(kv.first + "'s lease (epoch " + std::to_string(kv.second.epoch) +
                ") expired: removed and fenced");
        }
    }
    reconnect_broken();
    for (auto& id : cfg.nodes)
      settle(self, id); // what an earlier attempt left (store cut off, isolated)
    check_drains(self);
    for (auto& id : cfg.nodes) {
      auto& p = nodes.at(id);
      // A process reads views once it joined (membership_actor joins first).
      if (p.up && p.joined && p.cell->store_reachable && stalled.count(id) == 0 &&
          p.delivered < store->view_version())
        deliver_view(p, lag());
    }
  }

  /// Lost its lease: fenced; the next view lacks us.
  void fence_self(node_proc& p, const std::string& why) {
    p.cell->epoch = 0;
    p.delivered = 0;
    p.suspects.clear();
    stats.fenced_noticed += 1;
    event(name(p) + why);
    caf::anon_send(p.router, cluster::fence_atom::value);
  }

  /// peer_loss::fence: `x`'s connection to `peer` broke (its router holds
  /// from now on); its membership settles it as a message (seeded order).
  void suspect(const std::string& x, const std::string& peer) {
    if (cfg.on_peer_loss != peer_loss::fence)
      return;
    auto it = nodes.find(x);
    if (it == nodes.end())
      return;
    auto& p = it->second;
    if (!p.up || p.cell->epoch == 0 || stalled.count(x) > 0)
      return; // a stalled membership reacts to nothing (its router holds)
    auto e = p.view_epochs.find(peer);
    if (e == p.view_epochs.end())
      return;
    for (auto& s : p.suspects)
      if (s.first == peer)
        return;
    p.suspects.emplace_back(peer, e->second);
    if (!p.settle_queued && controller) {
      p.settle_queued = true;
      caf::anon_send(controller, settle_atom::value, x);
    }
  }

  /// As membership_actor's settle_suspects: a member replaced meanwhile is
  /// done; one reconnect each (a live peer we may connect to: nothing
  /// happens); cut from most others, fence nobody and keep holding; else
  /// fence them, renew our own lease (which releases the hold) and read
  /// the view at once.
  void settle(caf::event_based_actor* self, const std::string& id) {
    auto& p = nodes.at(id);
    p.settle_queued = false;
    if (!p.up || p.suspects.empty() || stalled.count(id) > 0 || !p.cell->store_reachable ||
        p.settling)
      return; // held; the lease logic decides
    if (p.cell->epoch == 0) {
      p.suspects.clear();
      return;
    }
    if (!store->may_write(*p.cell)) {
      stats.fenced_by_peer += 1;
      return fence_self(p, " learns a member fenced it");
    }
    bool changed = false;
    std::vector<std::pair<std::string, std::uint64_t>> unreachable;
    for (auto& [peer, epoch] : p.suspects) {
      auto row = store->members().find(peer);
      if (row == store->members().end() || row->second.epoch != epoch) {
        changed = true;
        continue;
      }
      auto& q = nodes.at(peer);
      if (q.up && q.cell->epoch == epoch && net.connected(id, peer)) {
        stats.fence_reconnects += 1;
        event(name(p) + " reconnects to " + peer + ": not fenced");
        store->bump(); // the next view carries the new connection
        changed = true;
        continue;
      }
      unreachable.emplace_back(peer, epoch);
    }
    auto others = std::count_if(p.view_epochs.begin(), p.view_epochs.end(),
                                [&](auto& kv) { return kv.first != id; });
    auto cut = static_cast<std::ptrdiff_t>(unreachable.size());
    if (cut >= 2 && 2 * cut > others) {
      stats.isolated_holds += 1;
      event(name(p) + " is cut from most members: fences nobody, holds");
      p.suspects = std::move(unreachable);
      return;
    }
    p.suspects = unreachable;
    if (unreachable.empty())
      return finish_settling(p, changed);
    // Only members whose router knows ours (it adopted a view with a
    // handle to us) are fenced: as membership_actor, ask the router.
    std::vector<std::string> ids;
    for (auto& u : unreachable)
      ids.push_back(u.first);
    p.settling = true;
    auto inc = p.cell->incarnation;
    auto epoch = p.cell->epoch;
    self->request(p.router, std::chrono::seconds{2}, cluster::knows_atom::value, std::move(ids))
        .then(
            [this, self, id, inc, epoch, unreachable, changed](const std::vector<std::string>& knowing) {
              auto& q = nodes.at(id);
              if (q.cell->incarnation != inc)
                return;
              q.settling = false;
              if (!q.up || q.cell->epoch != epoch || !q.cell->store_reachable ||
                  stalled.count(id) > 0)
                return;
              if (!store->may_write(*q.cell)) {
                stats.fenced_by_peer += 1;
                return fence_self(q, " learns a member fenced it");
              }
              bool any = changed;
              std::vector<std::string> unknown;
              for (auto& [peer, e] : unreachable) {
                if (std::find(knowing.begin(), knowing.end(), peer) == knowing.end()) {
                  // It may know us and fence us: keep holding (next tick again).
                  stats.fence_unknown += 1;
                  event(name(q) + ": " + peer + " is not on its view: left to its lease; holds");
                  unknown.push_back(peer);
                  continue;
                } else if (store->fence(peer, e)) {
                  stats.peer_fences += 1;
                  event(name(q) + " fences " + peer + " (epoch " + std::to_string(e) +
                        "): its connection broke, a reconnect failed");
                }
                any = true;
              }
              for (auto& u : unreachable)
                if (std::find(unknown.begin(), unknown.end(), u.first) == unknown.end())
                  q.suspects.erase(std::remove_if(q.suspects.begin(), q.suspects.end(),
                                                  [&](auto& x) { return x.first == u.first; }),
                                   q.suspects.end());
              if (q.suspects.size() > unknown.size()) { // broke while we asked: settle those too
                if (!q.settle_queued) {
                  q.settle_queued = true;
                  self->send(self, settle_atom::value, id);
                }
                return;
              }
              if (!unknown.empty()) {
                if (any && q.joined && q.delivered < store->view_version())
                  deliver_view(q, milliseconds{0}); // what it fenced moves; still held
                return;
              }
              finish_settling(q, any);
            },
            [this, id, inc](caf::error&) {
              auto& q = nodes.at(id);
              if (q.cell->incarnation == inc)
                q.settling = false; // the next tick asks again
            });
  }

  /// All settled: renew our own lease (which releases the hold) and read
  /// the view at once.
  void finish_settling(node_proc& p, bool changed) {
    if (!p.suspects.empty())
      return;
    store->renew(p.id, cfg.lease);
    p.renewed_at = w.sched().clock().now();
    confirm_lease(p);
    if (changed && p.joined && p.delivered < store->view_version())
      deliver_view(p, milliseconds{0});
  }

  /// A connection that broke between two live, connected members is made
  /// again by the next view.
  void reconnect_broken() {
    bool bump = false;
    auto broken = net.take_broken();
    if (!cfg.reconnect)
      return;
    for (auto& [a, b] : broken) {
      auto& pa = nodes.at(a);
      auto& pb = nodes.at(b);
      if (pa.up && pb.up && net.connected(a, b) && pa.cell->epoch != 0 && pb.cell->epoch != 0) {
        event("connection " + a + "-" + b + " broke; the next view reconnects it");
        bump = true;
      }
    }
    if (bump)
      store->bump();
  }

  /// Draining members whose router handed off the last view and runs
  /// nothing leave the table and stop.
  void check_drains(caf::event_based_actor* self) {
    for (auto& id : cfg.nodes) {
      auto& p = nodes.at(id);
      auto row = store->members().find(id);
      if (!p.up || p.leave_asked || stalled.count(id) > 0 || row == store->members().end() ||
          !row->second.draining ||
          row->second.epoch != p.cell->epoch || !p.cell->store_reachable)
        continue;
      p.leave_asked = true;
      auto version = p.delivered;
      auto inc = p.cell->incarnation;
      self->request(p.router, std::chrono::seconds{2}, cluster::stats_atom::value)
          .then(
              [this, id, version, inc](const cluster::router_stats& rs) {
                auto& q = nodes.at(id);
                if (!q.up || q.cell->incarnation != inc)
                  return;
                q.leave_asked = false;
                if (rs.live > 0 || rs.handed_off_version < version || version == 0)
                  return;
                store->leave(id);
                q.cell->epoch = 0;
                q.left = true;
                stats.leaves += 1;
                event(name(q) + " drained and left");
                stop(q);
              },
              [this, id, inc](caf::error&) {
                auto& q = nodes.at(id);
                if (q.cell->incarnation == inc)
                  q.leave_asked = false;
              });
    }
  }

  world w;
  cluster_config cfg;
  cluster::entity_factories factories;
  sim_network net;
  std::shared_ptr<shared_store> store;
  caf::actor_clock::time_point t0;
  std::deque<std::string> events;
  /// COURIER_CLUSTER_TRACE=1: print every event as it happens.
  bool trace = std::getenv("COURIER_CLUSTER_TRACE") != nullptr;
  std::map<std::string, node_proc> nodes;
  std::set<std::string> isolated; ///< node ids cut from the store
  std::set<std::string> stalled;  ///< node ids whose membership stands still
  std::uint64_t incarnations = 0;
  cluster_stats stats;
  caf::actor controller;
  probe helper;
};

// -- cluster_world ------------------------------------------------------------------------

cluster_world::cluster_world(std::uint64_t seed, cluster::entity_factories factories,
                             cluster_config cfg)
    : cluster_world(seed, [&factories](world&) { return std::move(factories); },
                    std::move(cfg)) {}

cluster_world::cluster_world(std::uint64_t seed, const factories_maker& make,
                             cluster_config cfg)
    : impl_(std::make_unique<cluster_world_impl>(seed, make, std::move(cfg))) {}

cluster_world::~cluster_world() = default;

world& cluster_world::w() { return impl_->w; }
const cluster_config& cluster_world::config() const { return impl_->cfg; }
sim_network& cluster_world::net() { return impl_->net; }
shared_store& cluster_world::store() { return *impl_->store; }
const cluster_stats& cluster_world::stats() const { return impl_->stats; }

caf::actor cluster_world::router(const std::string& node) const {
  auto& p = impl_->nodes.at(node);
  return p.up ? p.router : nullptr;
}

bool cluster_world::up(const std::string& node) const { return impl_->nodes.at(node).up; }

bool cluster_world::member(const std::string& node) const {
  auto& p = impl_->nodes.at(node);
  return p.up && impl_->store->may_write(*p.cell);
}

std::vector<caf::actor> cluster_world::listeners(const std::string& node) const {
  auto& p = impl_->nodes.at(node);
  return p.up ? p.listeners : std::vector<caf::actor>{};
}

std::vector<std::string> cluster_world::up_nodes() const {
  std::vector<std::string> out;
  for (auto& id : impl_->cfg.nodes)
    if (impl_->nodes.at(id).up)
      out.push_back(id);
  return out;
}

void cluster_world::send(const probe& from, const std::string& node,
                         const cluster::entity_ref& ref, caf::message payload) {
  auto r = router(node);
  if (!r)
    return; // the node is down: the client's connection is gone
  caf::send_as(from.handle, r, cluster::route_atom::value, ref, std::move(payload));
}

void cluster_world::crash(const std::string& node) {
  auto& p = impl_->nodes.at(node);
  if (!p.up)
    return;
  impl_->stats.crashes += 1;
  impl_->event(impl_->name(p) + " crashes");
  impl_->stop(p);
  run();
}

void cluster_world::restart(const std::string& node) {
  auto& p = impl_->nodes.at(node);
  if (p.up)
    return;
  impl_->stats.restarts += 1;
  impl_->stalled.erase(node);
  impl_->start(p);
  impl_->event(impl_->name(p) + " starts");
  run();
}

void cluster_world::partition(const std::vector<std::string>& side, partition_kind kind) {
  impl_->stats.partitions += 1;
  std::set<std::string> in(side.begin(), side.end());
  std::string desc;
  for (auto& a : in)
    desc += " " + a;
  impl_->event("partition" + desc + (kind == partition_kind::with_store ? " (and the store)" : "") +
               " from the rest");
  for (auto& a : impl_->cfg.nodes)
    for (auto& b : impl_->cfg.nodes)
      if (in.count(a) > 0 && in.count(b) == 0)
        impl_->net.cut(a, b);
  if (kind == partition_kind::with_store) {
    for (auto& a : in) {
      impl_->isolated.insert(a);
      impl_->nodes.at(a).cell->store_reachable = false;
    }
  }
}

void cluster_world::heal() {
  impl_->event("heal");
  impl_->net.heal_all();
  impl_->isolated.clear();
  impl_->stalled.clear();
  for (auto& kv : impl_->nodes)
    kv.second.cell->store_reachable = true;
  if (impl_->cfg.reconnect)
    impl_->store->bump(); // the next view reconnects everyone
}

void cluster_world::break_link(const std::string& a, const std::string& b) {
  impl_->event("connection " + a + "-" + b + " breaks");
  impl_->net.break_link(a, b);
}

void cluster_world::stall(const std::string& node) {
  impl_->stats.stalls += 1;
  impl_->event(node + "'s membership stalls (its router serves on with its last view)");
  impl_->stalled.insert(node);
}

void cluster_world::drain(const std::string& node) {
  impl_->event(node + " drains");
  impl_->store->set_draining(node);
}

const std::deque<std::string>& cluster_world::events() const { return impl_->events; }

std::optional<cluster::router_stats> cluster_world::router_stats(const std::string& node) {
  auto r = router(node);
  if (!r)
    return std::nullopt;
  auto& p = impl_->helper;
  p.clear();
  caf::send_as(p.handle, r, cluster::stats_atom::value);
  run();
  return p.next<cluster::router_stats>();
}

bool cluster_world::converged() {
  auto version = impl_->store->view_version();
  for (auto& id : impl_->cfg.nodes) {
    auto& p = impl_->nodes.at(id);
    if (!p.up)
      continue;
    if (!impl_->store->may_write(*p.cell))
      return false;
    auto rs = router_stats(id);
    if (!rs || rs->view_version != version || rs->handed_off_version != version)
      return false;
  }
  return true;
}

bool cluster_world::serving_all() const {
  auto& members = impl_->store->members();
  for (auto& id : impl_->cfg.nodes) {
    auto& p = impl_->nodes.at(id);
    auto row = members.find(id);
    if (!p.up || row == members.end() || row->second.draining ||
        row->second.epoch != p.cell->epoch)
      return false;
  }
  return true;
}

bool cluster_world::settle(std::chrono::milliseconds max) {
  heal();
  auto waited = milliseconds{0};
  for (;;) {
    // Restarted on every tick, not once: a draining node may finish and
    // leave while we settle (issue #16: all three drained, and the final
    // check found no node up). An operator brings a drained node back.
    for (auto& id : impl_->cfg.nodes)
      restart(id);
    if (serving_all() && converged())
      return true;
    if (waited >= max)
      return false;
    advance(impl_->cfg.tick);
    waited += impl_->cfg.tick;
  }
}

} // namespace courier::harness
