#include "actors/region_actor.hpp"

#include "actors/dispatch_actor.hpp"
#include "actors/history_actor.hpp"
#include "actors/journal_events.hpp"
#include "actors/radius_policy.hpp"
#include "actors/rider_actor.hpp"
#include "actors/order_state.hpp"
#include "actors/region_index.hpp"
#include "cluster/entity.hpp"
#include "core/assert.hpp"
#include "geo/cell.hpp"
#include "geo/hierarchy.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace courier::actors {

namespace {

using r_tick_atom = caf::atom_constant<caf::atom("r.tick")>;
using r_prune_atom = caf::atom_constant<caf::atom("r.prune")>;

constexpr std::chrono::seconds region_ask_timeout{5};

struct region_actor_state {
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  bool valid = false; ///< the key is a valid H3 cell
  geo::cell cell;
  int res = -1;
  storage::version_t version = 0;
  region_index index{region_riders_max};
  order_stats orders{region_orders_max};
  radius_policy radius;
  bool split = false;
  split_directory dir;
  std::vector<caf::actor> subscribers;
  bool tick_armed = false;
  bool prune_armed = false;
  msg::region_stats last_pushed;
  std::uint64_t dropped = 0; ///< updates refused (full, foreign position)
  std::uint64_t pruned = 0;  ///< riders dropped after cfg.region_rider_silence
  // What the live map draws: every rider (also while split, when the
  // index lives in the children) and every active order, bounded.
  std::unordered_map<std::string, msg::map_rider> map_riders;
  std::unordered_map<std::string, msg::map_order> map_orders;
  bool map_dirty = false;
  static inline const char* name = "courier.region";
};

using region_actor = caf::stateful_actor<region_actor_state>;

caf::error fail(core::errc code, std::string text) {
  return cluster::to_caf_error(core::make_error(code, std::move(text)));
}

const domain_config& cfg_of(region_actor* self) { return self->state.svc->cfg; }

core::time_ms now_ms(region_actor* self) { return self->state.svc->clock->now_ms(); }

rider_mode mode_of(rider_state s) {
  return s == rider_state::available ? rider_mode::available : rider_mode::busy;
}

region_rider_update to_update(const indexed_rider& r) {
  return region_rider_update{core::rider_id{r.rider_id}, r.lat, r.lng, r.at_ms,
                             r.mode == rider_mode::available ? rider_state::available
                                                             : rider_state::busy};
}

template <class Done>
void journal(region_actor* self, const region_event& event, Done done) {
  cluster::persist(self, self->state.ctx, self->state.version, {encode(event)},
                   [=](core::result<storage::version_t> r) mutable {
                     if (r)
                       self->state.version = *r;
                     done(r.ok());
                   });
}

// -- stats ------------------------------------------------------------------------

/// Riders and orders one region keeps for the live map (and pushes).
constexpr std::size_t map_riders_max = 2000;
constexpr std::size_t map_orders_max = 2000;
/// Of those, how many one region_stats message carries: ~80 bytes per rider
/// and ~100 per order in JSON keep a message inside one 64 KiB frame (the
/// hot spot holds 1,000 riders); beyond, `truncated` says the lists are cut.
constexpr std::size_t map_riders_per_message_max = 250;
constexpr std::size_t map_orders_per_message_max = 250;

void map_rider_moved(region_actor* self, const region_rider_update& u) {
  auto& m = self->state.map_riders;
  auto id = u.rider_id.str();
  if (m.size() >= map_riders_max && m.count(id) == 0)
    return;
  m[id] = msg::map_rider{u.rider_id, u.lat, u.lng,
                         u.state == rider_state::available ? "available" : "busy"};
  self->state.map_dirty = true;
}

void map_order_changed(region_actor* self, const region_order_delta& d) {
  auto& m = self->state.map_orders;
  auto id = d.order_id.str();
  if (is_terminal(d.to)) {
    self->state.map_dirty |= m.erase(id) > 0;
    return;
  }
  if (m.size() >= map_orders_max && m.count(id) == 0)
    return;
  m[id] = msg::map_order{d.order_id, d.to, d.lat, d.lng};
  self->state.map_dirty = true;
}

msg::region_stats stats_of(region_actor* self) {
  auto& st = self->state;
  msg::region_stats s;
  for (auto& kv : st.map_riders) {
    if (s.riders.size() == map_riders_per_message_max) {
      s.truncated = true;
      break;
    }
    s.riders.push_back(kv.second);
  }
  for (auto& kv : st.map_orders) {
    if (s.orders.size() == map_orders_per_message_max) {
      s.truncated = true;
      break;
    }
    s.orders.push_back(kv.second);
  }
  s.cell = st.ctx.self.key;
  s.riders_available = st.split ? st.dir.available() : st.index.available();
  s.riders_busy = st.split ? st.dir.busy() : st.index.busy();
  s.orders_by_status = st.orders.by_status();
  s.at_ms = st.svc->clock->now_ms();
  return s;
}

bool same_counts(const msg::region_stats& a, const msg::region_stats& b) {
  return a.riders_available == b.riders_available && a.riders_busy == b.riders_busy &&
         a.orders_by_status == b.orders_by_status;
}

/// Sends `atom` to itself after `delay` unless one is on its way (`armed`;
/// its handler clears it): one timer per purpose, however many triggers.
template <class Atom>
void arm_once(region_actor* self, bool& armed, std::chrono::milliseconds delay, Atom atom) {
  if (armed)
    return;
  armed = true;
  self->delayed_send(self, delay, atom);
}

/// Something changed: push at the next tick (at most one per interval).
void stats_changed(region_actor* self) {
  auto& st = self->state;
  if (!st.subscribers.empty())
    arm_once(self, st.tick_armed, cfg_of(self).region_stats_interval, r_tick_atom::value);
}

void on_tick(region_actor* self) {
  auto& st = self->state;
  st.tick_armed = false;
  auto s = stats_of(self);
  if (same_counts(s, st.last_pushed) && !st.map_dirty)
    return;
  st.map_dirty = false;
  st.last_pushed = s;
  auto topic = "region:" + st.ctx.self.key;
  for (auto& gw : st.subscribers)
    self->send(gw, push_atom::value, topic, s);
}

// -- split and merge ----------------------------------------------------------------

std::string child_of(region_actor* self, double lat, double lng) {
  auto& st = self->state;
  auto c = region_cell_of(lat, lng, cfg_of(self).rider_index_res, st.res + 1);
  if (!c)
    return {};
  auto parent = geo::cell_to_parent(*c, st.res);
  if (!parent || *parent != st.cell)
    return {}; // a position outside this cell: not ours to place
  return geo::cell_to_string(*c);
}

/// Places the rider in the child of its position; `heard_ms` is when this
/// cell last heard of it (now for an update, older for a rider handed over).
void forward_update(region_actor* self, const region_rider_update& u, core::time_ms heard_ms) {
  auto& st = self->state;
  auto child = child_of(self, u.lat, u.lng);
  if (child.empty()) {
    st.dropped += 1;
    return;
  }
  auto route = st.dir.place(u.rider_id.str(), child, mode_of(u.state), heard_ms);
  if (!route.left_child.empty())
    cluster::tell(self, st.ctx.router, region_ref(route.left_child),
                  region_rider_leave{u.rider_id});
  cluster::tell(self, st.ctx.router, region_ref(route.child), u);
}

bool may_split(region_actor* self) {
  auto& st = self->state;
  return st.valid && !st.split && st.res == cfg_of(self).region_res &&
         st.res < geo::res_max &&
         split_directory::should_split(st.index.size(), cfg_of(self).region_split_riders);
}

void split_now(region_actor* self) {
  journal(self, region_event{region_event::kind::split, {}, 0}, [=](bool ok) {
    if (!ok)
      return; // stays whole; the next update tries again
    auto& st = self->state;
    auto children = geo::cell_to_children(st.cell, st.res + 1);
    COURIER_ASSERT(children.ok());
    st.split = true;
    for (auto c : *children) {
      auto key = geo::cell_to_string(c);
      st.dir.add_child(key);
      cluster::tell(self, st.ctx.router, region_ref(key), region_reset{});
    }
    auto riders = st.index.all();
    st.index.clear();
    for (auto& r : riders)
      forward_update(self, to_update(r), r.heard_ms); // a split resets no silence
    COURIER_ASSERT(st.dir.size() + st.dropped >= riders.size());
  });
}

/// Asks every child for its riders, blocking other messages until all have
/// answered; then `done(riders)`.
template <class Done>
void collect_children(region_actor* self, bool drain, Done done) {
  auto& st = self->state;
  auto pending = std::make_shared<std::size_t>(st.dir.children().size());
  auto got = std::make_shared<std::vector<region_rider_update>>();
  if (*pending == 0) {
    done(*got);
    return;
  }
  for (auto& child : st.dir.children()) {
    cluster::ask(self, st.ctx.router, region_ask_timeout, region_ref(child),
                 region_handover_req{drain})
        .await(
            [=](region_handover& h) mutable {
              got->insert(got->end(), h.riders.begin(), h.riders.end());
              if (--*pending == 0)
                done(*got);
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                done(*got);
            });
  }
}

void merge_now(region_actor* self) {
  collect_children(self, true, [=](const std::vector<region_rider_update>& riders) {
    journal(self, region_event{region_event::kind::merged, {}, 0}, [=](bool ok) {
      auto& st = self->state;
      if (!ok)
        return; // children are empty now; riders come back with their next updates
      // Only riders the directory still holds, heard of when it last did: a
      // child may still hold one this cell pruned or saw leave.
      std::vector<indexed_rider> back;
      for (auto& u : riders)
        if (auto heard = st.dir.heard_ms(u.rider_id.str()))
          back.push_back(indexed_rider{u.rider_id.str(), u.lat, u.lng, u.at_ms,
                                       mode_of(u.state), *heard});
      st.split = false;
      st.dir.clear();
      for (auto& r : back)
        if (st.index.upsert(r) == region_index::upsert_outcome::full)
          st.dropped += 1;
      stats_changed(self);
    });
  });
}

void maybe_merge(region_actor* self) {
  auto& st = self->state;
  if (st.split && split_directory::should_merge(st.dir.size(), cfg_of(self).region_merge_riders))
    merge_now(self);
}

// -- riders -------------------------------------------------------------------------

void on_leave(region_actor* self, const core::rider_id& id) {
  auto& st = self->state;
  st.map_dirty |= st.map_riders.erase(id.str()) > 0;
  if (st.split) {
    auto child = st.dir.remove(id.str());
    if (!child.empty())
      cluster::tell(self, st.ctx.router, region_ref(child), region_rider_leave{id});
    maybe_merge(self);
  } else {
    st.index.remove(id.str());
  }
  stats_changed(self);
}

void arm_prune(region_actor* self) {
  arm_once(self, self->state.prune_armed, cfg_of(self).region_prune_interval,
           r_prune_atom::value);
}

/// Drops riders not heard from for cfg.region_rider_silence: a rider whose
/// app died (or lost its connection for good) never sends offline or a
/// leave. At most region_prune_scan_max riders are looked at per tick; the
/// timer runs only while the cell holds riders.
void on_prune(region_actor* self) {
  auto& st = self->state;
  st.prune_armed = false;
  auto before = now_ms(self) - cfg_of(self).region_rider_silence.count();
  std::size_t gone = 0;
  if (st.split) {
    // The children sweep on their own too; the directory is what counts
    // and routes here, so it is pruned and the children told.
    for (auto& [id, child] : st.dir.prune_silent(before, region_prune_scan_max)) {
      st.map_dirty |= st.map_riders.erase(id) > 0;
      cluster::tell(self, st.ctx.router, region_ref(child),
                    region_rider_leave{core::rider_id{id}});
      ++gone;
    }
    if (gone > 0)
      maybe_merge(self);
  } else {
    for (auto& id : st.index.prune_silent(before, region_prune_scan_max)) {
      st.map_dirty |= st.map_riders.erase(id) > 0;
      ++gone;
    }
  }
  st.pruned += gone;
  if (gone > 0)
    stats_changed(self);
  if (st.split ? st.dir.size() > 0 : st.index.size() > 0)
    arm_prune(self);
}

void on_update(region_actor* self, const region_rider_update& u) {
  auto& st = self->state;
  if (!st.valid)
    return;
  if (u.state == rider_state::offline) {
    on_leave(self, u.rider_id);
    return;
  }
  map_rider_moved(self, u);
  auto heard = now_ms(self);
  if (st.split) {
    forward_update(self, u, heard);
    maybe_merge(self);
  } else {
    auto out = st.index.upsert(
        indexed_rider{u.rider_id.str(), u.lat, u.lng, u.at_ms, mode_of(u.state), heard});
    if (out == region_index::upsert_outcome::full)
      st.dropped += 1;
    if (may_split(self))
      split_now(self);
  }
  arm_prune(self);
  stats_changed(self);
}

caf::result<region_candidates> on_find(region_actor* self, region_find_riders& q) {
  auto& st = self->state;
  if (!st.split) {
    rider_search s{q.lat, q.lng, q.radius_m, q.limit,
                   st.svc->clock->now_ms() - cfg_of(self).rider_position_fresh.count(), {}};
    for (auto& x : q.exclude)
      s.exclude.insert(x.str());
    region_candidates out;
    for (auto& n : st.index.nearest(s))
      out.riders.push_back(
          rider_candidate{core::rider_id{n.rider_id}, n.lat, n.lng, n.distance_m});
    return out;
  }
  auto rp = self->make_response_promise<region_candidates>();
  auto pending = std::make_shared<std::size_t>(st.dir.children().size());
  auto got = std::make_shared<region_candidates>();
  auto limit = q.limit;
  auto finish = [=]() mutable {
    auto& v = got->riders;
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m
                                          : a.rider_id < b.rider_id;
    });
    if (v.size() > limit)
      v.resize(limit);
    rp.deliver(std::move(*got));
  };
  for (auto& child : st.dir.children()) {
    cluster::ask(self, st.ctx.router, region_ask_timeout, region_ref(child), q)
        .then(
            [=](region_candidates& c) mutable {
              got->riders.insert(got->riders.end(), c.riders.begin(), c.riders.end());
              if (--*pending == 0)
                finish();
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                finish();
            });
  }
  return rp;
}

region_handover on_handover(region_actor* self, const region_handover_req& req) {
  auto& st = self->state;
  region_handover out;
  for (auto& r : st.index.all())
    out.riders.push_back(to_update(r));
  if (req.drain) {
    st.index.clear();
    stats_changed(self);
  }
  return out;
}

// -- admin ----------------------------------------------------------------------------

msg::radius_result radius_reply(region_actor* self, std::int64_t effective, bool applied) {
  msg::radius_result res;
  res.target = self->state.ctx.self.key;
  res.applied = applied;
  if (effective == unset_m) {
    res.radius_m = 0.0;
    res.reason = "no radius cap held for this cell";
  } else {
    res.radius_m = static_cast<double>(effective);
  }
  return res;
}

caf::result<msg::radius_result> on_radius(region_actor* self, radius_trigger_cmd& cmd) {
  auto& st = self->state;
  if (cmd.who.role != msg::role::admin)
    return fail(core::errc::forbidden, "radius triggers are for admins");
  if (cmd.body.target != st.ctx.self.key)
    return fail(core::errc::bad_request, "target is not this cell");
  // Stores read the cap of their region cell (region_res); a cap on any
  // other cell would be `applied` and never consulted (issue #12, item 6).
  if (!st.valid || st.res != cfg_of(self).region_res)
    return fail(core::errc::bad_request,
                "radius triggers take a resolution-" + std::to_string(cfg_of(self).region_res) +
                    " H3 cell or store:<id>");
  auto kind = cmd.body.trigger;
  auto radius = static_cast<std::int64_t>(std::llround(cmd.body.radius_m));
  if (kind != msg::radius_trigger_kind::restore && radius <= 0)
    return fail(core::errc::bad_request, "radius_m must be positive");
  region_event event{region_event::kind::radius, kind, radius};
  auto rp = self->make_response_promise<msg::radius_result>();
  journal(self, event, [=](bool ok) mutable {
    if (!ok) {
      rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
      return;
    }
    auto out = self->state.radius.apply(kind, radius, unset_m);
    rp.deliver(radius_reply(self, out.effective_m, out.applied));
  });
  return rp;
}

caf::result<msg::region_stats> on_subscribe(region_actor* self, subscribe_cmd& cmd) {
  auto& st = self->state;
  if (cmd.who.role != msg::role::admin)
    return fail(core::errc::forbidden, "region stats are for admins");
  if (!cmd.gateway)
    return fail(core::errc::bad_request, "no gateway");
  if (std::find(st.subscribers.begin(), st.subscribers.end(), cmd.gateway) ==
      st.subscribers.end()) {
    if (st.subscribers.size() >= cfg_of(self).subscribers_max)
      return fail(core::errc::overloaded, "too many subscribers");
    self->monitor(cmd.gateway);
    st.subscribers.push_back(cmd.gateway);
  }
  auto s = stats_of(self);
  st.last_pushed = s; // the subscriber has seen this
  return s;
}

void drop_subscriber(region_actor* self, const caf::actor_addr& addr) {
  auto& subs = self->state.subscribers;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const caf::actor& a) { return a.address() == addr; }),
             subs.end());
}

// -- recovery ---------------------------------------------------------------------------

void replay(region_actor* self, const std::string& bytes) {
  auto& st = self->state;
  auto decoded = decode_region_event(bytes);
  COURIER_ASSERT(decoded.ok() && "corrupt region event");
  const auto& ev = *decoded;
  switch (ev.what) {
    case region_event::kind::split: {
      st.split = true;
      st.dir.clear();
      auto children = geo::cell_to_children(st.cell, st.res + 1);
      if (children)
        for (auto c : *children)
          st.dir.add_child(geo::cell_to_string(c));
      break;
    }
    case region_event::kind::merged:
      st.split = false;
      st.dir.clear();
      break;
    case region_event::kind::radius:
      st.radius.apply(ev.trigger, ev.radius_m, unset_m);
      break;
  }
}

caf::behavior region_behavior(region_actor* self, cluster::entity_context ctx,
                              std::shared_ptr<const domain_services> svc) {
  COURIER_ASSERT(svc != nullptr && svc->clock != nullptr);
  auto& st = self->state;
  st.ctx = ctx;
  st.svc = svc;
  auto parsed = geo::string_to_cell(ctx.self.key);
  st.valid = parsed.ok();
  if (st.valid) {
    st.cell = *parsed;
    st.res = geo::get_resolution(st.cell);
  }
  cluster::recover(self, ctx, [self](storage::recovered_stream& rec) {
    for (auto& e : rec.events)
      replay(self, e.payload);
    self->state.version = rec.version;
    if (self->state.split) // rebuild the directory before anything else
      collect_children(self, false, [=](const std::vector<region_rider_update>& riders) {
        auto heard = now_ms(self); // their silence restarts: the children know no better
        for (auto& u : riders)
          forward_update(self, u, heard);
        if (!riders.empty())
          arm_prune(self);
      });
  });
  self->set_down_handler([=](caf::down_msg& m) { drop_subscriber(self, m.source); });
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](region_rider_update& u) { on_update(self, u); },
    [=](region_rider_leave& l) { on_leave(self, l.rider_id); },
    [=](region_find_riders& q) { return on_find(self, q); },
    [=](region_order_delta& d) {
      map_order_changed(self, d);
      if (self->state.orders.apply(d.order_id.str(), d.to, d.is_new, d.from))
        stats_changed(self);
    },
    [=](region_stats_query&) { return stats_of(self); },
    [=](subscribe_cmd& cmd) { return on_subscribe(self, cmd); },
    [=](unsubscribe_cmd& cmd) {
      drop_subscriber(self, cmd.gateway.address());
      return msg::ok_reply{};
    },
    [=](radius_trigger_cmd& cmd) { return on_radius(self, cmd); },
    [=](region_radius_query&) { return region_radius{self->state.radius.held_min()}; },
    [=](region_handover_req& req) { return on_handover(self, req); },
    [=](region_reset&) {
      self->state.index.clear();
      stats_changed(self);
    },
    [=](r_tick_atom) { on_tick(self); },
    [=](r_prune_atom) { on_prune(self); },
    cluster::passivation_handler(self, ctx, [=] {
      ask_to_resubscribe(self, self->state.subscribers, "region:" + ctx.self.key);
    }),
  };
}

} // namespace

caf::actor spawn_region_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services) {
  return sys.spawn(region_behavior, ctx, std::move(services));
}

void register_rider_side_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<region_handover_req>("courier.a.region_handover_req");
  cfg.add_message_type<std::vector<region_rider_update>>("courier.a.region_rider_updates");
  cfg.add_message_type<region_handover>("courier.a.region_handover");
  cfg.add_message_type<region_reset>("courier.a.region_reset");
  cfg.add_message_type<rider_view_query>("courier.a.rider_view_query");
  cfg.add_message_type<rider_view>("courier.a.rider_view");
  cfg.add_message_type<dispatch_view_query>("courier.a.dispatch_view_query");
  cfg.add_message_type<dispatch_view>("courier.a.dispatch_view");
  register_history_types(cfg);
}

} // namespace courier::actors
