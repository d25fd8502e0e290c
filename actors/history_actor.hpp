#pragma once
/// \file
/// The history writer: one actor per node that batches rider positions into
/// the location_history store. Riders tell it each accepted position
/// (history_record, one-way); it buffers them (bounded by `buffer_max`) and
/// writes a batch when `flush_count` points are buffered or every
/// `flush_interval`, whichever comes first, and prunes the store once a
/// minute. history_query -> history_reply reads the store.
///
/// Riders find it through the actor registry (history_registry_key), so no
/// wiring is needed: ensure_history_actor spawns it once per actor system.

#include "actors/location_history.hpp"
#include "core/clock.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::actors {

/// rider -> history writer: one accepted position.
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

/// Which series a query reads.
enum class history_series : std::uint8_t { detail, minutes };

/// A rider's positions in [from_ms, to_ms) -> history_reply.
struct history_query {
  std::string rider_id;
  core::time_ms from_ms = 0;
  core::time_ms to_ms = 0;
  history_series series = history_series::detail;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_query& x) {
    return f(x.rider_id, x.from_ms, x.to_ms, x.series);
  }
};

/// One sample: a detail point (count 1) or a minute's mean.
struct history_sample {
  core::time_ms at_ms = 0;
  double lat = 0.0;
  double lng = 0.0;
  std::uint32_t count = 1;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_sample& x) {
    return f(x.at_ms, x.lat, x.lng, x.count);
  }
};
struct history_reply {
  std::vector<history_sample> samples;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, history_reply& x) {
    return f(x.samples);
  }
};

/// Forces a flush now (tests, shutdown) -> caf::unit_t once written.
using history_flush_atom = caf::atom_constant<caf::atom("a.hflush")>;

/// Tunables of the writer.
struct history_writer_config {
  std::size_t flush_count = 512;     ///< write a batch at this many points
  std::size_t buffer_max = 4096;     ///< points held; beyond: shed (counted)
  std::chrono::milliseconds flush_interval{std::chrono::seconds{1}};
  std::chrono::milliseconds prune_interval{std::chrono::minutes{1}};
};

/// The registry key the writer is found under.
caf::atom_value history_registry_key();

/// Spawns a writer over `store` (time from `clock`, for pruning).
caf::actor spawn_history_actor(caf::actor_system& sys,
                               std::shared_ptr<location_history> store,
                               const core::clock* clock,
                               history_writer_config cfg = {});

/// The system's writer, spawning and registering it on first use; a null
/// handle if `store` is null (history off).
caf::actor ensure_history_actor(caf::actor_system& sys,
                                std::shared_ptr<location_history> store,
                                const core::clock* clock);

/// Registers this file's message types (call from register_domain_types).
void register_history_types(caf::actor_system_config& cfg);

} // namespace courier::actors
