#include "actors/history_actor.hpp"

#include "core/assert.hpp"

#include <caf/all.hpp>

#include <mutex>

namespace courier::actors {

namespace {

using tick_atom = caf::atom_constant<caf::atom("a.htick")>;
using prune_atom = caf::atom_constant<caf::atom("a.hprune")>;

struct history_state {
  std::shared_ptr<location_history> store;
  const core::clock* clock = nullptr;
  history_writer_config cfg;
  std::vector<history_point> buffer;
  std::uint64_t shed = 0;
  static inline const char* name = "courier.history";
};

using history_actor = caf::stateful_actor<history_state>;

void flush(history_actor* self) {
  auto& st = self->state;
  if (st.buffer.empty())
    return;
  st.store->write(st.buffer);
  st.buffer.clear();
}

caf::behavior history_behavior(history_actor* self,
                               std::shared_ptr<location_history> store,
                               const core::clock* clock, history_writer_config cfg) {
  COURIER_ASSERT(store != nullptr);
  COURIER_ASSERT(cfg.flush_count > 0 && cfg.flush_count <= cfg.buffer_max);
  self->state.store = std::move(store);
  self->state.clock = clock;
  self->state.cfg = cfg;
  self->state.buffer.reserve(cfg.flush_count);
  self->delayed_send(self, cfg.flush_interval, tick_atom::value);
  self->delayed_send(self, cfg.prune_interval, prune_atom::value);
  return {
    [=](history_record& r) {
      auto& st = self->state;
      if (st.buffer.size() >= st.cfg.buffer_max) {
        st.shed += 1; // unreachable while flush_count <= buffer_max; kept as the bound
        return;
      }
      st.buffer.push_back(history_point{std::move(r.rider_id), r.lat, r.lng, r.at_ms});
      if (st.buffer.size() >= st.cfg.flush_count)
        flush(self);
    },
    [=](history_query& q) {
      flush(self); // a reader sees what was recorded before it asked
      history_reply reply;
      auto& db = *self->state.store;
      if (q.series == history_series::detail) {
        for (auto& p : db.detail(q.rider_id, q.from_ms, q.to_ms))
          reply.samples.push_back(history_sample{p.at_ms, p.lat, p.lng, 1});
      } else {
        for (auto& m : db.minutes(q.rider_id, q.from_ms, q.to_ms))
          reply.samples.push_back(history_sample{m.minute_ms, m.lat, m.lng, m.count});
      }
      return reply;
    },
    [=](history_flush_atom) {
      flush(self);
      return caf::unit;
    },
    [=](tick_atom) {
      flush(self);
      self->delayed_send(self, self->state.cfg.flush_interval, tick_atom::value);
    },
    [=](prune_atom) {
      if (self->state.clock != nullptr)
        self->state.store->prune(self->state.clock->now_ms());
      self->delayed_send(self, self->state.cfg.prune_interval, prune_atom::value);
    },
  };
}

} // namespace

caf::atom_value history_registry_key() { return caf::atom("a.history"); }

caf::actor spawn_history_actor(caf::actor_system& sys,
                               std::shared_ptr<location_history> store,
                               const core::clock* clock, history_writer_config cfg) {
  return sys.spawn(history_behavior, std::move(store), clock, cfg);
}

caf::actor ensure_history_actor(caf::actor_system& sys,
                                std::shared_ptr<location_history> store,
                                const core::clock* clock) {
  if (store == nullptr)
    return {};
  // Routers of one system may activate riders concurrently.
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  auto existing = sys.registry().get<caf::actor>(history_registry_key());
  if (existing != nullptr)
    return existing;
  auto writer = spawn_history_actor(sys, std::move(store), clock);
  sys.registry().put(history_registry_key(), writer);
  return writer;
}

void register_history_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<history_record>("courier.history_record");
  cfg.add_message_type<history_query>("courier.history_query");
  cfg.add_message_type<history_sample>("courier.history_sample");
  cfg.add_message_type<std::vector<history_sample>>("courier.history_samples");
  cfg.add_message_type<history_reply>("courier.history_reply");
}

} // namespace courier::actors
