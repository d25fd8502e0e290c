#include "actors/reminder_actor.hpp"

#include "actors/journal_events.hpp"
#include "core/assert.hpp"
#include "core/limits.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
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

/// entity -> itself: the tick armed for `at_ms` (domain clock); it runs
/// every wake due by then.
using r_tick_atom = caf::atom_constant<caf::atom("r.tick")>;

using timer_key = std::pair<cluster::entity_ref, std::string>;

/// When a timer's fire is tried next (its due time, or a retry's).
struct wake {
  core::time_ms due_ms = 0; ///< the due time the fire is for
  core::time_ms at_ms = 0;  ///< when to try it
};

/// Wakes in time order; the key points into reminder_state::wakes (stable
/// std::map nodes), compared by value so the order is the same every run.
struct wake_order_less {
  bool operator()(const std::pair<core::time_ms, const timer_key*>& a,
                  const std::pair<core::time_ms, const timer_key*>& b) const {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  }
};

/// A write accepted but not yet journaled, or a request waiting for one.
struct queued_write {
  std::optional<reminder_event> ev; ///< none: answers once earlier writes land
  std::optional<caf::response_promise> rp; ///< none: a fired timer's record
};

struct reminder_state {
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  std::map<timer_key, core::time_ms> timers; ///< as journaled
  std::size_t timer_bytes = 0;               ///< their snapshot encoding, about
  storage::version_t version = 0;
  std::uint64_t since_snapshot = 0; ///< events journaled since the last snapshot
  /// Timers fired before without an answer: how often (as journaled; each
  /// retry is a `set` to a later due time carrying the count, so the count
  /// and the wait survive passivation and crashes).
  std::map<timer_key, std::uint32_t> tries;
  /// Fires awaiting their target's answer (bounded: reminder_fires_in_flight_max).
  std::set<std::pair<timer_key, core::time_ms>> firing;
  /// The next fire try of each timer that has one (at most one per timer,
  /// so at most the timers), and the same in time order. A shard keeps its
  /// own schedule and arms one tick for the earliest, instead of one CAF
  /// delayed message per timer: CAF 0.17 cannot cancel a delayed message,
  /// so a cancelled 30-minute delay alert held ~0.5 KB in the clock for 30
  /// minutes (issue #13's soak: RSS grew with every order).
  std::map<timer_key, wake> wakes;
  std::set<std::pair<core::time_ms, const timer_key*>, wake_order_less> wake_order;
  /// Ticks armed and not yet run (bounded: reminder_ticks_in_flight_max).
  std::multiset<core::time_ms> ticks;
  /// Accepted writes in arrival order, the ones in flight first
  /// (bounded: reminder_writes_queued_max).
  std::deque<queued_write> queue;
  std::size_t in_flight = 0; ///< the queue's first entries, being appended
  /// Each timer with queued events: its due time once they land (none:
  /// gone) and how many there are.
  struct queued_timer {
    std::optional<core::time_ms> due;
    std::uint32_t events = 0;
  };
  std::map<timer_key, queued_timer> queued_due;
  std::size_t queued_set_bytes = 0; ///< of the queued sets (what they may add)
  bool passivate_when_idle = false;
  static inline const char* name = "courier.reminder";
};

using reminder_actor = caf::stateful_actor<reminder_state>;

timer_key key_of(const reminder_event& ev) {
  return {{ev.target_kind, ev.target_key}, ev.tag};
}

/// About what one timer adds to the shard's snapshot (protobuf field
/// headers and the due time, besides the strings).
std::size_t bytes_of(const timer_key& key) {
  constexpr std::size_t framing_bytes = 24;
  return key.first.kind.size() + key.first.key.size() + key.second.size() + framing_bytes;
}

/// Forgets `key`'s next fire try, if it has one.
void drop_wake(reminder_state& st, const timer_key& key) {
  auto it = st.wakes.find(key);
  if (it == st.wakes.end())
    return;
  st.wake_order.erase({it->second.at_ms, &it->first});
  st.wakes.erase(it);
}

void apply(reminder_state& st, const reminder_event& ev) {
  auto key = key_of(ev);
  auto it = st.timers.find(key);
  if (ev.what == reminder_event::kind::set && ev.tries > 0)
    st.tries[key] = ev.tries;
  else
    st.tries.erase(key);
  if (ev.what == reminder_event::kind::set) {
    if (it == st.timers.end()) {
      st.timers.emplace(key, ev.due_ms);
      st.timer_bytes += bytes_of(key);
    } else {
      it->second = ev.due_ms;
    }
  } else if (it != st.timers.end()) {
    st.timer_bytes -= bytes_of(key);
    st.timers.erase(it);
    drop_wake(st, key);
  }
}

reminder_event event_of(reminder_event::kind what, const timer_key& key,
                        core::time_ms due_ms = 0, std::uint32_t tries = 0) {
  reminder_event ev;
  ev.what = what;
  ev.target_kind = key.first.kind;
  ev.target_key = key.first.key;
  ev.tag = key.second;
  ev.due_ms = due_ms;
  ev.tries = tries;
  return ev;
}

std::uint32_t tries_of(const reminder_state& st, const timer_key& key) {
  auto it = st.tries.find(key);
  return it == st.tries.end() ? 0 : it->second;
}

/// Snapshots the timers as journaled once enough events piled up since the
/// last snapshot (domain_config::reminder_snapshot_events_min). Fire and
/// forget: a lost snapshot is taken again after as many events.
void maybe_snapshot(reminder_actor* self) {
  auto& st = self->state;
  auto every = std::max<std::uint64_t>(st.svc->cfg.reminder_snapshot_events_min,
                                       st.timers.size() / 2);
  if (st.since_snapshot < every)
    return;
  std::vector<reminder_event> all;
  all.reserve(st.timers.size());
  for (auto& [key, due] : st.timers)
    all.push_back(event_of(reminder_event::kind::set, key, due, tries_of(st, key)));
  cluster::save_snapshot(self, st.ctx, st.version, encode_reminder_snapshot(all));
  st.since_snapshot = 0;
}

std::chrono::milliseconds until(const domain_services& svc, core::time_ms due_ms) {
  return std::chrono::milliseconds{std::max<core::time_ms>(0, due_ms - svc.clock->now_ms())};
}

/// Reports the shard's load to the node (domain_services::observe_reminder_load).
void report_load(const reminder_state& st, bool stopping = false) {
  if (st.svc->observe_reminder_load)
    st.svc->observe_reminder_load(st.ctx.self.key, stopping ? 0 : st.timers.size(),
                                  stopping ? 0 : st.wakes.size());
}

/// Arms a tick for the earliest wake unless one at or before it is armed.
/// Ticks pile up only when ever earlier wakes arrive; beyond
/// reminder_ticks_in_flight_max the earliest armed tick runs the new wake
/// (late by at most the gap).
void arm_tick(reminder_actor* self) {
  auto& st = self->state;
  if (st.wake_order.empty())
    return;
  const auto at = st.wake_order.begin()->first;
  if (!st.ticks.empty() && *st.ticks.begin() <= at)
    return;
  if (st.ticks.size() >= reminder_ticks_in_flight_max)
    return;
  st.ticks.insert(at);
  self->delayed_send(self, until(*st.svc, at), r_tick_atom::value, at);
}

/// Fires the timer of `key` due at `due_ms` after `delay` (replacing the
/// timer's earlier fire try: only the latest due time can fire).
void arm_in(reminder_actor* self, const timer_key& key, core::time_ms due_ms,
            std::chrono::milliseconds delay) {
  auto& st = self->state;
  drop_wake(st, key);
  const auto at = st.svc->clock->now_ms() + delay.count();
  auto [it, added] = st.wakes.emplace(key, wake{due_ms, at});
  COURIER_ASSERT(added);
  st.wake_order.insert({at, &it->first});
  arm_tick(self);
}

void arm(reminder_actor* self, const timer_key& key, core::time_ms due_ms) {
  arm_in(self, key, due_ms, until(*self->state.svc, due_ms));
}

/// The timer's due time once every queued write has landed.
std::optional<core::time_ms> due_after_queue(const reminder_state& st, const timer_key& key) {
  if (auto q = st.queued_due.find(key); q != st.queued_due.end())
    return q->second.due;
  if (auto it = st.timers.find(key); it != st.timers.end())
    return it->second;
  return std::nullopt;
}

void passivate_now(reminder_actor* self);
void write_next(reminder_actor* self);

/// The append in flight failed: nothing queued can be trusted to land in
/// the order it was decided, so every waiting request fails (callers retry)
/// and the shard carries on from what is journaled.
void fail_queue(reminder_actor* self, const core::error& err) {
  auto& st = self->state;
  for (auto& w : st.queue)
    if (w.rp)
      w.rp->deliver(cluster::to_caf_error(err));
  st.queue.clear();
  st.queued_due.clear();
  st.queued_set_bytes = 0;
  st.in_flight = 0;
}

void written(reminder_actor* self, core::result<storage::version_t> r) {
  auto& st = self->state;
  if (!r) {
    fail_queue(self, r.err());
    if (r.err().code == core::errc::conflict) { // another activation writes: step down
      report_load(st, true);
      return self->quit(cluster::to_caf_error(r.err()));
    }
  } else {
    st.version = *r;
    for (std::size_t i = 0; i < st.in_flight; ++i) {
      auto& w = st.queue.front();
      if (w.ev) {
        auto key = key_of(*w.ev);
        apply(st, *w.ev);
        ++st.since_snapshot;
        if (w.ev->what == reminder_event::kind::set) {
          st.queued_set_bytes -= bytes_of(key);
          arm(self, key, w.ev->due_ms);
        }
        // A timer whose last queued event landed is as journaled again.
        auto q = st.queued_due.find(key);
        COURIER_ASSERT(q != st.queued_due.end() && q->second.events > 0);
        if (--q->second.events == 0)
          st.queued_due.erase(q);
      }
      if (w.rp)
        w.rp->deliver(msg::ok_reply{});
      st.queue.pop_front();
    }
    st.in_flight = 0;
    // Waiters right behind the landed writes need no append of their own.
    while (!st.queue.empty() && !st.queue.front().ev) {
      st.queue.front().rp->deliver(msg::ok_reply{});
      st.queue.pop_front();
    }
    maybe_snapshot(self);
    report_load(st);
  }
  write_next(self);
}

/// Starts the next append if none is in flight: the queued events up to
/// journal_events_per_append_max (waiters among them ride along).
void write_next(reminder_actor* self) {
  auto& st = self->state;
  if (st.in_flight > 0)
    return;
  std::vector<std::string> lines;
  std::size_t n = 0;
  for (auto& w : st.queue) {
    if (w.ev) {
      if (lines.size() == core::limits::journal_events_per_append_max)
        break;
      lines.push_back(encode(*w.ev));
    }
    ++n;
  }
  if (lines.empty()) {
    COURIER_ASSERT(st.queue.empty());
    if (st.passivate_when_idle)
      passivate_now(self);
    return;
  }
  st.in_flight = n;
  cluster::persist_in_background(self, st.ctx, st.version, std::move(lines),
                                 [self](core::result<storage::version_t> r) {
                                   written(self, std::move(r));
                                 });
}

/// Queues `ev`, answered through `rp` once durable (no event: `rp` only
/// waits for the timer's earlier writes).
void enqueue(reminder_actor* self, const timer_key& key, std::optional<reminder_event> ev,
             std::optional<caf::response_promise> rp) {
  auto& st = self->state;
  if (ev) {
    auto& q = st.queued_due[key];
    q.due = ev->what == reminder_event::kind::set ? std::optional<core::time_ms>{ev->due_ms}
                                                  : std::nullopt;
    q.events += 1;
    if (ev->what == reminder_event::kind::set)
      st.queued_set_bytes += bytes_of(key);
  }
  st.queue.push_back({std::move(ev), std::move(rp)});
  write_next(self);
}

/// A request's write (or wait): answered once it is durable.
caf::result<msg::ok_reply> enqueue_request(reminder_actor* self, const timer_key& key,
                                           std::optional<reminder_event> ev) {
  if (self->state.queue.size() >= reminder_writes_queued_max)
    return cluster::to_caf_error({core::errc::overloaded, "reminder shard busy"});
  auto rp = self->make_response_promise<msg::ok_reply>();
  enqueue(self, key, std::move(ev), rp);
  return rp;
}

caf::result<msg::ok_reply> on_set(reminder_actor* self, const reminder_set& req) {
  auto& st = self->state;
  timer_key key{req.target, req.tag};
  auto due = due_after_queue(st, key);
  bool queued = st.queued_due.count(key) > 0;
  if (due == req.due_ms) // a repeat: answer once what it repeats is durable
    return queued ? enqueue_request(self, key, std::nullopt) : msg::ok_reply{};
  if (!due && (st.timers.size() + st.queued_due.size() >= reminders_per_shard_max ||
               st.timer_bytes + st.queued_set_bytes + bytes_of(key) >
                   reminder_bytes_per_shard_max))
    return cluster::to_caf_error({core::errc::overloaded, "reminder shard full"});
  return enqueue_request(self, key, event_of(reminder_event::kind::set, key, req.due_ms));
}

caf::result<msg::ok_reply> on_cancel(reminder_actor* self, const reminder_cancel& req) {
  auto& st = self->state;
  timer_key key{req.target, req.tag};
  if (!due_after_queue(st, key))
    return st.queued_due.count(key) > 0 ? enqueue_request(self, key, std::nullopt)
                                        : msg::ok_reply{};
  return enqueue_request(self, key, event_of(reminder_event::kind::cancel, key));
}

/// Journals that the timer fired (it is gone once that lands).
void record_fired(reminder_actor* self, const timer_key& key, core::time_ms due_ms) {
  if (self->state.queue.size() >= reminder_writes_queued_max)
    return arm_in(self, key, due_ms, std::chrono::seconds{1}); // fires again, later
  enqueue(self, key, event_of(reminder_event::kind::fired, key), std::nullopt);
}

/// The target answered the fire (or did not, `confirmed` false).
void fire_answered(reminder_actor* self, const timer_key& key, core::time_ms due_ms,
                   bool confirmed) {
  auto& st = self->state;
  st.firing.erase({key, due_ms});
  if (due_after_queue(st, key) != due_ms)
    return; // moved or cancelled meanwhile
  if (confirmed)
    return record_fired(self, key, due_ms);
  auto tries = tries_of(st, key) + 1;
  if (tries >= reminder_fire_attempts_max) {
    if (st.svc->observe_reminder_given_up)
      st.svc->observe_reminder_given_up(key.first.str(), key.second);
    return record_fired(self, key, due_ms);
  }
  auto delay = st.svc->cfg.reminder_refire_after;
  for (std::uint32_t i = 1; i < tries && delay < reminder_refire_after_max; ++i)
    delay *= 2;
  delay = std::min<std::chrono::milliseconds>(delay, reminder_refire_after_max);
  if (st.queue.size() >= reminder_writes_queued_max)
    return arm_in(self, key, due_ms, delay); // not counted; fires again
  // Journaled, so a successor (after passivation or a crash) waits too.
  auto again = st.svc->clock->now_ms() + delay.count();
  enqueue(self, key, event_of(reminder_event::kind::set, key, again, tries), std::nullopt);
}

void on_fire(reminder_actor* self, const timer_key& key, core::time_ms due_ms) {
  auto& st = self->state;
  const auto& target = key.first;
  const auto& tag = key.second;
  if (due_after_queue(st, key) != due_ms)
    return; // cancelled or moved since it was armed
  if (due_ms > st.svc->clock->now_ms())
    return arm(self, key, due_ms); // woken early (passivation wake)
  if (st.firing.count({key, due_ms}) > 0)
    return; // armed twice (recovery, a wake): one fire is enough
  if (st.firing.size() >= reminder_fires_in_flight_max)
    return arm_in(self, key, due_ms, std::chrono::seconds{1});
  st.firing.insert({key, due_ms});
  // At least once: the timer is recorded as fired only after its target
  // answered; a crash before that fires it again after recovery.
  cluster::ask(self, st.ctx.router, reminder_fire_timeout, target, reminder_fired{tag, due_ms})
      .then([self, key, due_ms]() { fire_answered(self, key, due_ms, true); },
            [self, key, due_ms](caf::error&) { fire_answered(self, key, due_ms, false); });
}

/// The tick armed for `at_ms`: tries every wake due by now (in time order),
/// then arms the next tick.
void on_tick(reminder_actor* self, core::time_ms at_ms) {
  auto& st = self->state;
  if (auto it = st.ticks.find(at_ms); it != st.ticks.end())
    st.ticks.erase(it);
  const auto now = st.svc->clock->now_ms();
  std::vector<std::pair<timer_key, core::time_ms>> due;
  while (!st.wake_order.empty() && st.wake_order.begin()->first <= now) {
    auto it = st.wakes.find(*st.wake_order.begin()->second);
    COURIER_ASSERT(it != st.wakes.end());
    due.emplace_back(it->first, it->second.due_ms);
    drop_wake(st, it->first);
  }
  for (auto& [key, due_ms] : due)
    on_fire(self, key, due_ms);
  arm_tick(self);
  if (!due.empty())
    report_load(st);
}

/// Has the router wake this shard at its next due time, confirms
/// passivation and stops.
void passivate_now(reminder_actor* self) {
  auto& st = self->state;
  if (!st.timers.empty()) {
    auto next = std::min_element(st.timers.begin(), st.timers.end(), [](auto& a, auto& b) {
                  return a.second < b.second;
                })->second;
    self->delayed_send(st.ctx.router, until(*st.svc, next), cluster::route_atom::value,
                       st.ctx.self, caf::make_message(reminder_wake{}));
  }
  self->send(st.ctx.router, cluster::passivated_atom::value, st.ctx.self);
  report_load(st, true);
  self->quit();
}

caf::behavior reminder_behavior(reminder_actor* self, cluster::entity_context ctx,
                                std::shared_ptr<const domain_services> svc) {
  self->state.ctx = std::move(ctx);
  self->state.svc = std::move(svc);
  cluster::recover(self, self->state.ctx, [self](storage::recovered_stream& rec) {
    if (rec.snapshot) {
      auto timers = decode_reminder_snapshot(rec.snapshot->payload);
      COURIER_ASSERT(timers.ok());
      for (auto& t : *timers)
        apply(self->state, t);
    }
    for (auto& ev : rec.events) {
      auto decoded = decode_reminder_event(ev.payload);
      COURIER_ASSERT(decoded.ok());
      apply(self->state, *decoded);
    }
    self->state.version = rec.version;
    self->state.since_snapshot = rec.events.size();
    for (auto& kv : self->state.timers)
      arm(self, kv.first, kv.second);
    report_load(self->state);
  });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  return {
    [self](const reminder_set& req) { return on_set(self, req); },
    [self](const reminder_cancel& req) { return on_cancel(self, req); },
    [](reminder_wake) { return msg::ok_reply{}; },
    [self](r_tick_atom, core::time_ms at_ms) { on_tick(self, at_ms); },
    // The router holds new messages meanwhile: what is queued lands first.
    [self](cluster::passivate_atom) {
      if (self->state.queue.empty())
        return passivate_now(self);
      self->state.passivate_when_idle = true;
    },
  };
}

} // namespace

caf::actor spawn_reminder_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                                std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services->clock != nullptr);
  return sys.spawn(reminder_behavior, ctx, std::move(services));
}

} // namespace courier::actors
