#include "actors/rider_actor.hpp"

#include "actors/history_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/region_index.hpp"
#include "actors/rider_state.hpp"
#include "cluster/entity.hpp"
#include "core/assert.hpp"
#include "geo/cell.hpp"
#include "geo/hierarchy.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace courier::actors {

namespace {

/// How long a rider waits for dispatch or its order to answer.
constexpr std::chrono::seconds rider_ask_timeout{5};

struct rider_actor_state {
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  rider_logic rider;
  storage::version_t version = 0;
  std::vector<caf::actor> gateways;
  caf::actor history;
  bool answering = false; ///< an accept is waiting for dispatch's verdict
  std::size_t since_snapshot = 0; ///< events journaled since the last snapshot
  /// The region cell updates go to: the deepest active cell of the
  /// position as regions told it (region_route), else the rider's cell at
  /// cfg.region_res. Soft: a recovered rider starts again from its cell.
  std::string report_cell;
  std::uint64_t route_seq = 0; ///< the seq of the region_route taken last
  /// The position last sent to report_cell: a leave names it, so a split
  /// cell can pass the leave down.
  double reported_lat = 0.0;
  double reported_lng = 0.0;
  static inline const char* name = "courier.rider";
};

using rider_actor = caf::stateful_actor<rider_actor_state>;

caf::error fail(core::errc code, std::string text) {
  return cluster::to_caf_error(core::make_error(code, std::move(text)));
}

bool is_self(rider_actor* self, const caller& who) {
  return who.role == msg::role::rider && who.id == self->state.ctx.self.key;
}

core::time_ms now_ms(rider_actor* self) { return self->state.svc->clock->now_ms(); }

/// Snapshots the rider every rider_snapshot_every journaled events, so a
/// recovery reads a bounded tail (position marks alone add one event per
/// rider_mark_interval of riding).
void maybe_snapshot(rider_actor* self, std::size_t journaled) {
  auto& st = self->state;
  st.since_snapshot += journaled;
  if (st.since_snapshot < rider_snapshot_every)
    return;
  st.since_snapshot = 0;
  cluster::save_snapshot(self, st.ctx, st.version,
                         rider_event::encode_snapshot(st.rider.snapshot(now_ms(self))));
}

/// Journals `events`, applies them, then calls `done(ok)`.
template <class Done>
void journal(rider_actor* self, std::vector<rider_event> events, Done done) {
  std::vector<std::string> lines;
  for (auto& ev : events)
    lines.push_back(ev.encode());
  cluster::persist(self, self->state.ctx, self->state.version, std::move(lines),
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       done(caf::optional<core::error>{r.err()});
                       // conflict: someone else wrote; unavailable: the
                       // append may have been written all the same (a lost
                       // answer). Either way this activation's version may
                       // be behind the journal and every later append of it
                       // would conflict: stop, the next message re-reads it.
                       if (r.err().code == core::errc::conflict ||
                           r.err().code == core::errc::unavailable) {
                         auto& st = self->state;
                         ask_to_resubscribe(self, st.gateways, "rider:" + st.ctx.self.key);
                         self->quit(cluster::to_caf_error(r.err()));
                       }
                       return;
                     }
                     self->state.version = *r;
                     for (auto& ev : events)
                       self->state.rider.apply(ev);
                     maybe_snapshot(self, events.size());
                     done(caf::optional<core::error>{});
                   });
}

rider_state region_state_of(rider_visibility v) {
  switch (v) {
    case rider_visibility::available: return rider_state::available;
    case rider_visibility::busy: return rider_state::busy;
    case rider_visibility::offline: return rider_state::offline;
  }
  COURIER_ASSERT(false);
}

/// The cell regions are told about: report_cell, else the rider's cell.
const std::string& report_cell_of(rider_actor* self) {
  auto& st = self->state;
  return st.report_cell.empty() ? st.rider.cell() : st.report_cell;
}

/// Tells the region the rider reports to where it is and whether it can
/// work (the region passes it on if it is not the owner, region_actor.hpp).
void sync_region(rider_actor* self) {
  auto& st = self->state;
  auto& r = st.rider;
  if (r.cell().empty())
    return;
  auto to = report_cell_of(self);
  region_rider_update up{core::rider_id{st.ctx.self.key}, r.lat(), r.lng(),
                         r.position_at_ms(), region_state_of(r.visibility())};
  up.seq = r.last_seq();
  up.reported_to = to;
  st.reported_lat = r.lat();
  st.reported_lng = r.lng();
  cluster::tell(self, st.ctx.router, region_ref(to), std::move(up));
}

/// The resolution of `cell` if it is one a split can make (cfg.region_res
/// to cfg.region_split_max_res) and contains (lat,lng); -1 otherwise.
int inside(const domain_config& cfg, const std::string& cell, double lat, double lng) {
  auto c = geo::string_to_cell(cell);
  if (!c)
    return -1;
  auto res = geo::get_resolution(*c);
  if (res < cfg.region_res || res > cfg.region_split_max_res)
    return -1;
  auto at = region_cell_of(lat, lng, cfg.rider_index_res, res);
  return at.ok() && *at == *c ? res : -1;
}

/// The deepest ancestor of `cell` (itself excluded, at or below
/// cfg.region_res) that contains (lat,lng): where the rider reports after
/// leaving `cell` without leaving its region_res cell.
std::string common_ancestor(const domain_config& cfg, const std::string& cell, double lat,
                            double lng) {
  auto c = geo::string_to_cell(cell);
  if (!c)
    return {};
  for (int res = geo::get_resolution(*c) - 1; res >= cfg.region_res; --res) {
    auto up = geo::cell_to_parent(*c, res);
    if (up && inside(cfg, geo::cell_to_string(*up), lat, lng) == res)
      return geo::cell_to_string(*up);
  }
  return {};
}

/// A region says where to report (region_route): taken if not older than
/// the last one taken and the rider's position is still inside that cell,
/// under the rider's region_res cell.
void on_route(rider_actor* self, const region_route& m) {
  auto& st = self->state;
  auto& r = st.rider;
  if (m.seq < st.route_seq || r.cell().empty())
    return;
  if (inside(st.svc->cfg, m.cell, r.lat(), r.lng()) < 0)
    return;
  auto c = geo::string_to_cell(m.cell);
  auto top = geo::cell_to_parent(*c, st.svc->cfg.region_res);
  if (!top || geo::cell_to_string(*top) != r.cell())
    return;
  st.report_cell = m.cell;
  st.route_seq = m.seq;
}

/// Journals a mark of the rider's seq, cell and position, then calls
/// `then()`, also when the write failed (rider_logic retries an interval
/// later). Like every persist it is awaited: positions that arrive
/// meanwhile wait and are handled in order after it.
template <class Then>
void write_mark(rider_actor* self, Then then) {
  rider_event ev{rider_event::kind::position_mark, false, {},
                 self->state.rider.mark(now_ms(self))};
  journal(self, {std::move(ev)}, [=](caf::optional<core::error> err) mutable {
    if (err)
      self->state.rider.mark_failed(now_ms(self));
    then();
  });
}

void on_moved(rider_actor* self) {
  auto& st = self->state;
  auto& r = st.rider;
  const auto& cfg = st.svc->cfg;
  auto cell = region_cell_of(r.lat(), r.lng(), cfg.rider_index_res, cfg.region_res);
  // The cell to leave: the one reported to, once the position is out of
  // it. Out of the region_res cell the rider starts again there; out of a
  // deeper cell only, at the deepest ancestor containing the position.
  std::string leave_cell;
  if (cell) {
    auto reported = report_cell_of(self);
    auto left = r.move_to_cell(geo::cell_to_string(*cell));
    if (!left.empty()) {
      leave_cell = reported.empty() ? left : reported;
      st.report_cell = r.cell();
    } else if (!reported.empty() && inside(cfg, reported, r.lat(), r.lng()) < 0) {
      leave_cell = reported;
      auto up = common_ancestor(cfg, reported, r.lat(), r.lng());
      st.report_cell = up.empty() ? r.cell() : up;
    }
  }
  region_rider_leave leave{core::rider_id{st.ctx.self.key}, r.last_seq(), st.reported_lat,
                           st.reported_lng};
  auto tell_regions = [self, leave_cell, leave, placed = cell.ok()] {
    if (!leave_cell.empty())
      cluster::tell(self, self->state.ctx.router, region_ref(leave_cell), leave);
    if (placed)
      sync_region(self);
  };
  switch (r.mark_due(now_ms(self), cfg.rider_mark_interval)) {
    case rider_logic::mark_reason::none:
      tell_regions();
      break;
    case rider_logic::mark_reason::cell_changed:
      // The regions hear of the move once the new cell is durable: a crash
      // in between must not leave the rider in a cell its recovery does
      // not know (it could never send that cell a leave).
      write_mark(self, tell_regions);
      break;
    case rider_logic::mark_reason::interval:
    case rider_logic::mark_reason::retry:
      tell_regions();
      write_mark(self, [] {});
      break;
  }
  if (r.has_order())
    cluster::tell(self, st.ctx.router, order_ref(core::order_id{r.order_id()}),
                  rider_moved{core::rider_id{st.ctx.self.key}, r.lat(), r.lng(),
                              r.position_at_ms()});
  if (st.history)
    self->send(st.history,
               history_record{st.ctx.self.key, r.lat(), r.lng(), r.position_at_ms()});
}

msg::offer to_msg(const held_offer& o) {
  msg::offer m;
  m.offer_id = core::offer_id{o.offer_id};
  m.order_id = core::order_id{o.order_id};
  m.store = msg::lat_lng{o.store_lat, o.store_lng};
  m.dropoff = msg::lat_lng{o.dropoff_lat, o.dropoff_lng};
  m.distance_m = o.distance_m;
  m.expires_ms = o.expires_ms;
  return m;
}

held_offer from_msg(const msg::offer& m) {
  return held_offer{m.offer_id.str(), m.order_id.str(), m.store.lat,  m.store.lng,
                    m.dropoff.lat,    m.dropoff.lng,    m.distance_m, m.expires_ms};
}

void push_offer(rider_actor* self) {
  auto topic = "rider:" + self->state.ctx.self.key;
  auto offer = to_msg(self->state.rider.offer());
  for (auto& gw : self->state.gateways)
    self->send(gw, push_atom::value, topic, offer);
}

rider_event clear_event(const std::string& offer_id) {
  rider_event ev{rider_event::kind::offer_cleared, false, {}};
  ev.offer.offer_id = offer_id;
  return ev;
}

/// A held offer long past its expiry whose withdrawal never arrived (lost
/// in a crash) must not block the rider forever.
bool offer_is_stale(rider_actor* self) {
  auto& r = self->state.rider;
  auto grace = self->state.svc->cfg.offer_timeout.count();
  return r.has_offer() && !self->state.answering &&
         now_ms(self) > r.offer().expires_ms + grace;
}

caf::result<offer_reply> on_offer_request(rider_actor* self, offer_request& req) {
  auto& r = self->state.rider;
  if (r.has_offer() && r.offer().offer_id == req.offer.offer_id.str())
    return offer_reply{true};
  std::vector<rider_event> events;
  if (offer_is_stale(self))
    events.push_back(clear_event(r.offer().offer_id));
  bool free_now = r.available() && !r.has_order() && (!r.has_offer() || !events.empty());
  if (!free_now)
    return offer_reply{false};
  events.push_back(rider_event{rider_event::kind::offer_taken, false, from_msg(req.offer)});
  auto rp = self->make_response_promise<offer_reply>();
  journal(self, std::move(events), [=](caf::optional<core::error> err) mutable {
    if (err) {
      rp.deliver(offer_reply{false});
      return;
    }
    push_offer(self);
    sync_region(self);
    rp.deliver(offer_reply{true});
  });
  return rp;
}

caf::result<msg::ok_reply> on_answer(rider_actor* self, offer_answer_cmd& cmd) {
  auto& st = self->state;
  auto& r = st.rider;
  if (!is_self(self, cmd.who))
    return fail(core::errc::forbidden, "only the rider answers its offers");
  auto offer_id = cmd.offer_id.str();
  if (cmd.accept && r.has_order() && r.assigned_offer_id() == offer_id)
    return msg::ok_reply{}; // a retried accept that already won
  if (!r.has_offer() || r.offer().offer_id != offer_id)
    return fail(core::errc::conflict, "offer expired or taken");
  auto dispatch = dispatch_ref(core::order_id{r.offer().order_id});
  dispatch_answer ans{cmd.offer_id, core::rider_id{st.ctx.self.key}, cmd.accept};
  auto rp = self->make_response_promise<msg::ok_reply>();
  if (!cmd.accept) {
    journal(self, {clear_event(offer_id)}, [=](caf::optional<core::error> err) mutable {
      if (err) {
        rp.deliver(cluster::to_caf_error(*err));
        return;
      }
      cluster::tell(self, self->state.ctx.router, dispatch, ans);
      sync_region(self);
      rp.deliver(msg::ok_reply{});
    });
    return rp;
  }
  if (st.answering)
    return fail(core::errc::unavailable, "an answer to this offer is in progress");
  st.answering = true;
  cluster::ask(self, st.ctx.router, rider_ask_timeout, dispatch, ans)
      .then(
          [=](msg::ok_reply& ok) mutable {
            self->state.answering = false;
            rp.deliver(std::move(ok));
          },
          [=](caf::error& e) mutable {
            self->state.answering = false;
            auto err = cluster::from_caf_error(e);
            bool still_held = self->state.rider.offer().offer_id == offer_id;
            if (err.code != core::errc::conflict || !still_held) {
              rp.deliver(e);
              return;
            }
            journal(self, {clear_event(offer_id)}, [=](caf::optional<core::error>) mutable {
              sync_region(self);
              rp.deliver(e);
            });
          });
  return rp;
}

void on_assigned(rider_actor* self, rider_assigned& msg) {
  auto& r = self->state.rider;
  if (r.was_released(msg.order_id.str())) {
    // The order already ended (its release overtook this message): drop the
    // offer that led to it, if still held.
    if (r.has_offer() && r.offer().order_id == msg.order_id.str())
      journal(self, {clear_event(r.offer().offer_id)}, [=](caf::optional<core::error> err) {
        if (!err)
          sync_region(self);
      });
    return;
  }
  if (r.has_order()) {
    // Never a second order. Dispatch only assigns a rider who accepted its
    // offer, and a rider with an order holds no offer, so this is a replay.
    return;
  }
  std::string other_offer;
  std::string other_order;
  if (r.has_offer() && r.offer().offer_id != msg.offer_id.str() &&
      r.offer().order_id != msg.order_id.str()) {
    other_offer = r.offer().offer_id;
    other_order = r.offer().order_id;
  }
  rider_event ev{rider_event::kind::assigned, false, {}};
  ev.offer.order_id = msg.order_id.str();
  ev.offer.offer_id = msg.offer_id.str();
  journal(self, {ev}, [=](caf::optional<core::error> err) {
    if (err)
      return; // dispatch re-sends rider_assigned when it recovers
    if (!other_offer.empty())
      cluster::tell(self, self->state.ctx.router, dispatch_ref(core::order_id{other_order}),
                    dispatch_answer{core::offer_id{other_offer},
                                    core::rider_id{self->state.ctx.self.key}, false});
    sync_region(self);
  });
}

/// Frees the rider from `order_id` (idempotent), then `done(error or none)`.
template <class Done>
void release(rider_actor* self, const std::string& order_id, Done done) {
  auto& r = self->state.rider;
  if (r.order_id() != order_id && r.was_released(order_id)) {
    done(caf::optional<core::error>{}); // a repeated release
    return;
  }
  // Journaled even when not (yet) assigned: a rider_assigned for this order
  // may still be on its way and must then be ignored.
  rider_event ev{rider_event::kind::released, false, {}};
  ev.offer.order_id = order_id;
  journal(self, {ev}, [=](caf::optional<core::error> err) mutable {
    if (!err)
      sync_region(self);
    done(err);
  });
}

caf::result<msg::ok_reply> on_released(rider_actor* self, const rider_released& m) {
  auto rp = self->make_response_promise<msg::ok_reply>();
  release(self, m.order_id.str(), [=](caf::optional<core::error> err) mutable {
    if (err)
      rp.deliver(cluster::to_caf_error(*err));
    else
      rp.deliver(msg::ok_reply{});
  });
  return rp;
}

caf::result<msg::ok_reply> on_status(rider_actor* self, rider_status_cmd& cmd) {
  auto& st = self->state;
  if (!is_self(self, cmd.who))
    return fail(core::errc::forbidden, "only the rider reports its orders");
  auto order_id = cmd.body.order_id.str();
  if (!st.rider.has_order() || st.rider.order_id() != order_id)
    return fail(core::errc::forbidden, "not the rider's assigned order");
  order_cmd oc{cmd.who, order_action::picked_up, 0, {}};
  switch (cmd.body.status) {
    case msg::order_status::picked_up: oc.action = order_action::picked_up; break;
    case msg::order_status::delivering: oc.action = order_action::delivering; break;
    case msg::order_status::delivered: oc.action = order_action::delivered; break;
    default: return fail(core::errc::bad_request, "riders report picked_up, delivering or delivered");
  }
  bool delivered = oc.action == order_action::delivered;
  auto rp = self->make_response_promise<msg::ok_reply>();
  cluster::ask(self, st.ctx.router, rider_ask_timeout, order_ref(cmd.body.order_id), oc)
      .then(
          [=](msg::ok_reply& ok) mutable {
            if (delivered)
              release(self, order_id, [](caf::optional<core::error>) {}); // idempotent
            rp.deliver(std::move(ok));
          },
          [=](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

caf::result<msg::ok_reply> on_subscribe(rider_actor* self, subscribe_cmd& cmd) {
  auto& st = self->state;
  if (!is_self(self, cmd.who) && cmd.who.role != msg::role::admin)
    return fail(core::errc::forbidden, "not this rider");
  if (!cmd.gateway)
    return fail(core::errc::bad_request, "no gateway");
  bool known =
      std::find(st.gateways.begin(), st.gateways.end(), cmd.gateway) != st.gateways.end();
  if (!known && st.gateways.size() >= st.svc->cfg.subscribers_max)
    return fail(core::errc::overloaded, "too many subscribers");
  if (!known) {
    cluster::watch_gateway(self, st.ctx, cmd.gateway);
    st.gateways.push_back(cmd.gateway);
  }
  // A (re)connecting rider is owed the offer it still holds: it was pushed
  // to a session that may be gone (issue #12 item 2). Sent after the reply,
  // which the gateway needs first to join the session to the topic; the
  // same offer twice is harmless (clients dedupe by offer_id).
  auto rp = self->make_response_promise<msg::ok_reply>();
  rp.deliver(msg::ok_reply{});
  const auto& r = st.rider;
  auto topic = "rider:" + st.ctx.self.key;
  if (r.has_offer() && r.offer().expires_ms > now_ms(self))
    self->send(cmd.gateway, push_atom::value, topic, to_msg(r.offer()));
  // And the order it is assigned to: the accept's `ok` may have been lost
  // with the session that sent it.
  if (r.has_order())
    self->send(cmd.gateway, push_atom::value, topic,
               msg::assignment{core::order_id{r.order_id()},
                               core::offer_id{r.assigned_offer_id()}});
  return rp;
}

/// Forgets a subscribed gateway; true if it was subscribed.
bool drop_gateway(rider_actor* self, const caf::actor_addr& addr) {
  auto& gws = self->state.gateways;
  auto gone = std::remove_if(gws.begin(), gws.end(),
                             [&](const caf::actor& g) { return g.address() == addr; });
  bool found = gone != gws.end();
  gws.erase(gone, gws.end());
  return found;
}

caf::result<msg::ok_reply> on_availability(rider_actor* self, availability_cmd& cmd) {
  if (!is_self(self, cmd.who))
    return fail(core::errc::forbidden, "a rider sets only its own availability");
  if (self->state.rider.available() == cmd.available)
    return msg::ok_reply{};
  auto rp = self->make_response_promise<msg::ok_reply>();
  journal(self, {rider_event{rider_event::kind::availability, cmd.available, {}}},
          [=](caf::optional<core::error> err) mutable {
            if (err) {
              rp.deliver(cluster::to_caf_error(*err));
              return;
            }
            sync_region(self);
            rp.deliver(msg::ok_reply{});
          });
  return rp;
}

/// Acks without waiting for a mark the position may cause (write_mark):
/// the ack says "accepted", not "durable" (rider_state.hpp has the window).
caf::result<msg::ack> on_position(rider_actor* self, position_cmd& cmd) {
  if (!is_self(self, cmd.who))
    return fail(core::errc::forbidden, "a rider can only move itself");
  auto& p = cmd.body;
  if (!(p.lat >= -90.0 && p.lat <= 90.0 && p.lng >= -180.0 && p.lng <= 180.0))
    return fail(core::errc::bad_request, "lat/lng out of range");
  auto at = p.time_ms > 0 ? p.time_ms : now_ms(self);
  if (self->state.rider.accept_position(p.seq, p.lat, p.lng, at))
    on_moved(self);
  return msg::ack{self->state.rider.last_seq()};
}

caf::behavior rider_behavior(rider_actor* self, cluster::entity_context ctx,
                             std::shared_ptr<const domain_services> svc) {
  COURIER_ASSERT(svc != nullptr && svc->clock != nullptr);
  self->state.ctx = ctx;
  self->state.svc = svc;
  self->state.history = ensure_history_actor(self->system(), svc->history, svc->clock);
  cluster::recover(self, ctx, [self](storage::recovered_stream& rec) {
    auto& st = self->state;
    if (rec.snapshot) {
      auto events = rider_event::decode_snapshot(rec.snapshot->payload);
      COURIER_ASSERT(events.ok()); // our own journal: corruption is a bug
      for (auto& ev : *events)
        st.rider.apply(ev);
    }
    for (auto& e : rec.events) {
      auto ev = rider_event::decode(e.payload);
      COURIER_ASSERT(ev.ok());
      st.rider.apply(*ev);
    }
    st.version = rec.version;
    // Where the last mark put the rider: what a leave names until it
    // reports again.
    st.reported_lat = st.rider.lat();
    st.reported_lng = st.rider.lng();
    // The tail counts toward the next snapshot: a rider whose activations
    // each journal fewer events must not grow it forever.
    st.since_snapshot = rec.events.size();
  });
  // Replies to one-way tells (an ok, or an error such as a conflict for a
  // stale reject) come back as ordinary messages: they need no handling,
  // and CAF's default would stop the actor on an error.
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](position_cmd& cmd) { return on_position(self, cmd); },
    [=](availability_cmd& cmd) { return on_availability(self, cmd); },
    [=](offer_request& req) { return on_offer_request(self, req); },
    [=](offer_answer_cmd& cmd) { return on_answer(self, cmd); },
    [=](rider_status_cmd& cmd) { return on_status(self, cmd); },
    [=](rider_assigned& m) { on_assigned(self, m); },
    [=](rider_released& m) { return on_released(self, m); },
    [=](offer_withdrawn& m) {
      auto id = m.offer_id.str();
      if (self->state.rider.offer().offer_id != id)
        return;
      journal(self, {clear_event(id)}, [=](caf::optional<core::error> err) {
        if (!err)
          sync_region(self);
      });
    },
    [=](rider_view_query&) {
      auto& r = self->state.rider;
      return rider_view{r.available(), r.offer().offer_id, r.order_id(), r.last_seq(),
                        r.cell(), report_cell_of(self)};
    },
    [=](region_route& m) { on_route(self, m); },
    [=](subscribe_cmd& cmd) { return on_subscribe(self, cmd); },
    [=](unsubscribe_cmd& cmd) {
      if (drop_gateway(self, cmd.gateway.address()))
        cluster::unwatch_gateway(self, self->state.ctx, cmd.gateway.address());
      return msg::ok_reply{};
    },
    [=](cluster::gateway_down_atom, const caf::actor_addr& gw) { drop_gateway(self, gw); },
    cluster::passivation_handler_from_state(
        self,
        [self] {
          ask_to_resubscribe(self, self->state.gateways, "rider:" + self->state.ctx.self.key);
        },
        [self](auto stop) {
          // A graceful stop (passivation, handoff) loses no seq: the router
          // holds the rider's messages until this mark is written, so its
          // next activation recovers it.
          if (self->state.rider.unmarked())
            write_mark(self, stop);
          else
            stop();
        }),
  };
}

} // namespace

caf::actor spawn_rider_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services) {
  return sys.spawn(rider_behavior, ctx, std::move(services));
}

} // namespace courier::actors
