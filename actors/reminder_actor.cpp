#include "actors/reminder_actor.hpp"

#include "actors/journal_events.hpp"
#include "core/assert.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace courier::actors {

std::uint32_t reminder_shard_for(const cluster::entity_ref& target, std::uint32_t shards) {
  COURIER_ASSERT(shards > 0);
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : target.str()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<std::uint32_t>(h % shards);
}

cluster::entity_ref reminder_ref_for(const cluster::entity_ref& target,
                                     std::uint32_t shards) {
  return {kind::reminder, std::to_string(reminder_shard_for(target, shards))};
}

namespace {

/// entity -> itself: the timer of (target, tag) due at due_ms.
using r_fire_atom = caf::atom_constant<caf::atom("r.fire")>;

using timer_key = std::pair<cluster::entity_ref, std::string>;

struct reminder_state {
  std::map<timer_key, core::time_ms> timers;
  storage::version_t version = 0;
  static inline const char* name = "courier.reminder";
};

using reminder_actor = caf::stateful_actor<reminder_state>;

void apply(reminder_state& st, const reminder_event& ev) {
  timer_key key{{ev.target_kind, ev.target_key}, ev.tag};
  if (ev.what == reminder_event::kind::set)
    st.timers[key] = ev.due_ms;
  else
    st.timers.erase(key);
}

std::chrono::milliseconds until(const domain_services& svc, core::time_ms due_ms) {
  return std::chrono::milliseconds{std::max<core::time_ms>(0, due_ms - svc.clock->now_ms())};
}

void arm(reminder_actor* self, const domain_services& svc, const timer_key& key,
         core::time_ms due_ms) {
  self->delayed_send(self, until(svc, due_ms), r_fire_atom::value, key.first, key.second,
                     due_ms);
}

caf::result<msg::ok_reply> journal(reminder_actor* self, const cluster::entity_context& ctx,
                                   reminder_event ev,
                                   std::shared_ptr<const domain_services> svc) {
  auto rp = self->make_response_promise<msg::ok_reply>();
  cluster::persist(self, ctx, self->state.version, {encode(ev)},
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       rp.deliver(cluster::to_caf_error(r.err()));
                       if (r.err().code == core::errc::conflict)
                         self->quit(cluster::to_caf_error(r.err()));
                       return;
                     }
                     self->state.version = *r;
                     apply(self->state, ev);
                     if (ev.what == reminder_event::kind::set)
                       arm(self, *svc, {{ev.target_kind, ev.target_key}, ev.tag}, ev.due_ms);
                     rp.deliver(msg::ok_reply{});
                   });
  return rp;
}

caf::result<msg::ok_reply> on_set(reminder_actor* self, const cluster::entity_context& ctx,
                                  const reminder_set& req,
                                  std::shared_ptr<const domain_services> svc) {
  auto& st = self->state;
  timer_key key{req.target, req.tag};
  auto it = st.timers.find(key);
  if (it != st.timers.end() && it->second == req.due_ms)
    return msg::ok_reply{}; // a repeat
  if (it == st.timers.end() && st.timers.size() >= reminders_per_shard_max)
    return cluster::to_caf_error({core::errc::overloaded, "reminder shard full"});
  reminder_event ev;
  ev.what = reminder_event::kind::set;
  ev.target_kind = req.target.kind;
  ev.target_key = req.target.key;
  ev.tag = req.tag;
  ev.due_ms = req.due_ms;
  return journal(self, ctx, ev, std::move(svc));
}

caf::result<msg::ok_reply> on_cancel(reminder_actor* self,
                                     const cluster::entity_context& ctx,
                                     const reminder_cancel& req,
                                     std::shared_ptr<const domain_services> svc) {
  if (self->state.timers.count({req.target, req.tag}) == 0)
    return msg::ok_reply{};
  reminder_event ev;
  ev.what = reminder_event::kind::cancel;
  ev.target_kind = req.target.kind;
  ev.target_key = req.target.key;
  ev.tag = req.tag;
  return journal(self, ctx, ev, std::move(svc));
}

void on_fire(reminder_actor* self, const cluster::entity_context& ctx,
             const domain_services& svc, const cluster::entity_ref& target,
             const std::string& tag, core::time_ms due_ms) {
  auto& st = self->state;
  auto it = st.timers.find({target, tag});
  if (it == st.timers.end() || it->second != due_ms)
    return; // cancelled or moved since it was armed
  if (due_ms > svc.clock->now_ms())
    return arm(self, svc, it->first, due_ms); // woken early (passivation wake)
  // At least once: tell first, then forget; a crash in between re-fires.
  cluster::tell(self, ctx.router, target, reminder_fired{tag, due_ms});
  reminder_event ev;
  ev.what = reminder_event::kind::fired;
  ev.target_kind = target.kind;
  ev.target_key = target.key;
  ev.tag = tag;
  cluster::persist(self, ctx, st.version, {encode(ev)},
                   [=](core::result<storage::version_t> r) {
                     if (!r)
                       return; // stays set; fires again after recovery
                     self->state.version = *r;
                     apply(self->state, ev);
                   });
}

/// On passivation: have the router wake this shard at its next due time,
/// then confirm passivation and stop.
auto passivate(reminder_actor* self, const cluster::entity_context& ctx,
               std::shared_ptr<const domain_services> svc) {
  return [=](cluster::passivate_atom) {
    auto& timers = self->state.timers;
    if (!timers.empty()) {
      auto next = std::min_element(timers.begin(), timers.end(), [](auto& a, auto& b) {
                    return a.second < b.second;
                  })->second;
      self->delayed_send(ctx.router, until(*svc, next), cluster::route_atom::value,
                         ctx.self, caf::make_message(reminder_wake{}));
    }
    self->send(ctx.router, cluster::passivated_atom::value, ctx.self);
    self->quit();
  };
}

caf::behavior reminder_behavior(reminder_actor* self, cluster::entity_context ctx,
                                std::shared_ptr<const domain_services> svc) {
  cluster::recover(self, ctx, [=](storage::recovered_stream& rec) {
    for (auto& ev : rec.events) {
      auto decoded = decode_reminder_event(ev.payload);
      COURIER_ASSERT(decoded.ok());
      apply(self->state, *decoded);
    }
    self->state.version = rec.version;
    for (auto& kv : self->state.timers)
      arm(self, *svc, kv.first, kv.second);
  });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](const reminder_set& req) { return on_set(self, ctx, req, svc); },
    [=](const reminder_cancel& req) { return on_cancel(self, ctx, req, svc); },
    [=](reminder_wake) { return msg::ok_reply{}; },
    [=](r_fire_atom, const cluster::entity_ref& target, const std::string& tag,
        core::time_ms due_ms) { on_fire(self, ctx, *svc, target, tag, due_ms); },
    passivate(self, ctx, svc),
  };
}

} // namespace

caf::actor spawn_reminder_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                                std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services->clock != nullptr);
  return sys.spawn(reminder_behavior, ctx, std::move(services));
}

} // namespace courier::actors
