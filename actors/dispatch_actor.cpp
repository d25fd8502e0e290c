#include "actors/dispatch_actor.hpp"

#include "actors/dispatch_state.hpp"
#include "actors/protocol.hpp"
#include "actors/region_index.hpp"
#include "actors/reminder_actor.hpp"
#include "cluster/entity.hpp"
#include "core/assert.hpp"
#include "geo/cell.hpp"
#include "geo/indexing.hpp"
#include "geo/traversal.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cmath>

namespace courier::actors {

namespace {

using d_expire_atom = caf::atom_constant<caf::atom("d.expire")>;
using d_round_atom = caf::atom_constant<caf::atom("d.round")>;
using d_assign_atom = caf::atom_constant<caf::atom("d.assign")>;
/// dispatch -> itself: the deadline of one search ring (epoch, ring).
using d_ring_atom = caf::atom_constant<caf::atom("d.ring")>;

/// How long dispatch waits for a region, a rider or the order.
constexpr std::chrono::seconds dispatch_ask_timeout{5};
/// Re-asks of the order after an error other than conflict.
constexpr std::uint32_t assign_attempts_max = 5;
constexpr std::chrono::seconds assign_retry_delay{1};
/// H3 cells are not perfect hexagons: shrink the ring distance bound.
constexpr double ring_bound_safety = 0.9;
/// Consecutive journal failures before the activation stops.
constexpr std::uint32_t journal_failures_max = 3;

const std::string watch_tag = "watch";

/// One search in flight: the rings around the store and what they gave.
struct search_run {
  std::uint64_t epoch = 0;
  std::vector<std::vector<geo::cell>> rings;
  double edge_m = 0.0;
  std::size_t ring = 0;
  std::size_t pending = 0;
  std::vector<dispatch_candidate> found;
};

struct dispatch_actor_state {
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  dispatch_timers timers = dispatch_timers::durable;
  dispatch_state d;
  storage::version_t version = 0;
  std::uint64_t search_epoch = 0;
  std::shared_ptr<search_run> run; ///< the search in flight, if any
  bool searching = false;
  bool round_armed = false;
  bool assign_in_flight = false;
  std::uint32_t assign_attempts = 0;
  std::uint32_t journal_failures = 0; ///< consecutive
  static inline const char* name = "courier.dispatch";
};

using dispatch_actor = caf::stateful_actor<dispatch_actor_state>;

caf::error fail(core::errc code, std::string text) {
  return cluster::to_caf_error(core::make_error(code, std::move(text)));
}

core::time_ms now_ms(dispatch_actor* self) { return self->state.svc->clock->now_ms(); }
const domain_config& cfg_of(dispatch_actor* self) { return self->state.svc->cfg; }
core::order_id order_of(dispatch_actor* self) {
  return core::order_id{self->state.ctx.self.key};
}

/// Journals `ev`, applies it, then `done(ok)`. An activation whose journal
/// keeps failing stops (its timers would otherwise retry forever); the
/// router activates a fresh one, which recovers, on the next message.
template <class Done>
void journal(dispatch_actor* self, dispatch_event ev, Done done) {
  cluster::persist(self, self->state.ctx, self->state.version, {ev.encode()},
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       if (++self->state.journal_failures >= journal_failures_max)
                         self->quit(cluster::to_caf_error(r.err()));
                       done(false);
                       return;
                     }
                     self->state.journal_failures = 0;
                     self->state.version = *r;
                     self->state.d.apply(ev);
                     done(true);
                   });
}

// -- timers -------------------------------------------------------------------

void set_reminder(dispatch_actor* self, const std::string& tag, core::time_ms due_ms) {
  auto& st = self->state;
  if (st.timers != dispatch_timers::durable)
    return;
  cluster::tell(self, st.ctx.router, reminder_ref_for(st.ctx.self, cfg_of(self).reminder_shards),
                reminder_set{st.ctx.self, tag, due_ms});
}

void cancel_reminder(dispatch_actor* self, const std::string& tag) {
  auto& st = self->state;
  if (st.timers != dispatch_timers::durable)
    return;
  cluster::tell(self, st.ctx.router, reminder_ref_for(st.ctx.self, cfg_of(self).reminder_shards),
                reminder_cancel{st.ctx.self, tag});
}

void arm_watch(dispatch_actor* self) {
  set_reminder(self, watch_tag, now_ms(self) + 2 * cfg_of(self).offer_timeout.count());
}

void arm_offer_timer(dispatch_actor* self, const dispatch_offer& o, bool durable_too) {
  auto left = std::max<core::time_ms>(0, o.expires_ms - now_ms(self));
  self->delayed_send(self, std::chrono::milliseconds{left}, d_expire_atom::value, o.offer_id);
  if (durable_too)
    set_reminder(self, "offer:" + o.offer_id, o.expires_ms);
}

void schedule_round(dispatch_actor* self) {
  auto& st = self->state;
  if (st.round_armed || st.d.finished())
    return;
  auto next = st.d.round() + 1;
  if (next > dispatch_round_limit)
    return; // gave up: the watchdog stays quiet too (see resume)
  st.round_armed = true;
  auto retry = cfg_of(self).dispatch_retry;
  self->delayed_send(self, retry, d_round_atom::value, next);
  set_reminder(self, "round:" + std::to_string(next), now_ms(self) + retry.count());
}

// -- offers ---------------------------------------------------------------------

void begin_search(dispatch_actor* self);

void send_withdrawn(dispatch_actor* self, const dispatch_offer& o) {
  cluster::tell(self, self->state.ctx.router, rider_ref(core::rider_id{o.rider_id}),
                offer_withdrawn{core::offer_id{o.offer_id}});
}

/// Closes the live offer `offer_id` (if it still is) and moves on.
void move_on(dispatch_actor* self, const std::string& offer_id, bool withdraw) {
  auto& d = self->state.d;
  if (d.phase() != dispatch_phase::offering || d.offer().offer_id != offer_id)
    return;
  if (withdraw)
    send_withdrawn(self, d.offer());
  cancel_reminder(self, "offer:" + offer_id);
  d.close_offer();
  begin_search(self);
}

void send_offer(dispatch_actor* self) {
  auto& st = self->state;
  const auto& o = st.d.offer();
  const auto& spec = st.d.spec();
  msg::offer m;
  m.offer_id = core::offer_id{o.offer_id};
  m.order_id = core::order_id{spec.order_id};
  m.store = msg::lat_lng{spec.store_lat, spec.store_lng};
  m.dropoff = msg::lat_lng{spec.dropoff_lat, spec.dropoff_lng};
  m.distance_m = o.distance_m;
  m.expires_ms = o.expires_ms;
  auto id = o.offer_id;
  cluster::ask(self, st.ctx.router, dispatch_ask_timeout, rider_ref(core::rider_id{o.rider_id}),
               offer_request{m})
      .then(
          [=](offer_reply& r) {
            if (!r.offered)
              return move_on(self, id, false);
            // The local expiry only for an offer the rider holds: a refused
            // offer's delayed message would sit in CAF's clock until the
            // expiry anyway (CAF 0.17 cannot cancel one; bench/README.md).
            auto& d = self->state.d;
            if (d.phase() == dispatch_phase::offering && d.offer().offer_id == id)
              arm_offer_timer(self, d.offer(), false);
          },
          [=](caf::error&) { move_on(self, id, true); });
}

void make_offer(dispatch_actor* self, const dispatch_candidate& c) {
  auto& d = self->state.d;
  dispatch_event ev{dispatch_event::kind::offer, {}, {}, {}, 0};
  ev.offer = dispatch_offer{d.next_offer_id(), c.rider_id,
                            now_ms(self) + cfg_of(self).offer_timeout.count(), c.distance_m,
                            false};
  journal(self, ev, [=](bool ok) {
    if (!ok) {
      schedule_round(self); // the journal failed: try again later
      return;
    }
    // Durable expiry first (a crash or passivation meanwhile still expires
    // the offer); the local one once the rider holds it (send_offer).
    const auto& o = self->state.d.offer();
    set_reminder(self, "offer:" + o.offer_id, o.expires_ms);
    send_offer(self);
  });
}

/// Offers to the next candidate, searches again, or waits for a new round.
void offer_next(dispatch_actor* self) {
  auto& d = self->state.d;
  if (d.phase() != dispatch_phase::searching)
    return;
  if (d.offers_this_round() >= cfg_of(self).dispatch_rounds_max) {
    schedule_round(self);
    return;
  }
  dispatch_candidate c;
  if (d.next_candidate(c))
    make_offer(self, c);
  else
    begin_search(self);
}

void expire(dispatch_actor* self, const std::string& offer_id) {
  auto& d = self->state.d;
  if (d.phase() != dispatch_phase::offering || d.offer().offer_id != offer_id)
    return;
  if (now_ms(self) < d.offer().expires_ms) {
    arm_offer_timer(self, d.offer(), false); // an early reminder: wait the rest
    return;
  }
  move_on(self, offer_id, true);
}

// -- search ---------------------------------------------------------------------

/// Smallest distance from any point of the origin cell to any point of a
/// cell `ring` steps away (hexagon geometry, shrunk for H3's distortion).
double ring_lower_bound_m(std::size_t ring, double edge_m) {
  return std::max(0.0, (1.5 * static_cast<double>(ring) - 2.0) * edge_m * ring_bound_safety);
}

/// Edge length near `origin`: the nearest neighbour's center spacing / sqrt 3.
double edge_near_m(geo::cell origin, const std::vector<geo::cell>& ring1) {
  auto c = geo::cell_to_lat_lng(origin);
  double spacing = 0.0;
  for (auto n : ring1) {
    auto p = geo::cell_to_lat_lng(n);
    if (!c || !p)
      continue;
    auto dist = distance_between_m(c->lat_deg, c->lng_deg, p->lat_deg, p->lng_deg);
    spacing = spacing == 0.0 ? dist : std::min(spacing, dist);
  }
  return spacing / std::sqrt(3.0);
}

void finish_search(dispatch_actor* self, const std::shared_ptr<search_run>& run, double bound) {
  auto& st = self->state;
  st.searching = false;
  st.run.reset();
  // Only candidates nearer than anything an unsearched ring could hold are
  // known to be in order; the rest are found again by the next search.
  std::vector<dispatch_candidate> ordered;
  for (auto& c : run->found)
    if (c.distance_m <= bound)
      ordered.push_back(c);
  st.d.set_candidates(std::move(ordered), cfg_of(self).dispatch_candidates_max);
  if (st.d.candidates_left() == 0) {
    schedule_round(self);
    return;
  }
  offer_next(self);
}

void search_ring(dispatch_actor* self, std::shared_ptr<search_run> run);

void ring_done(dispatch_actor* self, const std::shared_ptr<search_run>& run) {
  auto& st = self->state;
  if (run->epoch != st.search_epoch || !st.searching)
    return; // stopped or superseded meanwhile
  bool last = run->ring + 1 >= run->rings.size();
  double bound = last ? st.d.spec().radius_m : ring_lower_bound_m(run->ring + 1, run->edge_m);
  bool proven = std::any_of(run->found.begin(), run->found.end(),
                            [&](auto& c) { return c.distance_m <= bound; });
  if (last || proven) {
    finish_search(self, run, bound);
    return;
  }
  run->ring += 1;
  search_ring(self, run);
}

void search_ring(dispatch_actor* self, std::shared_ptr<search_run> run) {
  auto& st = self->state;
  const auto& spec = st.d.spec();
  const auto& cells = run->rings[run->ring];
  region_find_riders q;
  q.lat = spec.store_lat;
  q.lng = spec.store_lng;
  q.radius_m = spec.radius_m;
  q.limit = cfg_of(self).dispatch_candidates_max;
  for (auto& id : st.d.tried())
    q.exclude.emplace_back(id);
  run->pending = cells.size();
  if (cells.empty()) {
    ring_done(self, run);
    return;
  }
  // One deadline for the whole ring, not one CAF request timeout per cell:
  // a search with no rider near asks dozens of cells, and each timeout is
  // an entry in CAF's clock plus a wasted message when it expires (79% of
  // the node's request timeouts in bench/orders, issue #11).
  auto ring = run->ring;
  auto current = [self, run, ring] {
    return run->ring == ring && run->epoch == self->state.search_epoch &&
           self->state.searching && run->pending > 0;
  };
  for (auto cell : cells) {
    cluster::ask(self, st.ctx.router, caf::infinite, region_ref(geo::cell_to_string(cell)), q)
        .then(
            [=](region_candidates& found) {
              if (!current())
                return; // past the ring's deadline
              for (auto& c : found.riders)
                run->found.push_back(dispatch_candidate{c.rider_id.str(), c.distance_m});
              if (--run->pending == 0)
                ring_done(self, run);
            },
            [=](caf::error&) {
              // A region that does not answer contributes nobody this time.
              if (current() && --run->pending == 0)
                ring_done(self, run);
            });
  }
  self->delayed_send(self, dispatch_ask_timeout, d_ring_atom::value, run->epoch,
                     static_cast<std::uint64_t>(ring));
}

/// A ring's deadline: the cells that have not answered contribute nobody.
void on_ring_deadline(dispatch_actor* self, std::uint64_t epoch, std::uint64_t ring) {
  auto run = self->state.run;
  if (!run || run->epoch != epoch || run->ring != ring || run->pending == 0 ||
      !self->state.searching)
    return;
  run->pending = 0;
  ring_done(self, run);
}

/// Rings 0..k where ring k+1 is provably beyond the radius (bounded).
std::vector<std::vector<geo::cell>> rings_for(geo::cell origin, double radius_m,
                                              double& edge_m) {
  auto first = geo::grid_disk_distances(origin, 1);
  if (!first)
    return {};
  edge_m = edge_near_m(origin, first->size() > 1 ? (*first)[1] : std::vector<geo::cell>{});
  int k = 1;
  while (k < dispatch_rings_max && edge_m > 0.0 &&
         ring_lower_bound_m(static_cast<std::size_t>(k + 1), edge_m) <= radius_m)
    ++k;
  auto disks = geo::grid_disk_distances(origin, k);
  return disks ? std::move(*disks) : std::move(*first);
}

void begin_search(dispatch_actor* self) {
  auto& st = self->state;
  if (st.searching || st.d.phase() != dispatch_phase::searching)
    return;
  if (st.d.candidates_left() > 0) {
    offer_next(self);
    return;
  }
  const auto& spec = st.d.spec();
  const auto& cfg = cfg_of(self);
  auto origin = region_cell_of(spec.store_lat, spec.store_lng, cfg.rider_index_res,
                               cfg.region_res);
  auto run = std::make_shared<search_run>();
  if (origin)
    run->rings = rings_for(*origin, spec.radius_m, run->edge_m);
  if (run->rings.empty()) {
    schedule_round(self);
    return;
  }
  st.searching = true;
  run->epoch = ++st.search_epoch;
  st.run = run;
  search_ring(self, std::move(run));
}

// -- answers, assignment, stop ---------------------------------------------------

void ask_assign(dispatch_actor* self, caf::response_promise rp);

void assign_failed(dispatch_actor* self, caf::response_promise rp, const caf::error& e) {
  auto& st = self->state;
  if (st.d.phase() != dispatch_phase::accepted) {
    if (rp.pending())
      rp.deliver(e);
    return;
  }
  if (cluster::from_caf_error(e).code == core::errc::conflict) {
    auto offer = st.d.offer();
    journal(self, dispatch_event{dispatch_event::kind::stopped, {}, {}, {}, 0},
            [=](bool) mutable {
              send_withdrawn(self, offer);
              cancel_reminder(self, watch_tag);
              if (rp.pending())
                rp.deliver(fail(core::errc::conflict, "the order refused the rider"));
            });
    return;
  }
  if (rp.pending())
    rp.deliver(e); // the rider may retry; the assignment is retried here
  if (++st.assign_attempts < assign_attempts_max)
    self->delayed_send(self, assign_retry_delay, d_assign_atom::value);
}

void assign_ok(dispatch_actor* self, caf::response_promise rp) {
  auto& st = self->state;
  if (st.d.phase() != dispatch_phase::accepted) {
    // Stopped meanwhile (the order was cancelled): it releases the rider.
    if (rp.pending())
      rp.deliver(fail(core::errc::conflict, "the order was stopped"));
    return;
  }
  auto offer = st.d.offer();
  journal(self, dispatch_event{dispatch_event::kind::assigned, {}, {}, offer.offer_id, 0},
          [=](bool ok) mutable {
            if (!ok) {
              if (rp.pending())
                rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
              self->delayed_send(self, assign_retry_delay, d_assign_atom::value);
              return;
            }
            cluster::tell(self, self->state.ctx.router,
                          rider_ref(core::rider_id{offer.rider_id}),
                          rider_assigned{order_of(self), core::offer_id{offer.offer_id}});
            cancel_reminder(self, watch_tag);
            if (rp.pending())
              rp.deliver(msg::ok_reply{});
          });
}

void ask_assign(dispatch_actor* self, caf::response_promise rp) {
  auto& st = self->state;
  if (st.d.phase() != dispatch_phase::accepted || st.assign_in_flight)
    return;
  st.assign_in_flight = true;
  const auto& o = st.d.offer();
  cluster::ask(self, st.ctx.router, dispatch_ask_timeout, order_ref(order_of(self)),
               assign_rider{core::offer_id{o.offer_id}, core::rider_id{o.rider_id}})
      .then(
          [=](msg::ok_reply&) mutable {
            self->state.assign_in_flight = false;
            assign_ok(self, rp);
          },
          [=](caf::error& e) mutable {
            self->state.assign_in_flight = false;
            assign_failed(self, rp, e);
          });
}

caf::result<msg::ok_reply> on_answer(dispatch_actor* self, dispatch_answer& a) {
  auto& st = self->state;
  auto& d = st.d;
  auto offer_id = a.offer_id.str();
  auto rider = a.rider_id.str();
  if (!a.accept) {
    if (d.phase() == dispatch_phase::offering && d.offer().offer_id == offer_id &&
        d.offer().rider_id == rider)
      move_on(self, offer_id, false);
    return msg::ok_reply{};
  }
  if (d.phase() == dispatch_phase::assigned && d.assigned_rider() == rider &&
      d.offers_made() > 0)
    return msg::ok_reply{}; // a retried accept that already won
  if (d.phase() == dispatch_phase::accepted && d.offer().offer_id == offer_id)
    return fail(core::errc::unavailable, "assignment in progress");
  if (!d.is_live(offer_id, rider, now_ms(self)))
    return fail(core::errc::conflict, "offer expired or taken");
  auto rp = self->make_response_promise<msg::ok_reply>();
  journal(self, dispatch_event{dispatch_event::kind::accepted, {}, {}, offer_id, 0},
          [=](bool ok) mutable {
            if (!ok) {
              rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
              return;
            }
            cancel_reminder(self, "offer:" + offer_id);
            self->state.assign_attempts = 0;
            ask_assign(self, rp);
          });
  return rp;
}

caf::result<msg::ok_reply> on_start(dispatch_actor* self, dispatch_start& s) {
  if (self->state.d.phase() != dispatch_phase::idle)
    return msg::ok_reply{}; // idempotent: the order re-sends until confirmed
  dispatch_event ev{dispatch_event::kind::start, {}, {}, {}, 0};
  ev.spec = dispatch_spec{s.order_id.str(), s.store_id.str(), s.store.lat, s.store.lng,
                          s.dropoff.lat, s.dropoff.lng,
                          s.radius_m > 0.0 ? s.radius_m : cfg_of(self).dispatch_radius_m};
  auto rp = self->make_response_promise<msg::ok_reply>();
  journal(self, ev, [=](bool ok) mutable {
    if (!ok) {
      rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
      return;
    }
    rp.deliver(msg::ok_reply{});
    arm_watch(self);
    begin_search(self);
  });
  return rp;
}

caf::result<msg::ok_reply> on_stop(dispatch_actor* self) {
  auto& d = self->state.d;
  if (d.finished() || d.phase() == dispatch_phase::idle)
    return msg::ok_reply{};
  auto offer = d.offer();
  auto rp = self->make_response_promise<msg::ok_reply>();
  journal(self, dispatch_event{dispatch_event::kind::stopped, {}, {}, {}, 0},
          [=](bool ok) mutable {
            if (!ok) {
              rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
              return;
            }
            self->state.searching = false;
            self->state.run.reset();
            if (!offer.offer_id.empty()) {
              send_withdrawn(self, offer);
              cancel_reminder(self, "offer:" + offer.offer_id);
            }
            cancel_reminder(self, watch_tag);
            rp.deliver(msg::ok_reply{});
          });
  return rp;
}

/// Picks up where the dispatch is: after recovery (`recovered`), or when
/// the watchdog fires.
void resume(dispatch_actor* self, bool recovered) {
  auto& st = self->state;
  auto& d = st.d;
  switch (d.phase()) {
    case dispatch_phase::idle:
      return;
    case dispatch_phase::searching:
      if (!st.round_armed && d.round() < dispatch_round_limit)
        begin_search(self);
      break;
    case dispatch_phase::offering:
      if (now_ms(self) >= d.offer().expires_ms) {
        expire(self, d.offer().offer_id);
      } else if (recovered) {
        send_offer(self); // arms the local expiry once the rider holds it
      }
      break;
    case dispatch_phase::accepted:
      ask_assign(self, caf::response_promise{});
      break;
    case dispatch_phase::assigned:
      if (recovered) {
        // The effect may not have left before the crash; riders deduplicate.
        cluster::tell(self, st.ctx.router, rider_ref(core::rider_id{d.assigned_rider()}),
                      rider_assigned{order_of(self), core::offer_id{d.assigned_offer_id()}});
      }
      cancel_reminder(self, watch_tag);
      return;
    case dispatch_phase::stopped:
      cancel_reminder(self, watch_tag);
      return;
  }
  if (!recovered)
    arm_watch(self);
}

void on_round(dispatch_actor* self, std::uint32_t round) {
  auto& st = self->state;
  if (round != st.d.round() + 1 || st.d.phase() != dispatch_phase::searching)
    return; // a duplicate (local timer and reminder) or overtaken
  st.round_armed = false;
  journal(self, dispatch_event{dispatch_event::kind::round, {}, {}, {}, round},
          [=](bool ok) {
            if (ok)
              begin_search(self);
            else
              schedule_round(self);
          });
}

void on_fired(dispatch_actor* self, const reminder_fired& f) {
  const auto& tag = f.tag;
  if (tag.rfind("offer:", 0) == 0)
    expire(self, tag.substr(6));
  else if (tag.rfind("round:", 0) == 0)
    on_round(self, static_cast<std::uint32_t>(std::strtoul(tag.c_str() + 6, nullptr, 10)));
  else if (tag == watch_tag)
    resume(self, false);
}

dispatch_view view_of(const dispatch_state& d) {
  static const char* names[] = {"idle", "searching", "offering", "accepted", "assigned", "stopped"};
  dispatch_view v;
  v.phase = names[static_cast<int>(d.phase())];
  v.offer_id = d.offer().offer_id;
  v.rider_id = d.phase() == dispatch_phase::assigned ? d.assigned_rider() : d.offer().rider_id;
  v.offers_made = d.offers_made();
  v.round = d.round();
  return v;
}

caf::behavior dispatch_behavior(dispatch_actor* self, cluster::entity_context ctx,
                                std::shared_ptr<const domain_services> svc,
                                dispatch_timers timers) {
  COURIER_ASSERT(svc != nullptr && svc->clock != nullptr);
  self->state.ctx = ctx;
  self->state.svc = svc;
  self->state.timers = timers;
  cluster::recover(self, ctx, [self](storage::recovered_stream& rec) {
    for (auto& e : rec.events) {
      auto ev = dispatch_event::decode(e.payload);
      COURIER_ASSERT(ev.ok());
      self->state.d.apply(*ev);
    }
    self->state.version = rec.version;
    if (rec.version > 0)
      resume(self, true); // before any other message: an overdue offer expires first
  });
  // Replies to one-way tells come back as ordinary messages (see rider).
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](dispatch_start& s) { return on_start(self, s); },
    [=](dispatch_stop&) { return on_stop(self); },
    [=](dispatch_answer& a) { return on_answer(self, a); },
    [=](const reminder_fired& f) { on_fired(self, f); },
    [=](d_expire_atom, const std::string& offer_id) { expire(self, offer_id); },
    [=](d_round_atom, std::uint32_t round) { on_round(self, round); },
    [=](d_ring_atom, std::uint64_t epoch, std::uint64_t ring) {
      on_ring_deadline(self, epoch, ring);
    },
    [=](d_assign_atom) { ask_assign(self, caf::response_promise{}); },
    [=](dispatch_view_query&) { return view_of(self->state.d); },
    cluster::passivation_handler(self, ctx),
  };
}

} // namespace

caf::actor spawn_dispatch_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                                std::shared_ptr<const domain_services> services,
                                dispatch_timers timers) {
  return sys.spawn(dispatch_behavior, ctx, std::move(services), timers);
}

} // namespace courier::actors
