#include "actors/history_actor.hpp"

#include "core/assert.hpp"
#include "storage/history_writer.hpp"

#include <caf/all.hpp>

#include <mutex>

namespace courier::actors {

namespace {

using tick_atom = caf::atom_constant<caf::atom("a.htick")>;
using batch_tick_atom = caf::atom_constant<caf::atom("a.hbtick")>;

struct history_state {
  std::shared_ptr<storage::history_writer> writer;
  const core::clock* clock = nullptr;
  static inline const char* name = "courier.history";
};

using history_actor = caf::stateful_actor<history_state>;

history_reply answer(history_actor* self, const history_query& q) {
  auto& st = self->state;
  const auto started = std::chrono::steady_clock::now();
  auto page = st.writer->query(q.rider_id, q.detail, q.from_ms, q.to_ms, st.clock->now_ms());
  st.writer->observe_query_us(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                            started)
          .count()));
  history_reply reply;
  if (!page) {
    reply.error = page.err();
    return reply;
  }
  reply.samples = std::move(page->samples);
  reply.from_ms = page->from_ms;
  reply.to_ms = page->to_ms;
  reply.truncated = page->truncated;
  return reply;
}

caf::behavior history_behavior(history_actor* self,
                               std::shared_ptr<storage::history_writer> writer,
                               const core::clock* clock) {
  COURIER_ASSERT(writer != nullptr);
  COURIER_ASSERT(clock != nullptr);
  self->state.writer = std::move(writer);
  self->state.clock = clock;
  self->delayed_send(self, history_tick_interval, tick_atom::value);
  return {
    [=](history_record& r) {
      auto& st = self->state;
      st.writer->add(storage::history_point{std::move(r.rider_id), r.lat, r.lng, r.at_ms},
                     st.clock->now_ms());
    },
    [=](std::vector<history_record>& batch) {
      auto& st = self->state;
      auto now = st.clock->now_ms();
      for (auto& r : batch)
        st.writer->add(storage::history_point{std::move(r.rider_id), r.lat, r.lng, r.at_ms}, now);
    },
    [=](history_query& q) { return answer(self, q); },
    [=](history_flush_atom) {
      self->state.writer->close(self->state.clock->now_ms());
      return caf::unit;
    },
    [=](history_stats_atom) { return self->state.writer->stats(); },
    [=](tick_atom) {
      self->state.writer->tick(self->state.clock->now_ms());
      self->delayed_send(self, history_tick_interval, tick_atom::value);
    },
  };
}

/// In front of a detached history actor: riders' records gathered on the
/// riders' own thread and handed over in batches, so the detached thread is
/// woken once per batch, not once per position.
struct batcher_state {
  caf::actor writer;
  std::vector<history_record> batch; ///< at most history_batch_max
  bool tick_pending = false;
  static inline const char* name = "courier.history_batcher";
};

using batcher_actor = caf::stateful_actor<batcher_state>;

void hand_over(batcher_actor* self) {
  auto& st = self->state;
  if (st.batch.empty())
    return;
  self->send(st.writer, std::move(st.batch));
  st.batch = {};
  st.batch.reserve(history_batch_max);
}

caf::behavior batcher_behavior(batcher_actor* self, caf::actor writer) {
  self->state.writer = std::move(writer);
  self->link_to(self->state.writer); // the node stops the batcher: the writer stops too
  self->state.batch.reserve(history_batch_max);
  return {
    [=](history_record& r) {
      auto& st = self->state;
      st.batch.push_back(std::move(r));
      if (st.batch.size() >= history_batch_max) {
        hand_over(self);
      } else if (!st.tick_pending) {
        st.tick_pending = true;
        self->delayed_send(self, history_batch_delay, batch_tick_atom::value);
      }
    },
    [=](batch_tick_atom) {
      self->state.tick_pending = false;
      hand_over(self);
    },
    // A query or a flush sees every record sent before it: the batch goes
    // first, and messages between two actors keep their order.
    [=](history_query& q) {
      hand_over(self);
      return self->delegate(self->state.writer, std::move(q));
    },
    [=](history_flush_atom a) {
      hand_over(self);
      return self->delegate(self->state.writer, a);
    },
    [=](history_stats_atom a) { return self->delegate(self->state.writer, a); },
  };
}

} // namespace

caf::atom_value history_registry_key() { return caf::atom("a.history"); }

caf::actor spawn_history_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::history_writer> writer,
                               const core::clock* clock, history_spawn mode) {
  if (mode == history_spawn::detached) {
    auto detached = sys.spawn<caf::detached>(history_behavior, std::move(writer), clock);
    return sys.spawn(batcher_behavior, std::move(detached));
  }
  return sys.spawn(history_behavior, std::move(writer), clock);
}

caf::actor ensure_history_actor(caf::actor_system& sys,
                                std::shared_ptr<storage::history_writer> writer,
                                const core::clock* clock) {
  // Routers of one system may activate riders concurrently.
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  auto existing = sys.registry().get<caf::actor>(history_registry_key());
  if (existing != nullptr || writer == nullptr)
    return existing;
  auto actor = spawn_history_actor(sys, std::move(writer), clock, history_spawn::scheduled);
  sys.registry().put(history_registry_key(), actor);
  return actor;
}

void register_history_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<history_record>("courier.history_record");
  cfg.add_message_type<std::vector<history_record>>("courier.history_records");
  cfg.add_message_type<history_query>("courier.history_query");
  cfg.add_message_type<storage::history_sample>("courier.history_sample");
  cfg.add_message_type<std::vector<storage::history_sample>>("courier.history_samples");
  cfg.add_message_type<history_reply>("courier.history_reply");
}

} // namespace courier::actors
