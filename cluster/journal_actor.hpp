#pragma once
/// \file
/// The journal actor: one per node, owns a storage::journal_backend and
/// turns many entities' appends into one group commit (one fsync), then
/// acknowledges each. Protocol (all requests; errors are caf::errors in
/// Courier's category, see errors.hpp):
///   (append_atom, stream, expected_version, vector<string> events, epoch) -> version_t
///     (epoch: the writer's membership epoch, see storage::append_request)
///   (read_atom, stream) -> storage::recovered_stream
///   (snapshot_atom, stream, version, payload) -> caf::unit_t
///   (streams_atom) -> vector<string>
///   (stats_atom) -> journal_stats
///   (archive_atom, key, payload, vector<string> drops, vector<version_t> expected, now_ms)
///     -> archive_atom: puts `payload` under `key` in the archive, makes it
///     durable, and only then drops each stream of `drops` at its expected
///     version (storage::any_version: any); answered after the drops are
///     synced. An error may leave the entry archived and some streams not
///     dropped yet (a duplicate, never a loss); the caller tries again.
///   (archived_atom, key) -> string payload, or not_found

#include "core/clock.hpp"
#include "storage/archive.hpp"
#include "storage/journal.hpp"

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace courier::storage {
/// CAF inspection for the journal's reply types (kept here so storage/
/// stays free of CAF; ADL finds them in namespace storage).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_record& x) {
  return f(x.version, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_record& x) {
  return f(x.version, x.payload);
}
/// CAF 0.17 cannot inspect std::optional, so the snapshot travels as a
/// flag plus a record and is put back together after loading.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, recovered_stream& x) {
  bool has_snapshot = x.snapshot.has_value();
  snapshot_record snap = has_snapshot ? *x.snapshot : snapshot_record{};
  return f(has_snapshot, snap, x.events, x.version,
           caf::meta::load_callback([&]() -> caf::error {
             if (has_snapshot)
               x.snapshot = std::move(snap);
             else
               x.snapshot.reset();
             return caf::none;
           }));
}
} // namespace courier::storage

namespace courier::cluster {

/// Counters for /metrics and tests.
struct journal_stats {
  std::uint64_t appends = 0;        ///< append requests acknowledged
  std::uint64_t events = 0;         ///< events in them
  std::uint64_t commits = 0;        ///< group commits (syncs)
  std::uint64_t failures = 0;       ///< appends answered with an error
  std::uint64_t sync_us_total = 0;  ///< time spent in sync(), microseconds
  std::uint64_t sync_us_max = 0;
  std::uint64_t compact_us_max = 0; ///< longest compaction step, microseconds
  std::uint64_t compact_failures = 0;
  /// The backend's sizes, as of this answer.
  std::uint64_t bytes = 0, live_bytes = 0, streams = 0, streams_max = 0, segments = 0,
                open_files = 0;
  std::uint64_t compactions = 0, compacted_bytes = 0;
  /// Retention (issue #13): entities archived and their streams dropped,
  /// archive requests that failed, drops and drop records the backend holds.
  std::uint64_t archived = 0, archive_failures = 0, drops = 0, tombstones = 0,
                tombstones_max = 0;
  /// The archive's sizes, as of this answer.
  std::uint64_t archive_entries = 0, archive_entries_max = 0, archive_bytes = 0,
                archive_index_bytes = 0, archive_expired = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, journal_stats& x) {
    return f(x.appends, x.events, x.commits, x.failures, x.sync_us_total,
             x.sync_us_max, x.compact_us_max, x.compact_failures, x.bytes, x.live_bytes,
             x.streams, x.streams_max, x.segments, x.open_files, x.compactions,
             x.compacted_bytes, x.archived, x.archive_failures, x.drops, x.tombstones,
             x.tombstones_max, x.archive_entries, x.archive_entries_max, x.archive_bytes,
             x.archive_index_bytes, x.archive_expired);
  }
};

/// How often the production journal actor takes one compaction step (at
/// most one segment rewrite, storage::journal_backend::compact) when no
/// group commit is waiting.
inline constexpr std::chrono::milliseconds journal_compact_interval{1000};
/// The journal warns (stderr) once its streams pass this share of the
/// backend's cap, again at most every journal_streams_warn_interval.
inline constexpr double journal_streams_warn_share = 0.8;
inline constexpr std::chrono::minutes journal_streams_warn_interval{10};

/// How the journal actor runs: `detached` gives it its own thread, so a
/// blocking fsync or compaction never stalls the shared scheduler
/// (production; it compacts every journal_compact_interval); `scheduled`
/// keeps it on the scheduler, which the deterministic test harness needs
/// (no compaction ticks, so virtual time stays quiet).
enum class journal_spawn { detached, scheduled };

/// Archive requests gathered into one group commit; more commit at once.
inline constexpr std::size_t journal_archive_batch_max = 1024;

/// The archive the journal actor owns beside its backend, and the clock
/// its retention is measured with (nullptr: expire() is never called, as
/// in the scheduled test mode).
struct journal_archive {
  std::shared_ptr<storage::archive_backend> archive;
  const core::clock* clock = nullptr;
};

/// Spawns the journal actor over `backend` and `archive` (both shared so
/// tests can keep handles; nothing else may touch them while it lives).
caf::actor spawn_journal_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::journal_backend> backend,
                               journal_spawn mode, journal_archive archive);

/// The same with an in-memory archive (tools, benchmarks). The backend is
/// shared so the test harness can keep a handle for fault injection;
/// nothing else may touch it while the actor lives.
caf::actor spawn_journal_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::journal_backend> backend,
                               journal_spawn mode);

} // namespace courier::cluster
