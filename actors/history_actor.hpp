#pragma once
/// \file
/// The history actor: one per node, the shell around storage::history_writer
/// (thinning, minute means, the bounded buffer; storage/history_writer.hpp)
/// and its backend (segment files, or Redis in cluster mode). Riders tell it
/// each accepted position (history_record, one-way); it ticks every
/// history_tick_interval so the writer flushes (at least every 30 s),
/// seals closed hours and prunes by retention. history_query ->
/// history_reply reads one rider's raw points or minute means (the REST
/// call /v1/riders/{id}/history asks it).
///
/// Its backend blocks (disk reads, Redis round trips), so the node spawns
/// it detached (its own thread, as the journal actor), behind a scheduled
/// batcher that hands riders' records over in batches (history_batch_max,
/// history_batch_delay): one wake-up of that thread per batch, not per
/// position. The deterministic harness spawns it scheduled, unbatched. Its mailbox is bounded by the position rate
/// times its slowest call (a Redis timeout, 2 s): about 20,000 records at
/// the design's peak.
///
/// Riders find it through the actor registry (history_registry_key): the
/// node registers its writer before any rider runs; ensure_history_actor
/// spawns one (scheduled) for the harness when none is registered.

#include "core/clock.hpp"
#include "core/errc.hpp"
#include "storage/history.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::storage {
class history_writer;

/// CAF inspection of the sample a reply carries (here, so storage/ stays
/// free of CAF; ADL finds it in namespace storage).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_sample& x) {
  return f(x.at_ms, x.lat, x.lng, x.count);
}
} // namespace courier::storage

namespace courier::actors {

/// rider -> history actor: one accepted position.
struct history_record {
  std::string rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_record& x) {
    return f(x.rider_id, x.lat, x.lng, x.at_ms);
  }
};

/// A rider's samples with from_ms <= at_ms < to_ms -> history_reply.
struct history_query {
  std::string rider_id;
  core::time_ms from_ms = 0;
  core::time_ms to_ms = 0;
  storage::history_detail detail = storage::history_detail::raw;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_query& x) {
    return f(x.rider_id, x.from_ms, x.to_ms, x.detail);
  }
};

/// The answer: storage::history_page, or `error` (code != none) when the
/// store could not be read (unavailable).
struct history_reply {
  std::vector<storage::history_sample> samples;
  core::time_ms from_ms = 0; ///< the range answered (clipped to retention)
  core::time_ms to_ms = 0;
  bool truncated = false;
  core::error error;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_reply& x) {
    return f(x.samples, x.from_ms, x.to_ms, x.truncated, x.error);
  }
};

/// Writes everything buffered, open minutes included (before a stop;
/// tests) -> caf::unit_t once written.
using history_flush_atom = caf::atom_constant<caf::atom("a.hflush")>;
/// -> storage::history_stats (the node's /metrics).
using history_stats_atom = caf::atom_constant<caf::atom("a.hstats")>;

/// How often the actor lets its writer flush, seal and prune.
inline constexpr std::chrono::milliseconds history_tick_interval{1000};

/// How the history actor runs (see the file comment).
enum class history_spawn { detached, scheduled };

/// Detached: records handed to its thread per batch, at most this many ...
inline constexpr std::size_t history_batch_max = 256;
/// ... and at most this late (a query or flush takes the batch along first).
inline constexpr std::chrono::milliseconds history_batch_delay{100};

/// The registry key the history actor is found under.
caf::atom_value history_registry_key();

/// Spawns a history actor over `writer` (time from `clock`). Nothing else
/// may touch the writer while the actor lives.
caf::actor spawn_history_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::history_writer> writer,
                               const core::clock* clock, history_spawn mode);

/// The system's history actor, spawning (scheduled) and registering one
/// over `writer` on first use; a null handle when none is registered and
/// `writer` is null (history off).
caf::actor ensure_history_actor(caf::actor_system& sys,
                                std::shared_ptr<storage::history_writer> writer,
                                const core::clock* clock);

/// Registers this file's message types (call from register_domain_types).
void register_history_types(caf::actor_system_config& cfg);

} // namespace courier::actors

// Stats stay on the node (its /metrics); they never cross the wire.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(courier::storage::history_stats)
