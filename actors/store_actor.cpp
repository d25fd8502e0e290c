#include "actors/store_actor.hpp"

#include "actors/journal_events.hpp"
#include "actors/order_state.hpp"
#include "actors/radius_policy.hpp"
#include "core/assert.hpp"
#include "geo/indexing.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

namespace courier::actors {

bool gateway_set::add(const caf::actor& gw) {
  COURIER_ASSERT(gw != nullptr);
  if (std::find(gws_.begin(), gws_.end(), gw) != gws_.end())
    return true;
  if (gws_.size() >= max_)
    return false;
  gws_.push_back(gw);
  return true;
}

bool gateway_set::remove(const caf::actor_addr& addr) {
  auto it = std::find_if(gws_.begin(), gws_.end(),
                         [&](const caf::actor& gw) { return gw.address() == addr; });
  if (it == gws_.end())
    return false;
  gws_.erase(it);
  return true;
}

std::string region_cell_of(double lat, double lng, int res) {
  auto c = geo::lat_lng_to_cell(lat, lng, res);
  return c ? geo::cell_to_string(*c) : std::string{};
}

namespace {

struct store_state {
  bool exists = false;
  msg::lat_lng location;
  bool open = false;
  std::int64_t base_radius_m = 0;
  radius_policy radius;
  std::string cell;
  storage::version_t version = 0;
  gateway_set subscribers{0};
  std::deque<std::string> recent; ///< notification keys, bounded
  static inline const char* name = "courier.store";
};

using store_actor = caf::stateful_actor<store_state>;

caf::error err(core::errc code, std::string text) {
  return cluster::to_caf_error({code, std::move(text)});
}

void apply(store_state& st, const store_event& ev, int region_res) {
  if (ev.what == store_event::kind::upserted) {
    st.exists = true;
    st.location = {ev.lat, ev.lng};
    st.open = ev.open;
    st.base_radius_m = ev.base_radius_m;
    st.cell = region_cell_of(ev.lat, ev.lng, region_res);
    return;
  }
  st.radius.apply(ev.trigger, ev.trigger_radius_m, st.base_radius_m);
}

/// Journals `ev`, applies it, then delivers what `reply()` makes.
template <class Reply>
caf::result<caf::message> journal_then(store_actor* self, const cluster::entity_context& ctx,
                                       int region_res, store_event ev, Reply reply) {
  auto rp = self->make_response_promise();
  cluster::persist(self, ctx, self->state.version, {encode(ev)},
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       rp.deliver(cluster::to_caf_error(r.err()));
                       if (r.err().code == core::errc::conflict) { // re-read
                         ask_to_resubscribe(self, self->state.subscribers.all(),
                                            ctx.self.str());
                         self->quit(cluster::to_caf_error(r.err()));
                       }
                       return;
                     }
                     self->state.version = *r;
                     apply(self->state, ev, region_res);
                     rp.deliver(caf::make_message(reply()));
                   });
  return rp;
}

caf::result<caf::message> on_upsert(store_actor* self, const cluster::entity_context& ctx,
                                    int region_res, const store_upsert_cmd& cmd) {
  if (cmd.who.role != msg::role::admin)
    return err(core::errc::forbidden, "only an admin upserts stores");
  const auto& b = cmd.body;
  if (b.store_id.str() != ctx.self.key)
    return err(core::errc::bad_request, "store id does not match");
  bool in_range = std::isfinite(b.lat) && std::isfinite(b.lng) && std::fabs(b.lat) <= 90 &&
                  std::fabs(b.lng) <= 180;
  auto radius_m = static_cast<double>(b.radius_m); // whole metres on the wire
  if (!in_range || !(radius_m > 0) || radius_m > 1e6)
    return err(core::errc::bad_request, "bad location or radius");
  store_event ev;
  ev.what = store_event::kind::upserted;
  ev.lat = b.lat;
  ev.lng = b.lng;
  ev.base_radius_m = static_cast<std::int64_t>(std::llround(radius_m));
  ev.open = b.open;
  return journal_then(self, ctx, region_res, ev, [] { return msg::ok_reply{}; });
}

caf::result<caf::message> on_trigger(store_actor* self, const cluster::entity_context& ctx,
                                     int region_res, const radius_trigger_cmd& cmd) {
  if (cmd.who.role != msg::role::admin)
    return err(core::errc::forbidden, "only an admin triggers radius changes");
  if (!self->state.exists)
    return err(core::errc::not_found, "no store " + ctx.self.key);
  const auto& b = cmd.body;
  bool restore = b.trigger == msg::radius_trigger_kind::restore;
  auto radius_m = static_cast<double>(b.radius_m);
  if (!restore && (!(radius_m > 0) || radius_m > 1e6))
    return err(core::errc::bad_request, "radius_m must be positive");
  store_event ev;
  ev.what = store_event::kind::trigger;
  ev.trigger = b.trigger;
  ev.trigger_radius_m = restore ? 0 : static_cast<std::int64_t>(std::llround(radius_m));
  // The outcome is computed on a copy; the state changes only once journaled.
  auto preview = self->state.radius;
  auto out = preview.apply(ev.trigger, ev.trigger_radius_m, self->state.base_radius_m);
  auto target = b.target;
  return journal_then(self, ctx, region_res, ev, [=] {
    msg::radius_result res;
    res.target = target;
    res.radius_m = static_cast<decltype(res.radius_m)>(out.effective_m);
    res.applied = out.applied;
    return res;
  });
}

caf::result<store_info> on_check(store_actor* self, const cluster::entity_context& ctx,
                                 const store_check& chk) {
  auto& st = self->state;
  if (!st.exists)
    return err(core::errc::not_found, "no store " + ctx.self.key);
  store_info info;
  info.store_id = core::store_id{ctx.self.key};
  info.location = st.location;
  info.base_radius_m = st.base_radius_m;
  info.effective_radius_m = st.radius.effective(st.base_radius_m);
  info.open = st.open;
  info.dropoff_distance_m = distance_m({st.location.lat, st.location.lng},
                                       {chk.dropoff.lat, chk.dropoff.lng});
  if (st.cell.empty())
    return info;
  auto rp = self->make_response_promise<store_info>();
  cluster::ask(self, ctx.router, region_radius_timeout, region_ref(st.cell),
               region_radius_query{})
      .then(
          [=](const region_radius& cap) mutable {
            auto out = info;
            if (cap.radius_m != none_i64 && cap.radius_m > 0)
              out.effective_radius_m = std::min(out.effective_radius_m, cap.radius_m);
            rp.deliver(out);
          },
          [=](caf::error&) mutable { rp.deliver(info); });
  return rp;
}

std::string notify_key(const store_notify& n) {
  switch (n.kind) {
    case store_notify::what::new_order: return "n:" + n.new_order.order_id.str();
    case store_notify::what::status:
      return "s:" + n.status.order_id.str() + ":" + std::to_string(n.status.version);
    case store_notify::what::arriving: return "a:" + n.arriving.order_id.str();
  }
  return {};
}

void on_notify(store_actor* self, const cluster::entity_context& ctx,
               const store_notify& n) {
  auto& st = self->state;
  auto key = notify_key(n);
  if (std::find(st.recent.begin(), st.recent.end(), key) != st.recent.end())
    return; // an outbox repeat
  st.recent.push_back(key);
  if (st.recent.size() > store_notify_dedup_max)
    st.recent.pop_front();
  auto topic = ctx.self.str();
  switch (n.kind) {
    case store_notify::what::new_order: st.subscribers.push(self, topic, n.new_order); break;
    case store_notify::what::status: st.subscribers.push(self, topic, n.status); break;
    case store_notify::what::arriving: st.subscribers.push(self, topic, n.arriving); break;
  }
}

caf::result<msg::ok_reply> on_subscribe(store_actor* self,
                                        const cluster::entity_context& ctx,
                                        const subscribe_cmd& cmd) {
  bool own = cmd.who.role == msg::role::store && cmd.who.id == ctx.self.key;
  if (!own && cmd.who.role != msg::role::admin)
    return err(core::errc::forbidden, "not this store");
  if (cmd.gateway == nullptr)
    return err(core::errc::bad_request, "no gateway");
  if (!self->state.subscribers.add(cmd.gateway))
    return err(core::errc::overloaded, "too many subscribers");
  self->monitor(cmd.gateway);
  return msg::ok_reply{};
}

caf::behavior store_behavior(store_actor* self, cluster::entity_context ctx,
                             std::shared_ptr<const domain_services> services) {
  int res = services->cfg.region_res;
  self->state.subscribers = gateway_set{services->cfg.subscribers_max};
  cluster::recover(self, ctx, [=](storage::recovered_stream& rec) {
    for (auto& ev : rec.events) {
      auto decoded = decode_store_event(ev.payload);
      COURIER_ASSERT(decoded.ok());
      apply(self->state, *decoded, res);
    }
    self->state.version = rec.version;
  });
  self->set_down_handler(
      [=](caf::down_msg& dm) { self->state.subscribers.remove(dm.source); });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](const store_upsert_cmd& cmd) { return on_upsert(self, ctx, res, cmd); },
    [=](const radius_trigger_cmd& cmd) { return on_trigger(self, ctx, res, cmd); },
    [=](const store_check& chk) { return on_check(self, ctx, chk); },
    [=](const subscribe_cmd& cmd) { return on_subscribe(self, ctx, cmd); },
    [=](const unsubscribe_cmd& cmd) {
      self->state.subscribers.remove(cmd.gateway.address());
      return msg::ok_reply{};
    },
    [=](const store_notify& n) {
      on_notify(self, ctx, n);
      return msg::ok_reply{};
    },
    cluster::passivation_handler(self, ctx, [=] {
      ask_to_resubscribe(self, self->state.subscribers.all(), ctx.self.str());
    }),
  };
}

} // namespace

caf::actor spawn_store_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services) {
  return sys.spawn(store_behavior, ctx, std::move(services));
}

} // namespace courier::actors
