#include "actors/delays_actor.hpp"

#include "actors/journal_events.hpp"
#include "core/assert.hpp"

#include <algorithm>
#include <map>

namespace courier::actors {
namespace {

struct delays_state {
  std::map<std::string, delays_event> late; ///< by order id
  storage::version_t version = 0;
  std::size_t since_snapshot = 0;
  std::uint64_t dropped_total = 0;
  static inline const char* name = "courier.delays";
};

using delays_actor = caf::stateful_actor<delays_state>;

void apply(delays_state& st, const delays_event& ev) {
  if (ev.what == delays_event::kind::remove)
    st.late.erase(ev.order_id);
  else
    st.late[ev.order_id] = ev;
  COURIER_ASSERT(st.late.size() <= delays_max);
}

void maybe_snapshot(delays_actor* self, const cluster::entity_context& ctx) {
  auto& st = self->state;
  if (++st.since_snapshot < delays_snapshot_every)
    return;
  st.since_snapshot = 0;
  std::vector<delays_event> all;
  for (auto& kv : st.late)
    all.push_back(kv.second);
  cluster::save_snapshot(self, ctx, st.version, encode_delays_snapshot(all));
}

caf::result<msg::ok_reply> on_update(delays_actor* self, const cluster::entity_context& ctx,
                                     const delay_update& up) {
  auto& st = self->state;
  auto it = st.late.find(up.order_id.str());
  delays_event ev;
  ev.order_id = up.order_id.str();
  ev.status = up.status;
  ev.placed_at_ms = up.placed_at_ms;
  if (up.finished) {
    if (it == st.late.end())
      return msg::ok_reply{};
    ev.what = delays_event::kind::remove;
  } else {
    if (it != st.late.end() && it->second.status == up.status)
      return msg::ok_reply{}; // a repeat
    if (it == st.late.end() && st.late.size() >= delays_max) {
      st.dropped_total += 1;
      return msg::ok_reply{};
    }
  }
  auto rp = self->make_response_promise<msg::ok_reply>();
  cluster::persist(self, ctx, st.version, {encode(ev)},
                   [=](core::result<storage::version_t> r) mutable {
                     if (!r) {
                       rp.deliver(cluster::to_caf_error(r.err()));
                       if (r.err().code == core::errc::conflict)
                         self->quit(cluster::to_caf_error(r.err()));
                       return;
                     }
                     self->state.version = *r;
                     apply(self->state, ev);
                     maybe_snapshot(self, ctx);
                     rp.deliver(msg::ok_reply{});
                   });
  return rp;
}

/// Rows in one delayed_orders reply: ~100 bytes each in JSON, so the reply
/// stays well inside one 64 KiB frame (issue #12 item 8).
constexpr std::size_t delayed_orders_reply_max = 300;

msg::delayed_orders board(const delays_state& st, core::time_ms now) {
  std::vector<const delays_event*> rows;
  for (auto& kv : st.late)
    rows.push_back(&kv.second);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) {
    return a->placed_at_ms != b->placed_at_ms ? a->placed_at_ms < b->placed_at_ms
                                              : a->order_id < b->order_id;
  });
  msg::delayed_orders out;
  out.truncated = false;
  // One reply is one frame (64 KiB): list the oldest, say the rest exist.
  if (rows.size() > delayed_orders_reply_max) {
    rows.resize(delayed_orders_reply_max);
    out.truncated = true;
  }
  for (auto* r : rows) {
    msg::delayed_order d;
    d.order_id = core::order_id{r->order_id};
    d.status = r->status;
    d.age_s = static_cast<std::uint64_t>(std::max<core::time_ms>(0, now - r->placed_at_ms) / 1000);
    out.orders.push_back(std::move(d));
  }
  return out;
}

void recover_board(delays_state& st, storage::recovered_stream& rec) {
  if (rec.snapshot) {
    auto snap = decode_delays_snapshot(rec.snapshot->payload);
    COURIER_ASSERT(snap.ok());
    for (auto& ev : *snap)
      apply(st, ev);
  }
  for (auto& ev : rec.events) {
    auto decoded = decode_delays_event(ev.payload);
    COURIER_ASSERT(decoded.ok());
    apply(st, *decoded);
  }
  st.version = rec.version;
  // The tail counts toward the next snapshot, across activations.
  st.since_snapshot = rec.events.size();
}

caf::behavior delays_behavior(delays_actor* self, cluster::entity_context ctx,
                              std::shared_ptr<const domain_services> svc) {
  cluster::recover(self, ctx,
                   [=](storage::recovered_stream& rec) { recover_board(self->state, rec); });
  // Answers to fire-and-forget messages must not stop the entity.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](const delay_update& up) { return on_update(self, ctx, up); },
    [=](delayed_orders_query) { return board(self->state, svc->clock->now_ms()); },
    cluster::passivation_handler(self, ctx),
  };
}

} // namespace

caf::actor spawn_delays_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services->clock != nullptr);
  return sys.spawn(delays_behavior, ctx, std::move(services));
}

} // namespace courier::actors
