#include "cluster/router_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/entity.hpp"
#include "cluster/errors.hpp"
#include "core/assert.hpp"

#include <caf/all.hpp>

#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::cluster {
namespace {

using time_point = caf::actor_clock::time_point;

/// A message held while its entity passivates: the promise keeps the
/// original sender and request id, so the successor answers the caller.
struct held_message {
  caf::response_promise promise;
  caf::message payload;
};

struct activation {
  caf::actor handle;
  time_point last_used;
  std::list<entity_ref>::iterator lru_pos; ///< valid only while !passivating
  bool passivating = false;
  std::vector<held_message> held;
};

struct router_state {
  router_config cfg;
  entity_factories factories;
  caf::actor journal;
  std::unordered_map<entity_ref, activation> live;
  std::unordered_map<caf::actor_addr, entity_ref> by_addr;
  std::list<entity_ref> lru; ///< front: most recently used; passivating ones excluded
  router_stats stats;
  static inline const char* name = "courier.router";
};

using router_actor = caf::stateful_actor<router_state>;

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

void route(router_actor* self, const entity_ref& ref, caf::response_promise rp,
           caf::message payload) {
  auto& st = self->state;
  auto it = st.live.find(ref);
  activation* act = it != st.live.end() ? &it->second : activate(self, ref);
  if (act == nullptr) {
    st.stats.rejected_total += 1;
    rp.deliver(to_caf_error(
        {core::errc::not_found, "no entity kind '" + ref.kind + "'"}));
    return;
  }
  if (act->passivating) {
    if (act->held.size() >= st.cfg.buffer_max) {
      st.stats.rejected_total += 1;
      rp.deliver(to_caf_error(
          {core::errc::overloaded, "entity " + ref.str() + " is busy passivating"}));
      return;
    }
    st.stats.buffered_total += 1;
    act->held.push_back(held_message{std::move(rp), std::move(payload)});
    return;
  }
  touch(self, *act);
  st.stats.routed_total += 1;
  rp.delegate(act->handle, std::move(payload));
}

/// An activation has stopped (confirmed passivation, or it died): forget
/// it, and if messages were held for it, activate its successor with them.
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
    route(self, ref, std::move(msg.promise), std::move(msg.payload));
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
  self->state.cfg = cfg;
  self->state.factories = std::move(factories);
  self->state.journal = std::move(journal);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto it = self->state.by_addr.find(msg.source);
    if (it == self->state.by_addr.end())
      return; // already confirmed its passivation
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
  if (cfg.idle_timeout.count() > 0)
    self->delayed_send(self, cfg.idle_scan_interval, idle_tick_atom::value);
  return {
    [=](route_atom, entity_ref& ref, caf::message& payload) {
      route(self, ref, self->make_response_promise(), std::move(payload));
    },
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
  return sys.spawn(router_behavior, cfg, std::move(factories), std::move(journal));
}

} // namespace courier::cluster
