#include "cluster/router_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/entity.hpp"
#include "cluster/errors.hpp"
#include "core/assert.hpp"

#include <caf/all.hpp>

#include <deque>
#include <list>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::cluster {
namespace {

using time_point = caf::actor_clock::time_point;

/// A message held by the router: the promise keeps the original sender and
/// request id, so whoever finally handles it answers the caller. `from` is
/// the member that forwarded it ("" = sent on this node).
struct held_message {
  entity_ref ref;
  caf::response_promise promise;
  caf::message payload;
  std::string from;
};

struct activation {
  caf::actor handle;
  time_point last_used;
  std::list<entity_ref>::iterator lru_pos; ///< valid only while !passivating
  bool passivating = false;
  std::vector<held_message> held;
};

/// What this router knows of another member.
struct peer {
  caf::actor router;
  bool reachable = true;          ///< false once its connection broke
  std::deque<held_message> held;  ///< for its keys while unreachable, or
                                  ///< for keys it hands to us
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

struct router_state {
  router_config cfg;
  entity_factories factories;
  caf::actor journal;
  std::unordered_map<entity_ref, activation> live;
  std::unordered_map<caf::actor_addr, entity_ref> by_addr;
  std::list<entity_ref> lru; ///< front: most recently used; passivating ones excluded
  router_stats stats;

  // Cluster mode only.
  bool has_view = false;
  cluster_view view;
  cluster_view prev;                  ///< the view before `view`
  std::map<std::string, peer> peers;  ///< every other member of `view`
  std::map<std::string, member_progress> progress;
  std::deque<held_message> no_view;   ///< before the first view
  std::deque<held_message> lagging;   ///< bounced between members whose views differ
  std::uint64_t handed_off = 0;       ///< view version we sent handoff for

  bool clustered() const { return !cfg.node_id.empty(); }
  static inline const char* name = "courier.router";
};

using router_actor = caf::stateful_actor<router_state>;

void route(router_actor* self, held_message msg);

caf::error unavailable(const std::string& why) {
  return to_caf_error({core::errc::unavailable, why});
}

/// Holds `msg` in `queue` if it has room; otherwise answers it unavailable.
void hold(router_actor* self, std::deque<held_message>& queue, held_message msg,
          const char* why) {
  auto& st = self->state;
  if (queue.size() >= st.cfg.peer_buffer_max) {
    st.stats.rejected_total += 1;
    msg.promise.deliver(unavailable("entity " + msg.ref.str() + " is unreachable: " + why));
    return;
  }
  st.stats.buffered_total += 1;
  queue.push_back(std::move(msg));
}

void reroute_all(router_actor* self, std::deque<held_message> queue) {
  for (auto& msg : queue)
    route(self, std::move(msg));
}

// -- local activations -----------------------------------------------------

void passivate(router_actor* self, activation& act) {
  COURIER_ASSERT(!act.passivating);
  act.passivating = true;
  self->state.lru.erase(act.lru_pos);
  self->send(act.handle, passivate_atom::value);
}

/// Passivates the least recently used live activations above the limit.
void enforce_limit(router_actor* self) {
  auto& st = self->state;
  while (st.lru.size() >= st.cfg.activations_max && !st.lru.empty()) {
    auto ref = st.lru.back();
    passivate(self, st.live.at(ref));
  }
}

activation* activate(router_actor* self, const entity_ref& ref) {
  auto& st = self->state;
  auto factory = st.factories.find(ref.kind);
  if (factory == st.factories.end())
    return nullptr;
  enforce_limit(self);
  entity_context ctx{ref, caf::actor_cast<caf::actor>(self), st.journal};
  auto handle = factory->second(self->system(), ctx);
  COURIER_ASSERT(handle != nullptr);
  self->monitor(handle);
  st.lru.push_front(ref);
  auto& act = st.live[ref];
  act = activation{handle, self->clock().now(), st.lru.begin(), false, {}};
  st.by_addr.emplace(handle.address(), ref);
  st.stats.activations_total += 1;
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

/// May this router hand off for the current view? Everything it no longer
/// owns has stopped, and every reachable member has adopted the view (so
/// whatever they forwarded here under an older view has arrived and been
/// passed on).
void maybe_hand_off(router_actor* self) {
  auto& st = self->state;
  if (!st.clustered() || !st.has_view || st.handed_off >= st.view.version)
    return;
  for (auto& kv : st.live)
    if (owner_of(st.view, kv.first) != st.cfg.node_id)
      return;
  for (auto& kv : st.peers)
    if (kv.second.reachable && st.progress[kv.first].adopted < st.view.version)
      return;
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
  if (!p.reachable) {
    hold(self, p.held, std::move(msg), "its node is not reachable");
    return;
  }
  if (msg.from == owner) {
    // It sent this to us, so its view makes us the owner and ours makes it
    // the owner: wait for the next view instead of bouncing.
    hold(self, st.lagging, std::move(msg), "members disagree on the view");
    return;
  }
  st.stats.forwarded_total += 1;
  msg.promise.delegate(p.router, forward_atom::value, st.cfg.node_id, std::move(msg.ref),
                       std::move(msg.payload));
}

void route(router_actor* self, held_message msg) {
  auto& st = self->state;
  if (!st.clustered())
    return deliver_local(self, std::move(msg));
  if (!st.has_view)
    return hold(self, st.no_view, std::move(msg), "the node has not joined yet");
  auto owner = owner_of(st.view, msg.ref);
  if (owner.empty()) {
    st.stats.rejected_total += 1;
    msg.promise.deliver(unavailable("no cluster member may own " + msg.ref.str()));
    return;
  }
  if (owner != st.cfg.node_id) {
    // A local activation still stopping goes first: queue behind it.
    auto it = st.live.find(msg.ref);
    if (it != st.live.end()) {
      if (!it->second.passivating)
        passivate(self, it->second);
      return deliver_local(self, std::move(msg));
    }
    return forward(self, owner, std::move(msg));
  }
  // Ours. If it was someone else's in the previous view and that member is
  // still alive, it may still run the entity or hold messages for it: only
  // its own forwards go through until it hands off.
  auto old_owner = owner_of(st.prev, msg.ref);
  if (!old_owner.empty() && old_owner != st.cfg.node_id && msg.from != old_owner) {
    auto p = st.peers.find(old_owner);
    if (p != st.peers.end() && st.progress[old_owner].handed_off < st.view.version)
      return hold(self, p->second.held, std::move(msg), "its previous owner is handing off");
  }
  deliver_local(self, std::move(msg));
}

void adopt_view(router_actor* self, cluster_view v) {
  auto& st = self->state;
  if (st.has_view && v.version <= st.view.version)
    return; // stale or repeated
  st.prev = st.has_view ? std::move(st.view) : cluster_view{};
  st.view = std::move(v);
  st.has_view = true;
  st.stats.view_version = st.view.version;
  // Members that left: whatever waited for them is routed anew.
  std::deque<held_message> released;
  for (auto it = st.peers.begin(); it != st.peers.end();) {
    auto* m = find_member(st.view, it->first);
    if (m == nullptr || m->router != it->second.router) {
      for (auto& msg : it->second.held)
        released.push_back(std::move(msg));
      if (m == nullptr) {
        it = st.peers.erase(it);
        continue;
      }
      // A new incarnation of the member: a fresh connection.
      it->second = peer{};
    }
    ++it;
  }
  for (auto& m : st.view.members) {
    if (m.id == st.cfg.node_id)
      continue;
    auto& p = st.peers[m.id];
    if (!p.router) {
      p.router = m.router;
      if (p.router)
        self->monitor(p.router);
      else
        p.reachable = false;
    }
    if (p.reachable)
      self->send(p.router, adopted_atom::value, st.cfg.node_id, st.view.version);
  }
  // Give up what is no longer ours; held messages follow to the new owner.
  std::vector<entity_ref> moving;
  for (auto& kv : st.live)
    if (!kv.second.passivating && owner_of(st.view, kv.first) != st.cfg.node_id)
      moving.push_back(kv.first);
  for (auto& ref : moving)
    passivate(self, st.live.at(ref));
  // Anything unreachable peers held, waited-for peers that already handed
  // off this view, and bounced messages: route again by the new view.
  for (auto& kv : st.peers) {
    auto& p = kv.second;
    if (!p.reachable || st.progress[kv.first].handed_off >= st.view.version) {
      for (auto& msg : p.held)
        released.push_back(std::move(msg));
      p.held.clear();
    }
  }
  for (auto& msg : st.lagging)
    released.push_back(std::move(msg));
  st.lagging.clear();
  for (auto& msg : st.no_view)
    released.push_back(std::move(msg));
  st.no_view.clear();
  // Re-holding must not find these still queued: route only after clearing.
  for (auto& msg : released)
    route(self, std::move(msg));
  for (auto& ref : st.cfg.resident)
    if (owner_of(st.view, ref) == st.cfg.node_id && owner_of(st.prev, ref) != st.cfg.node_id)
      self->send(self, route_atom::value, ref, st.cfg.resident_wake);
  maybe_hand_off(self);
}

/// The progress record of `id`, forgetting departed members if too many.
member_progress& progress_of(router_state& st, const std::string& id) {
  if (st.progress.size() >= progress_max && st.progress.count(id) == 0)
    for (auto it = st.progress.begin(); it != st.progress.end();)
      it = find_member(st.view, it->first) ? std::next(it) : st.progress.erase(it);
  return st.progress[id];
}

void on_peer_handoff(router_actor* self, const std::string& from, std::uint64_t version) {
  auto& st = self->state;
  auto& pr = progress_of(st, from);
  pr.handed_off = std::max(pr.handed_off, version);
  auto it = st.peers.find(from);
  if (it == st.peers.end())
    return;
  auto& p = it->second;
  if (pr.handed_off < st.view.version || !p.reachable)
    return;
  auto held = std::move(p.held);
  p.held.clear();
  reroute_all(self, std::move(held));
}

void on_peer_down(router_actor* self, const caf::actor_addr& addr) {
  auto& st = self->state;
  for (auto& kv : st.peers) {
    if (kv.second.router.address() != addr)
      continue;
    kv.second.reachable = false;
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
  if (!it->second.passivating)
    st.lru.erase(it->second.lru_pos);
  st.by_addr.erase(it->second.handle.address());
  st.live.erase(it);
  for (auto& msg : held)
    route(self, std::move(msg));
  maybe_hand_off(self);
}

void scan_idle(router_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::size_t done = 0;
  while (!st.lru.empty() && done < st.cfg.idle_passivations_per_scan_max) {
    auto ref = st.lru.back();
    auto& act = st.live.at(ref);
    if (act.last_used + st.cfg.idle_timeout > now)
      break;
    passivate(self, act);
    ++done;
  }
}

caf::behavior router_behavior(router_actor* self, router_config cfg,
                              entity_factories factories, caf::actor journal) {
  self->state.cfg = std::move(cfg);
  self->state.factories = std::move(factories);
  self->state.journal = std::move(journal);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto it = self->state.by_addr.find(msg.source);
    if (it == self->state.by_addr.end()) {
      on_peer_down(self, msg.source);
      return; // a peer, or an activation that already confirmed passivation
    }
    if (msg.reason)
      self->state.stats.crashed_total += 1;
    auto ref = it->second;
    finished(self, ref);
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& kv : self->state.live)
      self->send_exit(kv.second.handle, msg.reason);
    self->quit(msg.reason);
  });
  auto& st = self->state;
  if (st.cfg.idle_timeout.count() > 0)
    self->delayed_send(self, st.cfg.idle_scan_interval, idle_tick_atom::value);
  return {
    [=](route_atom, entity_ref& ref, caf::message& payload) {
      route(self, held_message{std::move(ref), self->make_response_promise(),
                               std::move(payload), ""});
    },
    [=](forward_atom, std::string& from, entity_ref& ref, caf::message& payload) {
      route(self, held_message{std::move(ref), self->make_response_promise(),
                               std::move(payload), std::move(from)});
    },
    [=](view_atom, cluster_view& v) { adopt_view(self, std::move(v)); },
    [=](adopted_atom, const std::string& from, std::uint64_t version) {
      auto& pr = progress_of(self->state, from);
      pr.adopted = std::max(pr.adopted, version);
      maybe_hand_off(self);
    },
    [=](handoff_atom, const std::string& from, std::uint64_t version) {
      on_peer_handoff(self, from, version);
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
    [=](idle_tick_atom) {
      scan_idle(self);
      self->delayed_send(self, self->state.cfg.idle_scan_interval,
                         idle_tick_atom::value);
    },
    [=](stats_atom) {
      auto stats = self->state.stats;
      stats.live = self->state.live.size();
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
