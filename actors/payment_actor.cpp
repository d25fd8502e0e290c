#include "actors/payment_actor.hpp"

#include "actors/journal_events.hpp"
#include "actors/payment_provider.hpp"
#include "core/assert.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace courier::actors {
namespace {

/// provider -> entity: the answer to attempt `n` of an op.
using p_answer_atom = caf::atom_constant<caf::atom("p.answer")>;
/// entity -> itself: try an op again (attempt n).
using p_retry_atom = caf::atom_constant<caf::atom("p.retry")>;
/// entity -> itself: payment_idle passed since settle number n.
using p_idle_atom = caf::atom_constant<caf::atom("p.idle")>;

struct op_entry {
  payment_op_record rec;
  cluster::entity_ref reply_to;
  std::uint32_t attempt = 0;   ///< current attempt while unfinished
  bool finishing = false;      ///< outcome being journaled
};

struct payment_state {
  std::map<std::string, op_entry> ops;
  std::vector<std::string> order; ///< op ids in request order
  storage::version_t version = 0;
  /// The one copy of each: handlers capture only `self` (copies per
  /// handler were ~0.6 KB per live payment, bench/entities).
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  /// Calls settled so far: an idle check from an earlier settle is stale.
  std::uint64_t settles = 0;
  /// Set once told to passivate while a call was in flight: stops the
  /// activation when the last call settles (the router holds new requests
  /// meanwhile), so no call is left for the next activation to resume.
  std::function<void()> stop;
  static inline const char* name = "courier.payment";
};

using payment_actor = caf::stateful_actor<payment_state>;

bool approved(const payment_state& st, payment_op op) {
  for (auto& kv : st.ops)
    if (kv.second.rec.op == op && kv.second.rec.finished &&
        kv.second.rec.outcome == payment_outcome::approved)
      return true;
  return false;
}

/// True if an `op` finished with `outcome`.
bool ended(const payment_state& st, payment_op op, payment_outcome outcome) {
  for (auto& kv : st.ops)
    if (kv.second.rec.op == op && kv.second.rec.finished && kv.second.rec.outcome == outcome)
      return true;
  return false;
}

/// The ledger's rules: may `op` run now?
bool permitted(const payment_state& st, payment_op op) {
  switch (op) {
    case payment_op::authorize: return true;
    case payment_op::capture:
      return approved(st, payment_op::authorize) && !approved(st, payment_op::void_auth);
    case payment_op::void_auth:
      // Also after an authorization that ended `failed` (every attempt
      // timed out): the provider may hold money we never heard of.
      return (approved(st, payment_op::authorize) ||
              ended(st, payment_op::authorize, payment_outcome::failed)) &&
             !approved(st, payment_op::capture);
    case payment_op::refund: return approved(st, payment_op::capture);
  }
  return false;
}

void apply(payment_state& st, const payment_event& ev) {
  if (ev.what == payment_event::kind::requested) {
    op_entry e;
    e.rec.op_id = ev.op_id;
    e.rec.op = static_cast<payment_op>(ev.op);
    e.rec.amount_minor = ev.amount_minor;
    e.reply_to = {ev.reply_kind, ev.reply_key};
    if (st.ops.emplace(ev.op_id, e).second)
      st.order.push_back(ev.op_id);
    return;
  }
  auto it = st.ops.find(ev.op_id);
  COURIER_ASSERT(it != st.ops.end());
  it->second.rec.finished = true;
  it->second.rec.outcome = static_cast<payment_outcome>(ev.outcome);
  it->second.finishing = false;
  // Money invariant: never both captured and voided.
  COURIER_ASSERT(!(approved(st, payment_op::capture) && approved(st, payment_op::void_auth)));
}

/// True while a call is unfinished (requested, not yet journaled as done).
bool busy(const payment_state& st) {
  return std::any_of(st.ops.begin(), st.ops.end(),
                     [](const auto& kv) { return !kv.second.rec.finished; });
}

/// After a call settled: stop if told to passivate meanwhile, else check
/// again in payment_idle whether anything happened since.
void settled(payment_actor* self) {
  auto& st = self->state;
  if (busy(st))
    return;
  if (st.stop) {
    auto stop = std::move(st.stop);
    st.stop = nullptr;
    stop();
    return;
  }
  st.settles += 1;
  if (st.svc->cfg.payment_idle.count() > 0)
    self->delayed_send(self, st.svc->cfg.payment_idle, p_idle_atom::value, st.settles);
}

void report(payment_actor* self, const cluster::entity_context& ctx, const op_entry& e) {
  COURIER_ASSERT(e.rec.finished);
  cluster::tell(self, ctx.router, e.reply_to,
                payment_result{e.rec.op_id, e.rec.op, e.rec.outcome});
  settled(self);
}

void call_provider(payment_actor* self, const domain_services& svc,
                   const std::string& op_id) {
  auto& e = self->state.ops.at(op_id);
  provider_call call{op_id, static_cast<std::uint8_t>(e.rec.op), e.rec.amount_minor,
                     e.attempt};
  auto d = svc.payments->decide(call);
  self->delayed_send(self, d.latency, p_answer_atom::value, op_id, e.attempt,
                     static_cast<std::uint8_t>(d.answer));
}

void finish(payment_actor* self, const cluster::entity_context& ctx,
            const std::string& op_id, payment_outcome outcome) {
  auto& e = self->state.ops.at(op_id);
  e.finishing = true;
  payment_event ev;
  ev.what = payment_event::kind::outcome;
  ev.op_id = op_id;
  ev.outcome = static_cast<std::uint8_t>(outcome);
  cluster::persist(self, ctx, self->state.version, {encode(ev)},
                   [=](core::result<storage::version_t> r) {
                     auto& st = self->state;
                     if (!r) {
                       // Not durable, so not reported. Stop this activation:
                       // the order re-sends the request, which re-activates
                       // the entity, which resumes the op from the journal
                       // (the provider deduplicates by op_id). No retry loop
                       // against a journal that is down.
                       self->quit(cluster::to_caf_error(r.err()));
                       return;
                     }
                     st.version = *r;
                     apply(st, ev);
                     report(self, ctx, st.ops.at(op_id));
                   });
}

std::chrono::milliseconds backoff(const domain_config& cfg, std::uint32_t attempt) {
  // Exponential, capped at 64x the base so a retry never waits minutes.
  return cfg.payment_retry_backoff * (1U << std::min<std::uint32_t>(attempt, 6));
}

void on_answer(payment_actor* self, const cluster::entity_context& ctx,
               const domain_services& svc, const std::string& op_id,
               std::uint32_t attempt, provider_answer answer) {
  auto it = self->state.ops.find(op_id);
  if (it == self->state.ops.end() || it->second.rec.finished ||
      it->second.finishing || it->second.attempt != attempt)
    return; // stale answer of an earlier activation or attempt
  switch (answer) {
    case provider_answer::approved:
      return finish(self, ctx, op_id, payment_outcome::approved);
    case provider_answer::declined:
      return finish(self, ctx, op_id, payment_outcome::declined);
    case provider_answer::transient:
    case provider_answer::timeout:
      break;
  }
  if (attempt >= svc.cfg.payment_retries_max)
    return finish(self, ctx, op_id, payment_outcome::failed);
  self->delayed_send(self, backoff(svc.cfg, attempt), p_retry_atom::value, op_id,
                     attempt + 1);
}

void on_request(payment_actor* self, const cluster::entity_context& ctx,
                const domain_services& svc, payment_request& req) {
  auto& st = self->state;
  if (auto it = st.ops.find(req.op_id); it != st.ops.end()) {
    if (it->second.rec.finished)
      report(self, ctx, it->second); // a repeat: the same answer again
    return;                          // in flight: answered when done
  }
  payment_event ev;
  ev.op_id = req.op_id;
  ev.op = static_cast<std::uint8_t>(req.op);
  ev.amount_minor = req.amount_minor;
  ev.reply_kind = req.reply_to.kind;
  ev.reply_key = req.reply_to.key;
  std::vector<std::string> events{encode(ev)};
  bool refused = !permitted(st, req.op) || st.ops.size() >= payment_ops_max;
  payment_event out;
  out.what = payment_event::kind::outcome;
  out.op_id = req.op_id;
  out.outcome = static_cast<std::uint8_t>(payment_outcome::failed);
  if (refused)
    events.push_back(encode(out));
  cluster::persist(self, ctx, st.version, std::move(events),
                   [=, &svc](core::result<storage::version_t> r) {
                     if (!r) {
                       // Maybe written all the same (a lost answer): this
                       // activation's version may be behind the journal,
                       // and every later append of it would conflict. Stop
                       // it, as finish() does: the order re-sends the
                       // request, which re-activates the entity from the
                       // journal (resuming the op if it was written).
                       self->quit(cluster::to_caf_error(r.err()));
                       return;
                     }
                     auto& s = self->state;
                     s.version = *r;
                     apply(s, ev);
                     if (refused) {
                       apply(s, out);
                       report(self, ctx, s.ops.at(ev.op_id));
                       return;
                     }
                     call_provider(self, svc, ev.op_id);
                   });
}

payment_ledger ledger_of(const payment_state& st) {
  payment_ledger out;
  for (auto& id : st.order)
    out.ops.push_back(st.ops.at(id).rec);
  return out;
}

caf::behavior payment_behavior(payment_actor* self, cluster::entity_context ctx,
                               std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services->payments != nullptr);
  self->state.ctx = std::move(ctx);
  self->state.svc = std::move(services);
  cluster::recover(self, self->state.ctx, [self](storage::recovered_stream& rec) {
    auto& st = self->state;
    for (auto& ev : rec.events) {
      auto decoded = decode_payment_event(ev.payload);
      COURIER_ASSERT(decoded.ok());
      apply(st, *decoded);
    }
    st.version = rec.version;
    // Resume calls a crash interrupted; the provider deduplicates by op_id.
    for (auto& kv : st.ops)
      if (!kv.second.rec.finished)
        self->send(self, p_retry_atom::value, kv.first, std::uint32_t{0});
  });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  return {
    [self](payment_request& req) {
      on_request(self, self->state.ctx, *self->state.svc, req);
    },
    [self](p_answer_atom, const std::string& op_id, std::uint32_t attempt,
           std::uint8_t answer) {
      on_answer(self, self->state.ctx, *self->state.svc, op_id, attempt,
                static_cast<provider_answer>(answer));
    },
    [self](p_retry_atom, const std::string& op_id, std::uint32_t attempt) {
      auto it = self->state.ops.find(op_id);
      if (it == self->state.ops.end() || it->second.rec.finished || it->second.finishing)
        return;
      it->second.attempt = attempt;
      call_provider(self, *self->state.svc, op_id);
    },
    [self](payment_ledger_query) { return ledger_of(self->state); },
    [self](p_idle_atom, std::uint64_t settle) {
      auto& st = self->state;
      if (settle == st.settles && !busy(st) && !st.stop)
        cluster::request_passivation(self, st.ctx);
    },
    cluster::passivation_handler_from_state(
        self, [] {},
        [self](std::function<void()> stop) {
          auto& st = self->state;
          if (!busy(st))
            return stop();
          st.stop = std::move(stop); // the last call to settle stops it
        }),
  };
}

} // namespace

caf::actor spawn_payment_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                               std::shared_ptr<const domain_services> services) {
  return sys.spawn(payment_behavior, ctx, std::move(services));
}

} // namespace courier::actors
