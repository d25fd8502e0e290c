#include "cluster/router_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/entity.hpp"
#include "cluster/errors.hpp"
#include "cluster/failover.hpp"
#include "core/assert.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace courier::cluster {
namespace {

using time_point = caf::actor_clock::time_point;

/// A message held by the router: the promise keeps the original sender and
/// request id, so whoever finally handles it answers the caller. `from` is
/// the member that forwarded it ("" = sent on this node); `origin` and `seq`
/// name the router that first routed it and its place in that router's
/// order (one sender always goes through one router, so per-sender order is
/// per-origin `seq` order).
struct held_message {
  entity_ref ref;
  caf::response_promise promise;
  caf::message payload;
  std::string from;
  std::string origin;
  std::uint64_t seq = 0;
};

struct activation {
  caf::actor handle;
  time_point last_used;
  std::list<entity_ref>::iterator lru_pos; ///< valid only while !passivating
  bool passivating = false;
  bool told = false; ///< passivate (or exit) sent; counts in stops_in_flight
  bool moved = false; ///< passivated because a new view placed it elsewhere
  std::vector<held_message> held;
  /// Gateways it asked us to watch (watch_gateway_atom); a handful at most.
  std::vector<caf::actor_addr> gateways;
};

/// What this router knows of another member of its view.
struct peer {
  caf::actor router;
  bool reachable = false; ///< true while we hold a working handle
};

/// What a member said of the views it adopted and handed off. Kept by id,
/// apart from `peers`: a member may say it before this router's view has it.
/// Versions only grow, so a newer incarnation's word is never shadowed.
struct member_progress {
  std::uint64_t adopted = 0;
  std::uint64_t handed_off = 0;
};

/// Members whose progress is remembered; beyond it, departed ones are forgotten.
constexpr std::size_t progress_max = 4096;
/// Views kept to decide which keys are still settling (see `gated`).
constexpr std::size_t history_max = 64;

struct router_state {
  router_config cfg;
  entity_factories factories;
  caf::actor journal;
  std::unordered_map<entity_ref, activation> live;
  std::unordered_map<caf::actor_addr, entity_ref> by_addr;
  std::list<entity_ref> lru; ///< front: most recently used; passivating ones excluded
  router_stats stats;
  /// Which activations push to each gateway (keys of `live`). One monitor
  /// per gateway here instead of one per subscribed entity on the gateway:
  /// CAF 0.17 keeps an actor's monitors in a list that demonitor walks, so
  /// with an entity monitor per subscription every unsubscribe cost time
  /// in the number of subscribed entities on the node (5% of a soak's CPU
  /// at 78k live entities), and a passivated subscriber's monitor stayed
  /// on the gateway for the node's life.
  std::unordered_map<caf::actor_addr, std::unordered_set<const entity_ref*>> gateway_holders;

  // Cluster mode only.
  bool has_view = false;   ///< false before the first view and while fenced
  cluster_view view;
  /// `view` and the views before it back to the newest one every member of
  /// `view` has handed off (the front). A key that some view here places
  /// elsewhere may still have older messages in flight or an activation
  /// elsewhere: it is gated.
  std::deque<cluster_view> history;
  std::map<std::string, peer> peers; ///< every other member of `view`
  std::map<std::string, member_progress> progress;
  /// Messages that cannot go anywhere yet (no view, gated key, unreachable
  /// owner, members disagreeing on the view), in arrival order; bounded by
  /// `peer_buffer_max`. `parked_keys` counts them per key: a later message
  /// for a parked key parks too, so nothing overtakes.
  std::deque<held_message> parked;
  std::unordered_map<entity_ref, std::size_t> parked_keys;
  std::uint64_t next_seq = 0;
  std::uint64_t handed_off = 0; ///< view version we sent handoff for
  /// Serve only before this instant (see lease_atom); unset: not checked.
  std::optional<caf::actor_clock::time_point> lease_until;
  /// See hold_atom: set once by the membership; then a broken connection to
  /// a member sets `held`, and the next lease message clears it.
  bool hold_on_peer_loss = false;
  /// A member's connection broke and the membership has not yet confirmed
  /// that this node still holds its lease: that member may be fencing us
  /// right now, and we must not serve what it may take over.
  bool held = false;

  /// Passivating activations not told yet, oldest first (see
  /// router_config::stops_in_flight_max); may name ones that finished.
  std::deque<entity_ref> stop_queue;
  std::size_t stops_in_flight = 0;
  /// Set when the router was told to exit: it stops its activations (in
  /// bounded bursts), answers everything else `unavailable`, then quits.
  std::optional<caf::error> exiting;

  bool clustered() const { return !cfg.node_id.empty(); }
  static inline const char* name = "courier.router";
};

using router_actor = caf::stateful_actor<router_state>;

void route(router_actor* self, held_message msg);
void maybe_hand_off(router_actor* self);

caf::error unavailable(const std::string& why) {
  return to_caf_error({core::errc::unavailable, why});
}

// -- local activations -----------------------------------------------------

/// Tells activations to stop, oldest request first, while fewer than
/// stops_in_flight_max are stopping: passivate, or exit once the router exits.
void tell_stops(router_actor* self) {
  auto& st = self->state;
  while (st.stops_in_flight < st.cfg.stops_in_flight_max && !st.stop_queue.empty()) {
    auto it = st.live.find(st.stop_queue.front());
    st.stop_queue.pop_front();
    if (it == st.live.end() || it->second.told)
      continue; // finished (crashed) or told already
    it->second.told = true;
    st.stops_in_flight += 1;
    if (st.exiting)
      self->send_exit(it->second.handle, *st.exiting);
    else
      self->send(it->second.handle, passivate_atom::value);
  }
}

/// `ref` by value: callers pass lru.back(), which this erases.
void passivate(router_actor* self, entity_ref ref) {
  auto& st = self->state;
  auto& act = st.live.at(ref);
  COURIER_ASSERT(!act.passivating);
  act.passivating = true;
  st.lru.erase(act.lru_pos);
  st.stop_queue.push_back(std::move(ref));
  tell_stops(self);
}

/// Passivates the least recently used live activations above the limit.
void enforce_limit(router_actor* self) {
  auto& st = self->state;
  while (st.lru.size() >= st.cfg.activations_max && !st.lru.empty()) {
    passivate(self, st.lru.back());
  }
}

activation* activate(router_actor* self, const entity_ref& ref) {
  auto& st = self->state;
  auto factory = st.factories.find(ref.kind);
  if (factory == st.factories.end())
    return nullptr;
  enforce_limit(self);
  entity_context ctx{ref, caf::actor_cast<caf::actor>(self), st.journal, 0};
  if (st.clustered()) {
    auto me = find_member(st.view, st.cfg.node_id);
    COURIER_ASSERT(me != nullptr); // route() activates only with a view that has us
    ctx.epoch = me->epoch;
  }
  auto handle = factory->second(self->system(), ctx);
  COURIER_ASSERT(handle != nullptr);
  self->monitor(handle);
  st.lru.push_front(ref);
  auto& act = st.live[ref];
  act = activation{handle, self->clock().now(), st.lru.begin(), false, {}};
  st.by_addr.emplace(handle.address(), ref);
  st.stats.activations_total += 1;
  st.stats.live_by_kind[ref.kind] += 1; // kinds are the factories' keys: bounded
  return &act;
}

void touch(router_actor* self, activation& act) {
  auto& st = self->state;
  act.last_used = self->clock().now();
  st.lru.splice(st.lru.begin(), st.lru, act.lru_pos);
}

/// Delivers to this node's activation of `msg.ref`, activating it if needed.
void deliver_local(router_actor* self, held_message msg) {
  auto& st = self->state;
  auto it = st.live.find(msg.ref);
  activation* act = it != st.live.end() ? &it->second : activate(self, msg.ref);
  if (act == nullptr) {
    st.stats.rejected_total += 1;
    msg.promise.deliver(to_caf_error(
        {core::errc::not_found, "no entity kind '" + msg.ref.kind + "'"}));
    return;
  }
  if (act->passivating) {
    if (act->held.size() >= st.cfg.buffer_max) {
      st.stats.rejected_total += 1;
      msg.promise.deliver(to_caf_error(
          {core::errc::overloaded, "entity " + msg.ref.str() + " is busy passivating"}));
      return;
    }
    st.stats.buffered_total += 1;
    act->held.push_back(std::move(msg));
    return;
  }
  touch(self, *act);
  st.stats.routed_total += 1;
  msg.promise.delegate(act->handle, std::move(msg.payload));
}

// -- cluster mode ------------------------------------------------------------

/// Holds `msg` until the next `unpark` if there is room; otherwise answers
/// it unavailable (never a silent drop).
void park(router_actor* self, held_message msg, const char* why) {
  auto& st = self->state;
  if (st.parked.size() >= st.cfg.peer_buffer_max) {
    st.stats.rejected_total += 1;
    msg.promise.deliver(unavailable("entity " + msg.ref.str() + " is unreachable: " + why));
    return;
  }
  st.stats.buffered_total += 1;
  st.parked_keys[msg.ref] += 1;
  st.parked.push_back(std::move(msg));
}

/// Routes everything parked again, in per-origin order (what arrived by
/// different paths is put back in the order its origin routed it).
void unpark(router_actor* self) {
  auto& st = self->state;
  if (st.parked.empty())
    return;
  auto batch = std::move(st.parked);
  st.parked.clear();
  st.parked_keys.clear();
  std::stable_sort(batch.begin(), batch.end(), [](const held_message& a, const held_message& b) {
    return a.origin != b.origin ? a.origin < b.origin : a.seq < b.seq;
  });
  for (auto& msg : batch)
    route(self, std::move(msg));
}

/// Has every member of the view (but us) handed off `version`?
bool settled(const router_state& st, std::uint64_t version) {
  for (auto& kv : st.peers) {
    auto it = st.progress.find(kv.first);
    if (it == st.progress.end() || it->second.handed_off < version)
      return false;
  }
  return true;
}

/// Drops the history views that every member has handed off (keeps the
/// newest of them as the base).
void trim_history(router_state& st) {
  while (st.history.size() > 1 && settled(st, st.history[1].version))
    st.history.pop_front();
}

/// A key we own now is gated while some view since the last settled one
/// placed it elsewhere: that member may still run it or route older
/// messages for it, until every member has handed off.
bool gated(const router_state& st, const entity_ref& ref) {
  for (std::size_t i = 0; i + 1 < st.history.size(); ++i)
    if (owner_of(st.history[i], ref) != st.cfg.node_id)
      return true;
  return false;
}

/// `v` without this node: what the cluster looked like before we joined
/// (every key of ours came from someone else).
cluster_view without_me(const router_state& st, const cluster_view& v) {
  cluster_view out;
  out.version = 0;
  for (auto& m : v.members)
    if (m.id != st.cfg.node_id)
      out.members.push_back(m);
  return out;
}

/// May this router hand off for the current view? Everything it no longer
/// owns has stopped, nothing it holds is for another member that could take
/// it, and every reachable member has adopted the view (so whatever they
/// forwarded here under an older view has arrived and been passed on).
void maybe_hand_off(router_actor* self) {
  auto& st = self->state;
  if (!st.clustered() || !st.has_view || st.handed_off >= st.view.version)
    return;
  // adopt_view passivates everything it gives up; while any activation is
  // stopping, some may be ones we no longer own.
  if (st.live.size() != st.lru.size())
    return;
  for (auto& kv : st.peers)
    if (kv.second.reachable && st.progress[kv.first].adopted < st.view.version)
      return;
  for (auto& msg : st.parked) {
    auto owner = owner_of(st.view, msg.ref);
    auto p = st.peers.find(owner);
    if (p != st.peers.end() && p->second.reachable)
      return; // waits for its owner to catch up with our view
  }
  st.handed_off = st.view.version;
  st.stats.handoffs_total += 1;
  st.stats.handed_off_version = st.view.version;
  for (auto& kv : st.peers)
    if (kv.second.reachable)
      self->send(kv.second.router, handoff_atom::value, st.cfg.node_id, st.view.version);
}

void forward(router_actor* self, const std::string& owner, held_message msg) {
  auto& st = self->state;
  auto it = st.peers.find(owner);
  COURIER_ASSERT(it != st.peers.end());
  auto& p = it->second;
  if (!p.reachable)
    return park(self, std::move(msg), "its node is not reachable");
  if (msg.from == owner && st.progress[owner].adopted != st.view.version) {
    // It sent this to us, so its view makes us the owner and ours makes it
    // the owner: wait until we agree on the view instead of bouncing.
    return park(self, std::move(msg), "members disagree on the view");
  }
  st.stats.forwarded_total += 1;
  msg.promise.delegate(p.router, forward_atom::value, st.cfg.node_id, std::move(msg.origin),
                       msg.seq, std::move(msg.ref), std::move(msg.payload));
}

void route(router_actor* self, held_message msg) {
  auto& st = self->state;
  if (st.exiting) {
    st.stats.rejected_total += 1;
    return msg.promise.deliver(unavailable("the node is stopping"));
  }
  if (!st.clustered())
    return deliver_local(self, std::move(msg));
  // A local activation still stopping goes first: queue behind it.
  if (auto it = st.live.find(msg.ref); it != st.live.end() && it->second.passivating)
    return deliver_local(self, std::move(msg));
  if (st.parked_keys.count(msg.ref) != 0)
    return park(self, std::move(msg), "older messages for it wait");
  if (!st.has_view)
    return park(self, std::move(msg), "the node is not a cluster member now");
  if (st.lease_until && self->clock().now() >= *st.lease_until) {
    st.stats.lease_waits_total += 1;
    return park(self, std::move(msg), "the node's lease is not confirmed");
  }
  if (st.held) {
    st.stats.lease_waits_total += 1;
    return park(self, std::move(msg), "a member's connection broke; the lease is being confirmed");
  }
  auto owner = owner_of(st.view, msg.ref);
  if (owner.empty()) {
    st.stats.rejected_total += 1;
    msg.promise.deliver(unavailable("no cluster member may own " + msg.ref.str()));
    return;
  }
  if (owner != st.cfg.node_id) {
    if (st.live.count(msg.ref) != 0) {
      passivate(self, msg.ref);
      return deliver_local(self, std::move(msg));
    }
    return forward(self, owner, std::move(msg));
  }
  if (gated(st, msg.ref))
    return park(self, std::move(msg), "its previous owners are handing off");
  deliver_local(self, std::move(msg));
}

/// Takes the member handles of `st.view`: a handle that differs from the
/// one we had (a new incarnation, or a new connection after one broke)
/// replaces it and hears where we are (`adopted`, and `handoff` if done).
/// `everyone`: announce the view to unchanged members too (a new view).
void take_handles(router_actor* self, bool everyone) {
  auto& st = self->state;
  for (auto it = st.peers.begin(); it != st.peers.end();)
    it = find_member(st.view, it->first) ? std::next(it) : st.peers.erase(it);
  for (auto& m : st.view.members) {
    if (m.id == st.cfg.node_id)
      continue;
    auto& p = st.peers[m.id];
    // By control block, not by handle equality: CAF 0.17 compares handles
    // by (actor id, node), so the proxy made when a broken connection is
    // re-established equals the dead one, and the peer would stay
    // unreachable (its keys parked) until the next view.
    bool changed = caf::actor_cast<caf::actor_control_block*>(p.router) !=
                   caf::actor_cast<caf::actor_control_block*>(m.router);
    if (changed) {
      if (!everyone && !m.router)
        continue; // a refresh never takes a working handle away
      p.router = m.router;
      p.reachable = static_cast<bool>(p.router);
      if (p.reachable)
        self->monitor(p.router);
    }
    if (!p.reachable || !(changed || everyone))
      continue;
    self->send(p.router, adopted_atom::value, st.cfg.node_id, st.view.version);
    if (st.handed_off >= st.view.version)
      self->send(p.router, handoff_atom::value, st.cfg.node_id, st.handed_off);
  }
}

void adopt_view(router_actor* self, cluster_view v) {
  auto& st = self->state;
  if (st.exiting)
    return;
  bool had_view = st.has_view;
  if (v.version < st.view.version || (!had_view && v.version == st.view.version && v.version != 0))
    return; // stale (or, while fenced, the view we were fenced in)
  if (had_view && v.version == st.view.version) {
    // The same view with new connections to members whose connection broke.
    st.view = std::move(v);
    take_handles(self, false);
    unpark(self);
    maybe_hand_off(self);
    return;
  }
  auto before = had_view ? st.view : cluster_view{};
  if (!had_view)
    st.history = {without_me(st, v)};
  st.has_view = true;
  st.view = std::move(v);
  st.stats.view_version = st.view.version;
  st.history.push_back(st.view);
  if (st.history.size() > history_max) {
    // Forgetting views could ungate a key too early: gate everything instead.
    while (st.history.size() > history_max)
      st.history.pop_front();
    st.history.front() = without_me(st, st.history.front());
  }
  take_handles(self, true);
  trim_history(st);
  // Give up what is no longer ours; held messages follow to the new owner.
  std::vector<entity_ref> moving;
  for (auto& kv : st.live)
    if (!kv.second.passivating && owner_of(st.view, kv.first) != st.cfg.node_id)
      moving.push_back(kv.first);
  for (auto& ref : moving) {
    st.live.at(ref).moved = true;
    passivate(self, ref);
  }
  unpark(self);
  // Anonymously: the wake's reply must not come back to the router.
  for (auto& ref : st.cfg.resident)
    if (owner_of(st.view, ref) == st.cfg.node_id &&
        (!had_view || owner_of(before, ref) != st.cfg.node_id))
      caf::anon_send(self, route_atom::value, ref, st.cfg.resident_wake);
  maybe_hand_off(self);
}

/// Stops serving (the node lost its lease): every activation passivates
/// and messages are parked until a newer view includes us again.
void fence(router_actor* self) {
  auto& st = self->state;
  if (!st.has_view || st.exiting)
    return;
  st.has_view = false;
  std::vector<entity_ref> all;
  for (auto& kv : st.live)
    if (!kv.second.passivating)
      all.push_back(kv.first);
  for (auto& ref : all)
    passivate(self, ref);
}

/// The progress record of `id`, forgetting departed members if too many.
member_progress& progress_of(router_state& st, const std::string& id) {
  if (st.progress.size() >= progress_max && st.progress.count(id) == 0)
    for (auto it = st.progress.begin(); it != st.progress.end();)
      it = find_member(st.view, it->first) ? std::next(it) : st.progress.erase(it);
  return st.progress[id];
}

void on_peer_progress(router_actor* self) {
  auto& st = self->state;
  trim_history(st);
  unpark(self);
  maybe_hand_off(self);
}

void on_peer_down(router_actor* self, const caf::actor_addr& addr) {
  auto& st = self->state;
  for (auto& kv : st.peers) {
    if (kv.second.router.address() != addr)
      continue;
    kv.second.reachable = false;
    if (st.hold_on_peer_loss && st.has_view)
      st.held = true;
    // Nothing more will come from it; stop waiting for its adoption.
    maybe_hand_off(self);
    return;
  }
}

std::string entity_counts(const router_state& st) {
  std::map<std::string, std::uint64_t> counts;
  for (auto& kv : st.live)
    counts[kv.first.kind] += 1;
  std::string out;
  for (auto& [kind, n] : counts) {
    if (!out.empty())
      out += ',';
    out += kind + '=' + std::to_string(n);
  }
  return out;
}

// -- gateways the activations push to ---------------------------------------------

/// The live activation of `ref` if it sent the current message (a stopped
/// activation's late message must not act for its successor).
activation* sending_activation(router_actor* self, const entity_ref& ref) {
  auto it = self->state.live.find(ref);
  if (it == self->state.live.end() || it->second.handle.address() != self->current_sender())
    return nullptr;
  return &it->second;
}

/// Forgets that the activation keyed `key` pushes to `addr`; stops watching
/// the gateway when nobody here does.
void unwatch_gateway(router_actor* self, const entity_ref* key, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto h = st.gateway_holders.find(addr);
  if (h == st.gateway_holders.end())
    return;
  h->second.erase(key);
  if (h->second.empty()) {
    st.gateway_holders.erase(h);
    self->demonitor(addr);
  }
}

void on_watch_gateway(router_actor* self, const entity_ref& ref, const caf::actor& gw) {
  auto* act = sending_activation(self, ref);
  if (act == nullptr || !gw)
    return;
  auto addr = gw.address();
  if (std::find(act->gateways.begin(), act->gateways.end(), addr) != act->gateways.end())
    return;
  act->gateways.push_back(addr);
  auto& st = self->state;
  auto [h, fresh] = st.gateway_holders.try_emplace(addr);
  h->second.insert(&st.live.find(ref)->first);
  if (fresh)
    self->monitor(gw);
}

void on_unwatch_gateway(router_actor* self, const entity_ref& ref, const caf::actor_addr& addr) {
  auto* act = sending_activation(self, ref);
  if (act == nullptr)
    return;
  auto& gws = act->gateways;
  auto at = std::find(gws.begin(), gws.end(), addr);
  if (at == gws.end())
    return;
  gws.erase(at);
  unwatch_gateway(self, &self->state.live.find(ref)->first, addr);
}

/// A watched gateway is down: every activation that pushes to it hears.
/// False if `addr` is not a watched gateway.
bool on_gateway_down(router_actor* self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto h = st.gateway_holders.find(addr);
  if (h == st.gateway_holders.end())
    return false;
  auto holders = std::move(h->second);
  st.gateway_holders.erase(h);
  for (const auto* key : holders) {
    auto& act = st.live.at(*key);
    act.gateways.erase(std::remove(act.gateways.begin(), act.gateways.end(), addr),
                       act.gateways.end());
    self->send(act.handle, gateway_down_atom::value, addr);
  }
  return true;
}

// -- lifecycle -----------------------------------------------------------------

/// An activation has stopped (confirmed passivation, or it died): forget
/// it, and if messages were held for it, route them again (to a successor
/// here, or to the entity's new owner).
void finished(router_actor* self, const entity_ref& ref) {
  auto& st = self->state;
  auto it = st.live.find(ref);
  if (it == st.live.end())
    return;
  auto held = std::move(it->second.held);
  bool moved = it->second.moved;
  if (!it->second.passivating)
    st.lru.erase(it->second.lru_pos);
  if (it->second.told)
    st.stops_in_flight -= 1;
  st.by_addr.erase(it->second.handle.address());
  for (const auto& gw : it->second.gateways)
    unwatch_gateway(self, &it->first, gw);
  if (auto k = st.stats.live_by_kind.find(ref.kind); k != st.stats.live_by_kind.end()) {
    COURIER_ASSERT(k->second > 0);
    k->second -= 1;
  }
  st.live.erase(it);
  if (st.exiting) {
    for (auto& msg : held)
      msg.promise.deliver(unavailable("the node is stopping"));
    tell_stops(self);
    if (st.live.empty())
      self->quit(*st.exiting);
    return;
  }
  for (auto& msg : held)
    route(self, std::move(msg));
  // After what it held: the successor learns of the move last. Anonymously:
  // its reply must not come back to the router.
  auto notice = st.cfg.moved_notice.find(ref.kind);
  if (moved && notice != st.cfg.moved_notice.end())
    caf::anon_send(self, route_atom::value, ref, notice->second);
  tell_stops(self);
  maybe_hand_off(self);
}

void scan_idle(router_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::size_t done = 0;
  while (!st.lru.empty() && done < st.cfg.idle_passivations_per_scan_max) {
    auto ref = st.lru.back();
    if (st.live.at(ref).last_used + st.cfg.idle_timeout > now)
      break;
    passivate(self, ref);
    ++done;
  }
}

caf::behavior router_behavior(router_actor* self, router_config cfg,
                              entity_factories factories, caf::actor journal) {
  self->state.cfg = std::move(cfg);
  self->state.factories = std::move(factories);
  self->state.journal = std::move(journal);
  // A stray reply or error (e.g. to a message sent without a request) must
  // never stop the router.
  self->set_default_handler(caf::drop);
  self->set_error_handler([](caf::error&) {});
  self->set_down_handler([=](caf::down_msg& msg) {
    auto it = self->state.by_addr.find(msg.source);
    if (it == self->state.by_addr.end()) {
      if (on_gateway_down(self, msg.source))
        return;
      on_peer_down(self, msg.source);
      return; // a peer, or an activation that already confirmed passivation
    }
    if (msg.reason)
      self->state.stats.crashed_total += 1;
    auto ref = it->second;
    finished(self, ref);
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& s = self->state;
    if (s.live.empty())
      return self->quit(msg.reason);
    if (s.exiting)
      return;
    // Every activation exits, in bounded bursts (stops_in_flight_max); the
    // router quits with the last one. What waits gets `unavailable`.
    s.exiting = msg.reason;
    s.stop_queue.clear();
    for (auto& kv : s.live)
      if (!kv.second.told)
        s.stop_queue.push_back(kv.first);
    for (auto& kv : s.live)
      if (kv.second.told)
        self->send_exit(kv.second.handle, msg.reason); // passivating: hurry it
    for (auto& m : s.parked)
      m.promise.deliver(unavailable("the node is stopping"));
    s.parked.clear();
    s.parked_keys.clear();
    tell_stops(self);
  });
  auto& st = self->state;
  if (st.cfg.idle_timeout.count() > 0)
    self->delayed_send(self, st.cfg.idle_scan_interval, idle_tick_atom::value);
  return {
    [=](route_atom, entity_ref& ref, caf::message& payload) {
      auto& s = self->state;
      route(self, held_message{std::move(ref), self->make_response_promise(),
                               std::move(payload), "", s.cfg.node_id, ++s.next_seq});
    },
    [=](forward_atom, std::string& from, std::string& origin, std::uint64_t seq,
        entity_ref& ref, caf::message& payload) {
      route(self, held_message{std::move(ref), self->make_response_promise(),
                               std::move(payload), std::move(from), std::move(origin), seq});
    },
    [=](view_atom, cluster_view& v) { adopt_view(self, std::move(v)); },
    [=](fence_atom) { fence(self); },
    [=](hold_atom) { self->state.hold_on_peer_loss = true; },
    [=](knows_atom, const std::vector<std::string>& ids) {
      auto& s = self->state;
      std::vector<std::string> out;
      for (auto& id : ids)
        if (auto it = s.progress.find(id);
            s.has_view && it != s.progress.end() && it->second.adopted >= s.view.version)
          out.push_back(id); // it routes by our view (with us in it), or a newer one
      return out;
    },
    [=](lease_atom, caf::timespan until) {
      auto& s = self->state;
      auto t = caf::actor_clock::time_point{
          std::chrono::duration_cast<caf::actor_clock::duration_type>(until)};
      bool was_held = s.held;
      s.held = false;
      if (s.lease_until && t <= *s.lease_until && !was_held)
        return;
      s.lease_until = std::max(t, s.lease_until.value_or(t));
      unpark(self);
      maybe_hand_off(self);
    },
    [=](adopted_atom, const std::string& from, std::uint64_t version) {
      auto& pr = progress_of(self->state, from);
      pr.adopted = std::max(pr.adopted, version);
      on_peer_progress(self);
    },
    [=](handoff_atom, const std::string& from, std::uint64_t version) {
      auto& pr = progress_of(self->state, from);
      pr.handed_off = std::max(pr.handed_off, version);
      on_peer_progress(self);
    },
    [=](owner_atom, const entity_ref& ref) -> std::string {
      auto& s = self->state;
      if (!s.clustered())
        return "local";
      return s.has_view ? owner_of(s.view, ref) : std::string{};
    },
    [=](counts_atom) { return entity_counts(self->state); },
    [=](passivated_atom, const entity_ref& ref) {
      self->state.stats.passivations_total += 1;
      finished(self, ref);
    },
    [=](idle_atom, const entity_ref& ref) {
      // Only the current activation may ask: an older one's late request
      // must not stop its successor.
      auto& s = self->state;
      auto it = s.live.find(ref);
      if (it == s.live.end() || it->second.passivating ||
          it->second.handle.address() != self->current_sender())
        return;
      passivate(self, ref);
    },
    [=](watch_gateway_atom, const entity_ref& ref, const caf::actor& gw) {
      on_watch_gateway(self, ref, gw);
    },
    [=](unwatch_gateway_atom, const entity_ref& ref, const caf::actor_addr& gw) {
      on_unwatch_gateway(self, ref, gw);
    },
    [=](idle_tick_atom) {
      scan_idle(self);
      self->delayed_send(self, self->state.cfg.idle_scan_interval,
                         idle_tick_atom::value);
    },
    [=](stats_atom) {
      auto stats = self->state.stats;
      stats.live = self->state.live.size();
      stats.gateways_watched = self->state.gateway_holders.size();
      for (auto& kv : self->state.gateway_holders)
        stats.gateway_watches += kv.second.size();
      return stats;
    },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& sys, router_config cfg,
                        entity_factories factories, caf::actor journal) {
  COURIER_ASSERT(cfg.activations_max > 0);
  COURIER_ASSERT(cfg.buffer_max > 0);
  COURIER_ASSERT(cfg.peer_buffer_max > 0);
  return sys.spawn(router_behavior, std::move(cfg), std::move(factories),
                   std::move(journal));
}

} // namespace courier::cluster
