#include "actors/store_actor.hpp"

#include "actors/journal_events.hpp"
#include "actors/order_state.hpp"
#include "actors/radius_policy.hpp"
#include "core/assert.hpp"
#include "geo/indexing.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

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

/// An open order and when the store first recorded it (snapshots list
/// the oldest first).
struct open_order {
  store_order order;
  std::uint64_t seq = 0;
};

struct store_state {
  bool exists = false;
  msg::lat_lng location;
  bool open = false;
  std::int64_t base_radius_m = 0;
  radius_policy radius;
  std::string cell;
  storage::version_t version = 0;
  gateway_set subscribers{0};
  /// Orders paid and not yet ended, by id; bounded by store_open_orders_max.
  std::unordered_map<std::string, open_order> orders;
  /// Orders that ended, newest last (id and final status), bounded by
  /// store_closed_orders_max: a late sync for one never reopens it.
  std::deque<store_order> closed;
  std::uint64_t next_seq = 0;
  std::size_t since_snapshot = 0; ///< events journaled since the last snapshot
  bool served = false;            ///< handled a message since recovering
  static inline const char* name = "courier.store";
};

using store_actor = caf::stateful_actor<store_state>;

caf::error err(core::errc code, std::string text) {
  return cluster::to_caf_error({code, std::move(text)});
}

const store_order* closed_order(const store_state& st, const std::string& id) {
  for (auto& o : st.closed)
    if (o.order.order_id.str() == id)
      return &o;
  return nullptr;
}

void apply_order(store_state& st, const store_order& o) {
  auto id = o.order.order_id.str();
  if (closed_order(st, id) != nullptr)
    return;
  auto it = st.orders.find(id);
  if (is_terminal(o.status)) {
    if (it != st.orders.end())
      st.orders.erase(it);
    store_order last;
    last.order = o.order;
    last.status = o.status;
    last.version = o.version;
    last.at_ms = o.at_ms;
    st.closed.push_back(std::move(last));
    if (st.closed.size() > store_closed_orders_max)
      st.closed.pop_front();
    if (st.closed.size() > store_closed_bodies_max) {
      auto& old = st.closed[st.closed.size() - 1 - store_closed_bodies_max].order;
      old.items = {}; // frees the vector's storage too
      old.total = {};
    }
    return;
  }
  if (it == st.orders.end()) {
    st.orders.emplace(id, open_order{o, ++st.next_seq});
    return;
  }
  auto& mine = it->second.order;
  bool arriving = mine.arriving || o.arriving;
  auto eta = mine.arriving ? mine.arriving_eta_s : o.arriving_eta_s;
  if (o.version > mine.version)
    mine = o;
  mine.arriving = arriving;
  mine.arriving_eta_s = eta;
}

void apply(store_state& st, const store_event& ev, int region_res) {
  switch (ev.what) {
    case store_event::kind::upserted:
      st.exists = true;
      st.location = {ev.lat, ev.lng};
      st.open = ev.open;
      st.base_radius_m = ev.base_radius_m;
      st.cell = region_cell_of(ev.lat, ev.lng, region_res);
      return;
    case store_event::kind::trigger:
      st.radius.apply(ev.trigger, ev.trigger_radius_m, st.base_radius_m);
      return;
    case store_event::kind::order: apply_order(st, ev.order); return;
  }
}

/// What recording `o` tells the store's sessions that they were not told.
struct order_news {
  bool new_order = false;
  bool status = false;
  bool arriving = false;
  bool any() const { return new_order || status || arriving; }
};

order_news news_of(const store_state& st, const store_order& o) {
  order_news n;
  auto id = o.order.order_id.str();
  if (closed_order(st, id) != nullptr)
    return n;
  auto it = st.orders.find(id);
  if (it == st.orders.end()) {
    n.new_order = !is_terminal(o.status);
    n.status = true;
    n.arriving = o.arriving && !is_terminal(o.status);
    return n;
  }
  const auto& mine = it->second.order;
  n.status = o.version > mine.version && o.status != mine.status;
  n.arriving = o.arriving && !mine.arriving;
  return n;
}

msg::order_status_msg status_of(const store_order& o) {
  return {o.order.order_id, o.status, o.version, o.at_ms};
}

/// Pushes `news` of `o` on the store's topic, in the order a tablet
/// expects: the order, its status, then the rider.
void push_news(store_actor* self, const std::string& topic, const store_order& o,
               order_news news) {
  auto& subs = self->state.subscribers;
  if (news.new_order)
    subs.push(self, topic, o.order);
  if (news.status)
    subs.push(self, topic, status_of(o));
  if (news.arriving)
    subs.push(self, topic, msg::rider_arriving{o.order.order_id, o.arriving_eta_s});
}

/// The events that rebuild the store, for a journal snapshot.
store_snapshot_record snapshot_of(const store_state& st) {
  store_snapshot_record snap;
  snap.held = st.radius.held();
  if (st.exists) {
    store_event up;
    up.what = store_event::kind::upserted;
    up.lat = st.location.lat;
    up.lng = st.location.lng;
    up.base_radius_m = st.base_radius_m;
    up.open = st.open;
    snap.events.push_back(up);
  }
  auto order_event_of = [](const store_order& o) {
    store_event ev;
    ev.what = store_event::kind::order;
    ev.order = o;
    return ev;
  };
  for (auto& o : st.closed)
    snap.events.push_back(order_event_of(o));
  std::vector<const open_order*> open;
  for (auto& kv : st.orders)
    open.push_back(&kv.second);
  std::sort(open.begin(), open.end(),
            [](const open_order* a, const open_order* b) { return a->seq < b->seq; });
  for (auto* o : open)
    snap.events.push_back(order_event_of(o->order));
  return snap;
}

void maybe_snapshot(store_actor* self, const cluster::entity_context& ctx) {
  auto& st = self->state;
  if (++st.since_snapshot < store_snapshot_every)
    return;
  st.since_snapshot = 0;
  cluster::save_snapshot(self, ctx, st.version, encode_store_snapshot(snapshot_of(st)));
}

/// Rebuilds the journaled part of `st` from `rec` (subscribers stay).
void recover_into(store_state& st, storage::recovered_stream& rec, int region_res) {
  auto subscribers = std::move(st.subscribers);
  auto next_seq = st.next_seq;
  auto served = st.served;
  st = store_state{};
  st.subscribers = std::move(subscribers);
  st.next_seq = next_seq;
  st.served = served;
  if (rec.snapshot) {
    auto snap = decode_store_snapshot(rec.snapshot->payload);
    COURIER_ASSERT(snap.ok());
    for (auto& ev : snap->events)
      apply(st, ev, region_res);
    st.radius.restore_held(snap->held);
  }
  for (auto& ev : rec.events) {
    auto decoded = decode_store_event(ev.payload);
    COURIER_ASSERT(decoded.ok());
    apply(st, *decoded, region_res);
  }
  st.version = rec.version;
  // The tail counts toward the next snapshot: an activation that stops
  // before store_snapshot_every events must not let the tail grow forever.
  st.since_snapshot = rec.events.size();
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
                       // conflict: another activation wrote; unavailable:
                       // the append may have been written all the same (a
                       // lost answer), so this activation may be behind the
                       // journal. Either way stop; the next message re-reads
                       // it and the sessions subscribe again for a snapshot.
                       if (r.err().code == core::errc::conflict ||
                           r.err().code == core::errc::unavailable) {
                         ask_to_resubscribe(self, self->state.subscribers.all(),
                                            ctx.self.str());
                         self->quit(cluster::to_caf_error(r.err()));
                       }
                       return;
                     }
                     self->state.version = *r;
                     apply(self->state, ev, region_res);
                     rp.deliver(caf::make_message(reply()));
                     maybe_snapshot(self, ctx);
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

/// Records an order's latest state, then tells the store's sessions what
/// is new; answers ok only once it is journaled (the order's outbox keeps
/// sending until then). Nothing new: ok at once.
caf::result<caf::message> on_sync(store_actor* self, const cluster::entity_context& ctx,
                                  int region_res, const store_sync& sync) {
  auto& st = self->state;
  const auto& o = sync.order;
  if (o.order.order_id.str().empty() || o.version == 0)
    return err(core::errc::bad_request, "an order sync names the order and its version");
  auto news = news_of(st, o);
  if (!news.any())
    return caf::make_message(msg::ok_reply{});
  if (news.new_order && st.orders.size() >= store_open_orders_max)
    return err(core::errc::overloaded, "the store holds the most open orders it may");
  store_event ev;
  ev.what = store_event::kind::order;
  ev.order = o;
  auto topic = ctx.self.str();
  return journal_then(self, ctx, region_res, ev, [=] {
    push_news(self, topic, o, news);
    return msg::ok_reply{};
  });
}

/// The orders that ended at or after `since_ms` and still have their
/// items (store_closed_bodies_max), oldest first.
void add_recently_ended(const store_state& st, core::time_ms since_ms, store_snapshot& snap) {
  for (auto& o : st.closed)
    if (o.at_ms >= since_ms && !o.order.items.empty())
      snap.orders.push_back(o);
}

/// The store's open orders, oldest first (bounded by store_open_orders_max).
store_snapshot open_orders(const store_state& st) {
  std::vector<const open_order*> open;
  for (auto& kv : st.orders)
    open.push_back(&kv.second);
  std::sort(open.begin(), open.end(),
            [](const open_order* a, const open_order* b) { return a->seq < b->seq; });
  store_snapshot snap;
  snap.orders.reserve(open.size());
  for (auto* o : open)
    snap.orders.push_back(o->order);
  return snap;
}

/// Reads the stream again (another activation may have written it: a node
/// on an older view, since stopped or crashed), pushes to the subscribers
/// what it recorded that they did not see, then calls `then()`. Other
/// messages wait until the journal answers.
template <class Then>
void reread(store_actor* self, const cluster::entity_context& ctx, int region_res, Then then) {
  self->request(ctx.journal, cluster::journal_request_timeout, cluster::read_atom::value,
                ctx.self.str())
      .await(
          [=](storage::recovered_stream& rec) mutable {
            auto& st = self->state;
            if (rec.version != st.version) {
              auto before = st; // gateway handles and at most a few thousand orders
              recover_into(st, rec, region_res);
              auto topic = ctx.self.str();
              for (auto& o : open_orders(st).orders)
                push_news(self, topic, o, news_of(before, o));
              for (auto& o : st.closed)
                if (before.orders.count(o.order.order_id.str()) > 0)
                  push_news(self, topic, o, news_of(before, o));
            }
            then();
          },
          [=](caf::error& e) { self->quit(std::move(e)); });
}

/// A session's subscription: answered with the open orders, read fresh
/// from the journal if this activation has been running (a stale one
/// would hand a tablet a snapshot without an order another activation
/// recorded meanwhile).
caf::result<store_snapshot> on_subscribe(store_actor* self, const cluster::entity_context& ctx,
                                         int region_res, const core::clock& clock,
                                         const subscribe_cmd& cmd) {
  bool own = cmd.who.role == msg::role::store && cmd.who.id == ctx.self.key;
  if (!own && cmd.who.role != msg::role::admin)
    return err(core::errc::forbidden, "not this store");
  if (cmd.gateway == nullptr)
    return err(core::errc::bad_request, "no gateway");
  if (!self->state.subscribers.add(cmd.gateway))
    return err(core::errc::overloaded, "too many subscribers");
  cluster::watch_gateway(self, ctx, cmd.gateway);
  // A gateway subscribing again may have lost its subscription with a
  // broken connection while an order was paid and decided: its sessions
  // get those too (new_order, then the final order_status; they dedupe).
  auto since_ms = cmd.recent_ended_ms > 0 ? clock.now_ms() - cmd.recent_ended_ms : 0;
  auto snapshot = [self, since_ms, recent = cmd.recent_ended_ms > 0] {
    auto snap = open_orders(self->state);
    if (recent)
      add_recently_ended(self->state, since_ms, snap);
    return snap;
  };
  if (!self->state.served)
    return snapshot(); // just recovered
  auto rp = self->make_response_promise<store_snapshot>();
  reread(self, ctx, region_res, [=]() mutable { rp.deliver(snapshot()); });
  return rp;
}

/// An activation of this store ran elsewhere meanwhile (moved_atom).
void on_moved(store_actor* self, const cluster::entity_context& ctx, int region_res) {
  if (self->state.served) // else it recovered after that activation stopped
    reread(self, ctx, region_res, [] {});
}

caf::behavior store_behavior(store_actor* self, cluster::entity_context ctx,
                             std::shared_ptr<const domain_services> services) {
  int res = services->cfg.region_res;
  self->state.subscribers = gateway_set{services->cfg.subscribers_max};
  cluster::recover(self, ctx, [=](storage::recovered_stream& rec) {
    recover_into(self->state, rec, res);
  });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  auto served = [self](auto result) {
    self->state.served = true;
    return result;
  };
  return {
    [=](const store_upsert_cmd& cmd) { return served(on_upsert(self, ctx, res, cmd)); },
    [=](const radius_trigger_cmd& cmd) { return served(on_trigger(self, ctx, res, cmd)); },
    [=](const store_check& chk) { return served(on_check(self, ctx, chk)); },
    [=](const subscribe_cmd& cmd) {
      return served(on_subscribe(self, ctx, res, *services->clock, cmd));
    },
    [=](const unsubscribe_cmd& cmd) {
      if (self->state.subscribers.remove(cmd.gateway.address()))
        cluster::unwatch_gateway(self, ctx, cmd.gateway.address());
      return msg::ok_reply{};
    },
    [=](cluster::gateway_down_atom, const caf::actor_addr& gw) {
      self->state.subscribers.remove(gw);
    },
    [=](const store_sync& sync) { return served(on_sync(self, ctx, res, sync)); },
    [=](cluster::moved_atom) { on_moved(self, ctx, res); },
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
