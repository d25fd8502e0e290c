#include "actors/order_actor.hpp"

#include "actors/journal_events.hpp"
#include "actors/order_state.hpp"
#include "actors/reminder_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/assert.hpp"
#include "core/limits.hpp"

#include <cstdio>

namespace courier::actors {

core::order_id order_id_for(const core::customer_id& customer,
                            const core::request_id& request) {
  __extension__ using u128 = unsigned __int128;
  const u128 prime = (u128{1} << 88) + 0x13B;
  u128 h = (u128{0x6c62272e07bb0142ULL} << 64) | 0x62b821756295c58dULL;
  auto feed = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= prime;
    }
  };
  feed(customer.str());
  h ^= 0; // the separator byte (0) keeps ("ab","c") apart from ("a","bc")
  h *= prime;
  feed(request.str());
  char buf[35];
  std::snprintf(buf, sizeof buf, "o-%016llx%016llx",
                static_cast<unsigned long long>(h >> 64),
                static_cast<unsigned long long>(h));
  return core::order_id{buf};
}

namespace {

/// entity -> itself: re-send unconfirmed effects.
using o_tick_atom = caf::atom_constant<caf::atom("o.tick")>;
/// entity -> its next activation, through the router: this one stopped
/// owing effects (see the passivation handler).
using o_wake_atom = caf::atom_constant<caf::atom("o.wake")>;

using msg::order_status;

struct order_actor_state {
  order_state sm;
  storage::version_t jversion = 0;
  gateway_set subs{0};
  std::uint32_t in_flight = 0; ///< order_effect bits sent, not yet confirmed
  bool tick_armed = false;
  std::uint32_t rounds = 0;
  bool has_pos = false;
  geo_point rider_pos;
  core::time_ms rider_at_ms = 0;
  std::shared_ptr<const domain_services> svc;
  /// The one copy of the context: handlers capture only `self` (a copy
  /// per handler was ~1.3 KB per live order, bench/entities).
  cluster::entity_context ctx;
  /// Read from the archive: the order's streams were dropped; it only
  /// answers reads and never writes (a write would start a new stream).
  bool archived = false;
  /// An archive request is on its way to the journal.
  bool archiving = false;
  static inline const char* name = "courier.order";
};

using order_actor = caf::stateful_actor<order_actor_state>;

caf::error err(core::errc code, std::string text) {
  return cluster::to_caf_error({code, std::move(text)});
}

std::uint32_t bit(order_effect e) { return 1U << static_cast<unsigned>(e); }

core::time_ms now(order_actor* self) { return self->state.svc->clock->now_ms(); }

core::order_id oid(order_actor* self) {
  return core::order_id{self->state.sm.data().order_id};
}

void flush(order_actor* self, const cluster::entity_context& ctx);

// -- publishing (best effort) --------------------------------------------------

msg::order_status_msg status_msg(const order_data& d) {
  return {core::order_id{d.order_id}, d.status, d.version, d.status_at_ms};
}

/// What leaves the actor after a status change was journaled and applied.
void publish_status(order_actor* self, const cluster::entity_context& ctx,
                    order_status from) {
  const auto& d = self->state.sm.data();
  auto m = status_msg(d);
  self->state.subs.push(self, ctx.self.str(), m);
  // The store hears of it through the outbox (store_sync), durably.
  if (!d.store_cell.empty())
    cluster::tell(self, ctx.router, region_ref(d.store_cell),
                  region_order_delta{oid(self), d.status, false, from, d.dropoff.lat,
                                     d.dropoff.lng, d.store_at.lat, d.store_at.lng});
  if (d.alerted && !is_terminal(d.status))
    cluster::tell(self, ctx.router, delays_ref(),
                  delay_update{oid(self), d.status, d.placed_at_ms, false});
}

/// Journals `events`, applies them, publishes status changes, then calls
/// `done(error)` (errc::none on success) and sends what the outbox owes.
template <class Done>
void commit(order_actor* self, const cluster::entity_context& ctx,
            std::vector<order_event> events, Done done) {
  if (self->state.archived || self->state.archiving) {
    // Its stream is dropped (or about to be): writing would start a new,
    // empty order under the same id.
    done(core::error{core::errc::conflict, "order " + ctx.self.key + " is finished and archived"});
    return;
  }
  COURIER_ASSERT(!events.empty());
  COURIER_ASSERT(events.size() <= core::limits::journal_events_per_append_max);
  std::vector<std::string> bytes;
  for (auto& ev : events)
    bytes.push_back(encode(ev));
  cluster::persist(self, ctx, self->state.jversion, std::move(bytes),
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       done(r.err());
                       // conflict: someone else wrote; unavailable: the
                       // write may have happened (a lost ack) or the node is
                       // fenced. Either way our state may be behind the
                       // journal: stop, the next message re-reads it.
                       if (r.err().code == core::errc::conflict ||
                           r.err().code == core::errc::unavailable) {
                         ask_to_resubscribe(self, self->state.subs.all(), ctx.self.str());
                         self->quit(cluster::to_caf_error(r.err()));
                       }
                       return;
                     }
                     auto& st = self->state;
                     auto version_before = st.sm.data().version;
                     st.jversion = *r;
                     for (auto& ev : events) {
                       auto from = st.sm.data().status;
                       st.sm.apply(ev);
                       if (ev.what == order_event::kind::status)
                         publish_status(self, ctx, from);
                       else if (ev.what == order_event::kind::placed &&
                                !st.sm.data().store_cell.empty())
                         cluster::tell(self, ctx.router, region_ref(st.sm.data().store_cell),
                                       region_order_delta{oid(self), order_status::placed,
                                                          true, order_status::placed,
                                                          st.sm.data().dropoff.lat,
                                                          st.sm.data().dropoff.lng,
                                                          st.sm.data().store_at.lat,
                                                          st.sm.data().store_at.lng});
                     }
                     COURIER_ASSERT(st.sm.data().version >= version_before);
                     done(core::error{});
                     flush(self, ctx);
                   });
}

// -- the outbox -------------------------------------------------------------

void confirm(order_actor* self, const cluster::entity_context& ctx, order_effect e) {
  order_event ev;
  ev.what = order_event::kind::effect_done;
  ev.effect = static_cast<std::uint8_t>(e);
  commit(self, ctx, {ev}, [=](const core::error& failed) {
    self->state.in_flight &= ~bit(e);
    (void)failed; // unconfirmed: re-sent on the next tick
  });
}

msg::new_order new_order_of(const order_data& d);

/// The order as its store records it.
store_order store_view(const order_data& d) {
  store_order o;
  o.order = new_order_of(d);
  o.status = d.status;
  o.version = d.version;
  o.at_ms = d.status_at_ms;
  o.arriving = d.arriving_sent;
  o.arriving_eta_s = d.arriving_eta_s;
  return o;
}

/// Sends the store the order's latest state; confirmed (store_synced) only
/// by the store's ok, which it gives once it journaled it: an activation
/// that merely answered never counts (issue #12 item 1).
void sync_store(order_actor* self, const cluster::entity_context& ctx) {
  const auto& d = self->state.sm.data();
  auto o = store_view(d);
  auto clear = [=] { self->state.in_flight &= ~bit(order_effect::store_sync); };
  cluster::ask(self, ctx.router, effect_ask_timeout, store_ref(core::store_id{d.store_id}),
               store_sync{o})
      .then(
          [=](msg::ok_reply&) {
            order_event ev;
            ev.what = order_event::kind::store_synced;
            ev.synced_version = o.version;
            ev.synced_arriving = o.arriving;
            commit(self, ctx, {ev}, [=](const core::error&) { clear(); });
          },
          [=](caf::error&) { clear(); }); // sent again on the next tick
}

/// Sends `xs` to `target` as a request; a reply (any reply) confirms `e`.
template <class T>
void ask_effect(order_actor* self, const cluster::entity_context& ctx, order_effect e,
                cluster::entity_ref target, T x) {
  cluster::ask(self, ctx.router, effect_ask_timeout, std::move(target), std::move(x))
      .then([=](msg::ok_reply&) { confirm(self, ctx, e); },
            [=](caf::error& failure) {
              // A receiver that answers with something else (or nothing)
              // still got it.
              if (failure == caf::sec::unexpected_response)
                confirm(self, ctx, e);
              else
                self->state.in_flight &= ~bit(e);
            });
}

void send_payment(order_actor* self, const cluster::entity_context& ctx, pay_step step) {
  const auto& sm = self->state.sm;
  static constexpr payment_op ops[] = {payment_op::authorize, payment_op::capture,
                                       payment_op::void_auth};
  payment_request req{sm.op_id(step), ops[static_cast<int>(step)],
                      sm.data().total_minor, ctx.self};
  cluster::tell(self, ctx.router, payment_ref(oid(self)), std::move(req));
}

msg::new_order new_order_of(const order_data& d) {
  msg::new_order n;
  n.order_id = core::order_id{d.order_id};
  for (auto& l : d.lines)
    n.items.push_back({l.sku, l.qty, msg::money{l.price_minor}});
  n.total = msg::money{d.total_minor};
  return n;
}

void send_effect(order_actor* self, const cluster::entity_context& ctx, order_effect e) {
  const auto& d = self->state.sm.data();
  const auto& cfg = self->state.svc->cfg;
  auto id = oid(self);
  auto reminders = reminder_ref_for(ctx.self, cfg.reminder_shards);
  switch (e) {
    case order_effect::authorize: return send_payment(self, ctx, pay_step::authorize);
    case order_effect::capture: return send_payment(self, ctx, pay_step::capture);
    case order_effect::void_auth: return send_payment(self, ctx, pay_step::void_auth);
    case order_effect::store_sync: return sync_store(self, ctx);
    case order_effect::dispatch_start: {
      // Riders are searched within the node's dispatch radius (0 here),
      // not the store's delivery radius: a rider_shortage cap shrinks where
      // the store delivers, and must not shrink where riders are looked for
      // exactly when they are scarce (issue #12 item 6).
      dispatch_start s{id, core::store_id{d.store_id}, {d.store_at.lat, d.store_at.lng},
                       {d.dropoff.lat, d.dropoff.lng}, 0.0};
      return ask_effect(self, ctx, e, dispatch_ref(id), s);
    }
    case order_effect::dispatch_stop:
      return ask_effect(self, ctx, e, dispatch_ref(id), dispatch_stop{});
    case order_effect::rider_released:
      return ask_effect(self, ctx, e, rider_ref(core::rider_id{d.rider_id}),
                        rider_released{id});
    case order_effect::reminder_set: {
      auto due = d.placed_at_ms + cfg.delay_alert_after.count();
      return ask_effect(self, ctx, e, reminders, reminder_set{ctx.self, delay_tag, due});
    }
    case order_effect::delay_cleared:
      return ask_effect(self, ctx, e, delays_ref(),
                        delay_update{id, d.status, d.placed_at_ms, true});
    case order_effect::reminder_cancel:
      cluster::tell(self, ctx.router, reminders, reminder_cancel{ctx.self, outbox_tag});
      if (cfg.order_retention.count() <= 0)
        return ask_effect(self, ctx, e, reminders, reminder_cancel{ctx.self, delay_tag});
      // The last effect of a finished order: its delay timer goes, and the
      // durable timer that archives it comes (issue #13), confirmed
      // together so a finished order always has one or the other.
      cluster::tell(self, ctx.router, reminders, reminder_cancel{ctx.self, delay_tag});
      return ask_effect(self, ctx, e, reminders,
                        reminder_set{ctx.self, archive_tag,
                                     d.status_at_ms + cfg.order_retention.count()});
  }
}

/// Sends every owed effect that is not already on its way, and keeps a
/// retry tick armed while any is owed.
void flush(order_actor* self, const cluster::entity_context& ctx) {
  auto& st = self->state;
  auto owed = st.sm.pending_effects();
  for (auto e : owed) {
    if (st.in_flight & bit(e))
      continue;
    st.in_flight |= bit(e);
    send_effect(self, ctx, e);
  }
  if (!owed.empty() && !st.tick_armed && st.rounds < order_effect_rounds_max) {
    st.tick_armed = true;
    self->delayed_send(self, order_effect_retry, o_tick_atom::value);
  }
}

void on_tick(order_actor* self, const cluster::entity_context& ctx) {
  auto& st = self->state;
  st.tick_armed = false;
  st.rounds += 1;
  st.in_flight = 0; // whatever is still owed goes out again
  flush(self, ctx);
}

// -- commands ----------------------------------------------------------------

order_actor_id who_of(const caller& c) { return {c.role, c.id}; }

core::error validate(const msg::place_order& b) {
  if (b.items.empty() || b.items.size() > core::limits::order_items_max)
    return {core::errc::bad_request, "items: 1..100 lines"};
  std::int64_t sum = 0;
  for (auto& it : b.items) {
    if (it.qty == 0 || it.price.minor_units < 0 || it.price.minor_units > 1'000'000'000)
      return {core::errc::bad_request, "item qty or price out of range"};
    sum += it.price.minor_units * static_cast<std::int64_t>(it.qty);
  }
  if (sum != b.total.minor_units)
    return {core::errc::bad_request, "total is not the sum of the items"};
  return {};
}

order_event placed_event(const place_order_cmd& cmd, const store_info& info,
                         int region_res, core::time_ms at) {
  order_event ev;
  ev.what = order_event::kind::placed;
  ev.customer_id = cmd.who.id;
  ev.request_id = cmd.body.request_id.str();
  ev.store_id = cmd.body.store_id.str();
  for (auto& it : cmd.body.items)
    ev.lines.push_back({it.sku, it.qty, it.price.minor_units});
  ev.total_minor = cmd.body.total.minor_units;
  ev.dropoff = {cmd.body.dropoff.lat, cmd.body.dropoff.lng};
  ev.store_at = {info.location.lat, info.location.lng};
  ev.store_cell = region_cell_of(info.location.lat, info.location.lng, region_res);
  ev.store_radius_m = info.effective_radius_m;
  ev.at_ms = at;
  return ev;
}

/// Place once the store said yes: journal, answer, start the saga.
void place_checked(order_actor* self, const cluster::entity_context& ctx,
                   caf::typed_response_promise<msg::order_placed> rp,
                   const place_order_cmd& cmd,
                   const store_info& info) {
  if (!info.open)
    return (void)rp.deliver(err(core::errc::out_of_area, "store is closed"));
  if (info.dropoff_distance_m > static_cast<double>(info.effective_radius_m))
    return (void)rp.deliver(err(core::errc::out_of_area, "drop-off beyond the radius"));
  auto ev = placed_event(cmd, info, self->state.svc->cfg.region_res, now(self));
  msg::order_placed reply{oid(self), cmd.body.request_id};
  commit(self, ctx, {ev}, [=](const core::error& failed) mutable {
    if (failed.code != core::errc::none)
      rp.deliver(cluster::to_caf_error(failed));
    else
      rp.deliver(reply);
  });
}

caf::result<msg::order_placed> on_place(order_actor* self,
                                        const cluster::entity_context& ctx,
                                        const place_order_cmd& cmd) {
  const auto& d = self->state.sm.data();
  if (cmd.who.role != msg::role::customer)
    return err(core::errc::forbidden, "only customers place orders");
  if (cmd.order_id.str() != ctx.self.key)
    return err(core::errc::bad_request, "order id does not match the entity");
  if (self->state.sm.exists()) {
    if (d.customer_id != cmd.who.id || d.request_id != cmd.body.request_id.str())
      return err(core::errc::conflict, "order id belongs to another request");
    return msg::order_placed{oid(self), cmd.body.request_id}; // a retry
  }
  if (auto bad = validate(cmd.body); bad.code != core::errc::none)
    return cluster::to_caf_error(bad);
  auto rp = self->make_response_promise<msg::order_placed>();
  // await: nothing else touches this order until the store has answered.
  cluster::ask(self, ctx.router, store_check_timeout, store_ref(cmd.body.store_id),
               store_check{cmd.body.dropoff})
      .await([=](store_info& info) mutable { place_checked(self, ctx, rp, cmd, info); },
             [=](caf::error& e) mutable {
               auto ce = cluster::from_caf_error(e);
               if (ce.code != core::errc::not_found)
                 ce = {core::errc::unavailable, "store did not answer: " + ce.message};
               rp.deliver(cluster::to_caf_error(ce));
             });
  return rp;
}

order_status target_of(order_action a) {
  switch (a) {
    case order_action::accept: return order_status::accepted;
    case order_action::reject: return order_status::rejected;
    case order_action::cooking: return order_status::cooking;
    case order_action::ready: return order_status::ready;
    case order_action::picked_up: return order_status::picked_up;
    case order_action::delivering: return order_status::delivering;
    case order_action::delivered: return order_status::delivered;
    case order_action::cancel: return order_status::cancelled;
  }
  return order_status::cancelled;
}

/// Journals `events` and answers ok{version} (or the journal's error).
caf::result<msg::ok_reply> commit_and_reply(order_actor* self,
                                            const cluster::entity_context& ctx,
                                            std::vector<order_event> events) {
  auto rp = self->make_response_promise<msg::ok_reply>();
  commit(self, ctx, std::move(events), [=](const core::error& failed) mutable {
    if (failed.code != core::errc::none)
      return (void)rp.deliver(cluster::to_caf_error(failed));
    msg::ok_reply ok;
    ok.version = self->state.sm.data().version;
    rp.deliver(ok);
  });
  return rp;
}

/// The answer to a command for an order that was archived.
caf::error finished_error(const order_actor_state& st) {
  return err(core::errc::conflict, "order " + st.ctx.self.key + " is finished (" +
                                       std::string{msg::to_string(st.sm.data().status)} +
                                       ") and archived; it takes no more commands");
}

caf::result<msg::ok_reply> on_change(order_actor* self, const cluster::entity_context& ctx,
                                     const order_cmd& cmd) {
  if (self->state.archived)
    return finished_error(self->state);
  auto ev = self->state.sm.decide_change(who_of(cmd.who), target_of(cmd.action),
                                         now(self), cmd.reason);
  if (!ev)
    return cluster::to_caf_error(ev.err());
  return commit_and_reply(self, ctx, {*ev});
}

caf::result<msg::ok_reply> on_assign(order_actor* self, const cluster::entity_context& ctx,
                                     const assign_rider& a) {
  if (self->state.archived)
    return finished_error(self->state);
  auto evs = self->state.sm.decide_assign(a.rider_id.str(), a.offer_id.str(), now(self));
  if (!evs)
    return cluster::to_caf_error(evs.err());
  if (evs->empty()) {
    msg::ok_reply ok;
    ok.version = self->state.sm.data().version;
    return ok;
  }
  const auto& d = self->state.sm.data();
  if (self->state.svc->observe_dispatch_ms && d.accepted_at_ms > 0)
    self->state.svc->observe_dispatch_ms(
        static_cast<std::uint64_t>(std::max<core::time_ms>(0, now(self) - d.accepted_at_ms)));
  return commit_and_reply(self, ctx, std::move(*evs));
}

// -- rider positions -----------------------------------------------------------

std::uint32_t current_eta(const order_actor_state& st) {
  const auto& d = st.sm.data();
  double metres = st.sm.before_pickup()
                      ? distance_m(st.rider_pos, d.store_at) + distance_m(d.store_at, d.dropoff)
                      : distance_m(st.rider_pos, d.dropoff);
  return eta_s(metres, st.svc->cfg.rider_speed_mps);
}

void on_moved(order_actor* self, const cluster::entity_context& ctx, const rider_moved& m) {
  auto& st = self->state;
  const auto& d = st.sm.data();
  if (!st.sm.exists() || d.rider_id.empty() || m.rider_id.str() != d.rider_id ||
      is_terminal(d.status))
    return; // not this order's rider (any more)
  st.has_pos = true;
  st.rider_pos = {m.lat, m.lng};
  st.rider_at_ms = m.at_ms;
  auto eta = current_eta(st);
  st.subs.push(self, ctx.self.str(),
               msg::rider_position{oid(self), m.rider_id, m.lat, m.lng, m.at_ms, eta});
  const auto& cfg = st.svc->cfg;
  if (!st.sm.before_pickup() && !d.nearby_sent) {
    auto dist = distance_m(st.rider_pos, d.dropoff);
    if (dist <= cfg.nearby_m) {
      order_event ev;
      ev.what = order_event::kind::nearby;
      ev.distance_m = dist;
      commit(self, ctx, {ev}, [=](const core::error& failed) {
        if (failed.code == core::errc::none)
          self->state.subs.push(self, ctx.self.str(), msg::rider_nearby{oid(self), dist});
      });
    }
  } else if (st.sm.before_pickup() && !d.arriving_sent &&
             distance_m(st.rider_pos, d.store_at) <= cfg.arriving_m) {
    // The store hears of it through the outbox (store_sync), durably.
    order_event ev;
    ev.what = order_event::kind::arriving;
    ev.eta_s = eta_s(distance_m(st.rider_pos, d.store_at), cfg.rider_speed_mps);
    commit(self, ctx, {ev}, [](const core::error&) {});
  }
}

// -- saga and timers -------------------------------------------------------------

void on_payment(order_actor* self, const cluster::entity_context& ctx,
                const payment_result& r) {
  auto& st = self->state;
  pay_step step = pay_step::authorize;
  order_effect e = order_effect::authorize;
  switch (r.op) {
    case payment_op::authorize: break;
    case payment_op::capture: step = pay_step::capture; e = order_effect::capture; break;
    case payment_op::void_auth: step = pay_step::void_auth; e = order_effect::void_auth; break;
    case payment_op::refund: return; // never requested by orders
  }
  if (!st.sm.exists() || r.op_id != st.sm.op_id(step))
    return; // a stale or foreign result
  static constexpr pay_outcome outcomes[] = {pay_outcome::approved, pay_outcome::declined,
                                             pay_outcome::failed};
  auto evs = st.sm.decide_payment(step, outcomes[static_cast<int>(r.outcome)], now(self));
  if (evs.empty())
    return;
  commit(self, ctx, std::move(evs), [=](const core::error& failed) {
    auto& s = self->state;
    s.in_flight &= ~bit(e);
    const auto& d = s.sm.data();
    bool gave_up = failed.code == core::errc::none && r.outcome != payment_outcome::approved &&
                   ((step == pay_step::capture && d.capture_failures == pay_attempts_max) ||
                    (step == pay_step::void_auth && d.void_failures == pay_attempts_max));
    if (gave_up && s.svc->observe_payment_given_up)
      s.svc->observe_payment_given_up(d.order_id, step == pay_step::void_auth);
  });
}

caf::result<void> archive_now(order_actor* self, const cluster::entity_context& ctx);

// A fire is answered with an empty message, as every reminder target does:
// the reminder shard counts any other answer as unanswered and fires again
// (the soak caught archived orders answering ok_reply, each fired 16 times
// over ten minutes and kept live all that time).
caf::result<void> on_reminder(order_actor* self, const cluster::entity_context& ctx,
                              const reminder_fired& f) {
  auto& st = self->state;
  const auto& d = st.sm.data();
  if (!st.sm.exists() || st.archived)
    return caf::unit;
  if (f.tag == archive_tag)
    return archive_now(self, ctx);
  if (f.tag == delay_tag && !d.alerted && !is_terminal(d.status)) {
    order_event ev;
    ev.what = order_event::kind::alerted;
    commit(self, ctx, {ev}, [=](const core::error& failed) {
      if (failed.code != core::errc::none)
        return;
      const auto& dd = self->state.sm.data();
      cluster::tell(self, ctx.router, delays_ref(),
                    delay_update{oid(self), dd.status, dd.placed_at_ms, false});
    });
  }
  // Still owing effects (a long outage): come back later, durably.
  auto owed = st.sm.pending_effects();
  bool only_cancel = owed.size() == 1 && owed[0] == order_effect::reminder_cancel;
  if (!owed.empty() && !only_cancel && is_terminal(d.status)) {
    auto due = now(self) + outbox_followup.count();
    cluster::tell(self, ctx.router,
                  reminder_ref_for(ctx.self, st.svc->cfg.reminder_shards),
                  reminder_set{ctx.self, outbox_tag, due});
  }
  st.rounds = 0;
  flush(self, ctx);
  return caf::unit;
}

// -- retention (issue #13) ----------------------------------------------------

/// Whether the order is finished, owes nothing and its retention is over.
bool archive_due(const order_actor_state& st, core::time_ms now_ms) {
  const auto& d = st.sm.data();
  const auto retention = st.svc->cfg.order_retention.count();
  return !st.archived && !st.archiving && st.sm.exists() && retention > 0 &&
         is_terminal(d.status) && st.sm.pending_effects().empty() &&
         now_ms >= d.status_at_ms + retention;
}

/// Archives the final state and drops the order's streams (and its
/// payment's and dispatch's, which a finished order no longer needs).
/// `done(caf::error)` gets the outcome (an empty error on success). On
/// success the activation goes on answering reads from its state, as an
/// archived one (it never writes again); a later activation reads the
/// archive. On a failure it stays as it was and is tried again (its timer
/// fires again, or the next activation past the window): a drop that did
/// happen is idempotent, and a write to a dropped stream is a conflict.
template <class Done>
void archive(order_actor* self, const cluster::entity_context& ctx, Done done) {
  auto& st = self->state;
  COURIER_ASSERT(archive_due(st, now(self)));
  st.archiving = true;
  auto id = oid(self);
  std::vector<std::string> drops{ctx.self.str(), payment_ref(id).str(), dispatch_ref(id).str()};
  std::vector<storage::version_t> expected{st.jversion, storage::any_version,
                                           storage::any_version};
  // await: no other message may see the order while it is being archived.
  self->request(ctx.journal, cluster::journal_request_timeout, cluster::archive_atom::value,
                ctx.self.str(), encode_archived_order(st.sm.data()), std::move(drops),
                std::move(expected), now(self))
      .await(
          [self, done](cluster::archive_atom) mutable {
            self->state.archiving = false;
            self->state.archived = true;
            COURIER_ASSERT(self->state.sm.pending_effects().empty());
            done(caf::error{});
          },
          [self, done](caf::error& e) mutable {
            self->state.archiving = false;
            done(e);
          });
}

/// reminder_fired{archive}: archive if due; the reminder fires again on an
/// error answer.
caf::result<void> archive_now(order_actor* self, const cluster::entity_context& ctx) {
  auto& st = self->state;
  if (st.archiving)
    return err(core::errc::unavailable, "archiving in progress");
  if (!archive_due(st, now(self)))
    return caf::unit; // not finished, still owing, or too early: nothing to do
  auto rp = self->make_response_promise();
  archive(self, ctx, [rp](const caf::error& e) mutable {
    if (e)
      rp.deliver(e);
    else
      rp.deliver(caf::unit);
  });
  return rp;
}

/// An order read back from the archive (its streams were dropped).
void restore_from_archive(order_actor* self, const std::string& payload) {
  auto d = decode_archived_order(payload);
  if (!d || !is_terminal(d->status) || d->order_id != self->state.ctx.self.key) {
    std::fprintf(stderr, "courier order: archive entry of %s is unusable: %s\n",
                 self->state.ctx.self.key.c_str(),
                 d ? "wrong id or status" : d.err().message.c_str());
    self->quit(cluster::to_caf_error({core::errc::internal, "damaged archive entry"}));
    return;
  }
  self->state.sm.restore_archived(std::move(*d));
  self->state.archived = true;
}

// -- subscriptions and queries ---------------------------------------------------

msg::order_snapshot snapshot_of(const order_actor_state& st) {
  const auto& d = st.sm.data();
  msg::order_snapshot s;
  s.status = d.status;
  s.version = d.version;
  if (!d.rider_id.empty())
    s.rider_id = core::rider_id{d.rider_id};
  if (st.has_pos && !is_terminal(d.status)) {
    s.lat = st.rider_pos.lat;
    s.lng = st.rider_pos.lng;
    s.eta_s = current_eta(st);
  }
  return s;
}

caf::result<msg::order_snapshot> on_subscribe(order_actor* self, const subscribe_cmd& cmd) {
  auto& st = self->state;
  if (!st.sm.exists())
    return err(core::errc::not_found, "no such order");
  if (!st.sm.may_view(who_of(cmd.who)))
    return err(core::errc::forbidden, "not your order");
  if (cmd.gateway == nullptr)
    return err(core::errc::bad_request, "no gateway");
  if (st.archived)
    return snapshot_of(st); // final: nothing will ever be pushed
  if (!st.subs.add(cmd.gateway))
    return err(core::errc::overloaded, "too many subscribers");
  cluster::watch_gateway(self, st.ctx, cmd.gateway);
  return snapshot_of(st);
}

caf::result<order_view> on_query(order_actor* self, const order_query& q) {
  auto& st = self->state;
  const auto& d = st.sm.data();
  if (!st.sm.exists())
    return err(core::errc::not_found, "no such order");
  if (!st.sm.may_view(who_of(q.who)))
    return err(core::errc::forbidden, "not your order");
  order_view v;
  v.order_id = oid(self);
  v.customer_id = core::customer_id{d.customer_id};
  v.store_id = core::store_id{d.store_id};
  v.status = d.status;
  v.version = d.version;
  v.rider_id = d.rider_id;
  if (st.has_pos && !is_terminal(d.status))
    v.eta_s = current_eta(st);
  v.placed_at_ms = d.placed_at_ms;
  v.payment = payment_state(d);
  return v;
}

caf::behavior order_behavior(order_actor* self, cluster::entity_context ctx,
                             std::shared_ptr<const domain_services> services) {
  auto& st = self->state;
  st.svc = std::move(services);
  st.subs = gateway_set{st.svc->cfg.subscribers_max};
  st.sm.set_id(ctx.self.key);
  st.ctx = std::move(ctx);
  cluster::recover(self, st.ctx, [self](storage::recovered_stream& rec) {
    for (auto& ev : rec.events) {
      auto decoded = decode_order_event(ev.payload);
      COURIER_ASSERT(decoded.ok());
      self->state.sm.apply(*decoded);
    }
    self->state.jversion = rec.version;
    if (rec.version == 0) {
      // No stream: a new order, or a finished one whose stream was dropped
      // after archiving. await: nothing is handled until we know which.
      self->request(self->state.ctx.journal, cluster::journal_request_timeout,
                    cluster::archived_atom::value, self->state.ctx.self.str())
          .await([self](std::string& payload) { restore_from_archive(self, payload); },
                 [self](caf::error& e) {
                   if (cluster::from_caf_error(e).code != core::errc::not_found)
                     self->quit(e); // the archive cannot be read: try again later
                 });
      return;
    }
    flush(self, self->state.ctx); // the outbox: whatever was journaled but not confirmed
    // Finished past its retention (its timer fired while it could not be
    // archived, or it finished before retention existed): archive now.
    if (archive_due(self->state, now(self)))
      archive(self, self->state.ctx, [](const caf::error&) {});
  });
  // Answers to fire-and-forget notices (store, region, delays) come back
  // as plain messages; an error there must not stop the order.
  self->set_error_handler([](caf::error&) {});
  auto ctx_of = [self]() -> const cluster::entity_context& { return self->state.ctx; };
  return {
    [self, ctx_of](const place_order_cmd& cmd) { return on_place(self, ctx_of(), cmd); },
    [self, ctx_of](const order_cmd& cmd) { return on_change(self, ctx_of(), cmd); },
    [self, ctx_of](const assign_rider& a) { return on_assign(self, ctx_of(), a); },
    [self, ctx_of](const rider_moved& m) { on_moved(self, ctx_of(), m); },
    [self, ctx_of](const payment_result& r) { on_payment(self, ctx_of(), r); },
    [self, ctx_of](const reminder_fired& f) { return on_reminder(self, ctx_of(), f); },
    [self](const subscribe_cmd& cmd) { return on_subscribe(self, cmd); },
    [self](const unsubscribe_cmd& cmd) {
      if (self->state.subs.remove(cmd.gateway.address()))
        cluster::unwatch_gateway(self, self->state.ctx, cmd.gateway.address());
      return msg::ok_reply{};
    },
    [self](cluster::gateway_down_atom, const caf::actor_addr& gw) {
      self->state.subs.remove(gw);
    },
    [self](const order_query& q) { return on_query(self, q); },
    [self, ctx_of](o_tick_atom) { on_tick(self, ctx_of()); },
    // Recovering flushed the outbox already; a live activation sends what
    // is owed and not on its way.
    [self, ctx_of](o_wake_atom) { flush(self, ctx_of()); },
    [](const msg::ok_reply&) {}, // a notice's receiver acknowledged it
    cluster::passivation_handler_from_state(self, [self] {
      auto& s = self->state;
      ask_to_resubscribe(self, s.subs.all(), s.ctx.self.str());
      // The outbox's retry tick dies with this activation, and nothing else
      // may ever message the order again (its key moved on a view change,
      // or it was idle): if it owes effects, it wakes its next activation.
      // The router holds this behind the stopping activation and then
      // routes it (to the key's new owner if it moved), which recovers and
      // re-sends what is owed.
      if (!s.sm.pending_effects().empty())
        cluster::tell(self, s.ctx.router, s.ctx.self, o_wake_atom::value);
    }),
  };
}

} // namespace

caf::actor spawn_order_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services->clock != nullptr);
  return sys.spawn(order_behavior, ctx, std::move(services));
}

} // namespace courier::actors
