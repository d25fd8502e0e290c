#include "cluster/journal_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/errors.hpp"
#include "core/assert.hpp"
#include "core/limits.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

namespace courier::cluster {
namespace {

/// An acknowledgement waiting for the next sync().
struct pending_ack {
  caf::response_promise promise;
  storage::version_t version = 0;
  std::size_t events = 0;
  bool is_snapshot = false;
  std::string stream;
  bool is_archive = false; ///< an archive request whose drops this sync makes durable
};

/// A read of a stream with unsynced appends, answered after the next sync.
struct pending_read {
  caf::response_promise promise;
  std::string stream;
};

/// An archive request waiting for the next commit.
struct pending_archive {
  caf::response_promise promise;
  std::string key;
  std::string payload;
  std::vector<std::string> drops;
  std::vector<storage::version_t> expected;
  core::time_ms now_ms = 0;
};

struct journal_state {
  std::shared_ptr<storage::journal_backend> backend;
  cluster::journal_archive archive;
  /// Archive requests for the next commit (at most journal_archive_batch_max).
  std::vector<pending_archive> archives;
  std::vector<pending_ack> batch;
  /// Streams with an append or snapshot in `batch` (not yet synced).
  std::unordered_set<std::string> unsynced;
  /// Reads of those streams, answered after the sync; one per activation
  /// recovering such a stream (an entity reads once, when it starts), so
  /// bounded by the router's live activations.
  std::vector<pending_read> reads;
  bool commit_scheduled = false;
  journal_stats stats;
  std::chrono::steady_clock::time_point streams_warned{};
  bool streams_warned_once = false;
  std::chrono::steady_clock::time_point retention_warned{};
  bool retention_warned_once = false;
  static inline const char* name = "courier.journal";
};

using journal_actor = caf::stateful_actor<journal_state>;

/// Answers a read with the stream as the backend holds it.
void answer_read(journal_state& st, caf::response_promise& rp, const std::string& stream) {
  auto rec = st.backend->read(stream);
  if (!rec)
    rp.deliver(to_caf_error(rec.err()));
  else
    rp.deliver(std::move(*rec));
}

/// The archive half of a commit: every queued entry is put and made
/// durable (one archive sync) before any of their streams is dropped, so a
/// crash in between leaves a duplicate, never a loss. Drops join the
/// journal batch as acks; a request whose put or drop failed is answered
/// with the error now.
void archive_then_drop(journal_actor* self) {
  auto& st = self->state;
  auto archives = std::move(st.archives);
  st.archives.clear();
  auto& archive = *st.archive.archive;
  core::error failed;
  for (auto& a : archives) {
    if (auto put = archive.put(a.key, a.payload, a.now_ms); !put) {
      failed = put.err();
      break;
    }
  }
  if (failed.code == core::errc::none)
    if (auto synced = archive.sync(); !synced)
      failed = synced.err();
  for (auto& a : archives) {
    if (failed.code != core::errc::none) {
      st.stats.archive_failures += 1;
      a.promise.deliver(to_caf_error(failed));
      continue;
    }
    core::error drop_failed;
    for (std::size_t i = 0; i < a.drops.size() && drop_failed.code == core::errc::none; ++i)
      if (auto dropped = st.backend->drop(a.drops[i], a.expected[i]); !dropped)
        drop_failed = dropped.err();
    if (drop_failed.code != core::errc::none) {
      st.stats.archive_failures += 1;
      a.promise.deliver(to_caf_error(drop_failed));
      continue;
    }
    for (auto& d : a.drops)
      st.unsynced.insert(d);
    pending_ack ack{a.promise, 0, 0, true, a.key};
    ack.is_archive = true;
    st.batch.push_back(std::move(ack));
  }
}

/// One group commit: a single sync() for everything appended since the
/// last one; only then are the writers acknowledged.
void commit(journal_actor* self) {
  auto& st = self->state;
  st.commit_scheduled = false;
  if (!st.archives.empty())
    archive_then_drop(self);
  if (st.batch.empty())
    return;
  auto t0 = std::chrono::steady_clock::now();
  auto synced = st.backend->sync();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  st.stats.commits += 1;
  st.stats.sync_us_total += static_cast<std::uint64_t>(us);
  st.stats.sync_us_max = std::max<std::uint64_t>(st.stats.sync_us_max,
                                                 static_cast<std::uint64_t>(us));
  auto batch = std::move(st.batch);
  st.batch.clear();
  st.unsynced.clear();
  auto reads = std::move(st.reads);
  st.reads.clear();
  for (auto& ack : batch) {
    if (!synced) {
      st.stats.failures += 1;
      if (ack.is_archive)
        st.stats.archive_failures += 1;
      ack.promise.deliver(to_caf_error(synced.err()));
    } else if (ack.is_archive) {
      // An atom, not caf::unit: a unit reply arrives as an empty message,
      // which a caf::unit_t response handler does not match.
      st.stats.archived += 1;
      ack.promise.deliver(archive_atom::value);
    } else if (ack.is_snapshot) {
      ack.promise.deliver(caf::unit);
    } else {
      st.stats.appends += 1;
      st.stats.events += ack.events;
      ack.promise.deliver(ack.version);
    }
  }
  // After the sync (or its rollback): what they read is durable.
  for (auto& r : reads)
    answer_read(st, r.promise, r.stream);
}

/// Queues an acknowledgement for the next commit; the commit message goes
/// to the back of the mailbox, so every append already queued joins it.
void enqueue_ack(journal_actor* self, pending_ack ack) {
  auto& st = self->state;
  st.unsynced.insert(ack.stream);
  st.batch.push_back(std::move(ack));
  if (st.batch.size() >= core::limits::journal_group_commit_max) {
    commit(self);
  } else if (!st.commit_scheduled) {
    st.commit_scheduled = true;
    self->send(self, commit_atom::value);
  }
}

/// One compaction step when no group commit waits (compact() works only
/// between syncs), then the next tick.
void compact_step(journal_actor* self) {
  auto& st = self->state;
  if (st.batch.empty()) {
    auto t0 = std::chrono::steady_clock::now();
    auto done = st.backend->compact();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    st.stats.compact_us_max = std::max<std::uint64_t>(st.stats.compact_us_max,
                                                      static_cast<std::uint64_t>(us));
    if (!done) {
      st.stats.compact_failures += 1;
      std::fprintf(stderr, "courier journal: compaction failed: %s\n",
                   done.err().message.c_str());
    }
  }
  if (st.archive.clock != nullptr) {
    if (auto gone = st.archive.archive->expire(st.archive.clock->now_ms()); !gone)
      std::fprintf(stderr, "courier journal: archive retention failed: %s\n",
                   gone.err().message.c_str());
  }
  // Long before the stream cap refuses new entities, say so.
  auto u = st.backend->usage();
  auto now = std::chrono::steady_clock::now();
  if (u.streams_max > 0 &&
      static_cast<double>(u.streams) >= journal_streams_warn_share * static_cast<double>(u.streams_max) &&
      (!st.streams_warned_once || now - st.streams_warned >= journal_streams_warn_interval)) {
    st.streams_warned_once = true;
    st.streams_warned = now;
    std::fprintf(stderr,
                 "courier journal: warning: %llu of %llu streams used; new entities are refused "
                 "(overloaded) at the cap (storage/README.md: Streams)\n",
                 static_cast<unsigned long long>(u.streams),
                 static_cast<unsigned long long>(u.streams_max));
  }
  // The same for the retention's own bounds (issue #13): past them orders
  // stay in the journal (archive full) or wait to be dropped (tombstones).
  auto a = st.archive.archive->usage();
  auto near = [](std::uint64_t used, std::uint64_t max) {
    return max > 0 && static_cast<double>(used) >= journal_streams_warn_share * static_cast<double>(max);
  };
  if ((near(a.entries, a.entries_max) || near(u.tombstones, u.tombstones_max)) &&
      (!st.retention_warned_once || now - st.retention_warned >= journal_streams_warn_interval)) {
    st.retention_warned_once = true;
    st.retention_warned = now;
    std::fprintf(stderr,
                 "courier journal: warning: archive %llu of %llu entries, %llu of %llu drop "
                 "records; past either, finished orders stay in the journal "
                 "(storage/README.md: Retention)\n",
                 static_cast<unsigned long long>(a.entries),
                 static_cast<unsigned long long>(a.entries_max),
                 static_cast<unsigned long long>(u.tombstones),
                 static_cast<unsigned long long>(u.tombstones_max));
  }
  self->delayed_send(self, journal_compact_interval, compact_atom::value);
}

caf::behavior make_behavior(journal_actor* self,
                            std::shared_ptr<storage::journal_backend> backend,
                            bool compacting, journal_archive archive) {
  self->state.backend = backend;
  self->state.archive = archive;
  if (compacting)
    self->delayed_send(self, journal_compact_interval, compact_atom::value);
  return {
    [=](append_atom, const std::string& stream, storage::version_t expected,
        std::vector<std::string>& events,
        std::uint64_t epoch) -> caf::result<storage::version_t> {
      storage::append_request req{stream, expected, std::move(events), epoch};
      auto written = backend->append(req);
      if (!written) {
        self->state.stats.failures += 1;
        return to_caf_error(written.err());
      }
      auto rp = self->make_response_promise();
      enqueue_ack(self, pending_ack{rp, *written, req.events.size(), false, stream});
      return rp;
    },
    [=](read_atom, const std::string& stream)
        -> caf::result<storage::recovered_stream> {
      // Never hand out events that a failing sync() could still roll back:
      // a stream with unsynced appends is read after the next sync. Any
      // other (every new entity's empty stream) is read at once; reads used
      // to force a sync each, ending group commit under load (issue #11).
      auto& st = self->state;
      if (st.unsynced.count(stream) > 0) {
        auto rp = self->make_response_promise();
        st.reads.push_back(pending_read{rp, stream});
        return rp;
      }
      auto rec = backend->read(stream);
      if (!rec)
        return to_caf_error(rec.err());
      return std::move(*rec);
    },
    [=](snapshot_atom, const std::string& stream, storage::version_t version,
        std::string& payload) -> caf::result<caf::unit_t> {
      auto saved = backend->save_snapshot(stream, version, std::move(payload));
      if (!saved)
        return to_caf_error(saved.err());
      auto rp = self->make_response_promise();
      enqueue_ack(self, pending_ack{rp, version, 0, true, stream});
      return rp;
    },
    [=](archive_atom, std::string& key, std::string& payload,
        std::vector<std::string>& drops, std::vector<storage::version_t>& expected,
        core::time_ms now_ms) -> caf::result<archive_atom> {
      if (key.empty() || drops.size() != expected.size())
        return to_caf_error({core::errc::bad_request, "archive: key and one version per drop"});
      auto& st = self->state;
      auto rp = self->make_response_promise();
      st.archives.push_back(pending_archive{rp, std::move(key), std::move(payload),
                                            std::move(drops), std::move(expected), now_ms});
      if (st.archives.size() >= journal_archive_batch_max) {
        commit(self);
      } else if (!st.commit_scheduled) {
        st.commit_scheduled = true;
        self->send(self, commit_atom::value);
      }
      return rp;
    },
    [=](archived_atom, const std::string& key) -> caf::result<std::string> {
      auto found = self->state.archive.archive->get(key);
      if (!found)
        return to_caf_error(found.err());
      if (!*found)
        return to_caf_error({core::errc::not_found, "'" + key + "' is not archived"});
      return std::move(**found);
    },
    [=](streams_atom) -> std::vector<std::string> {
      commit(self);
      return backend->streams();
    },
    [=](commit_atom) { commit(self); },
    [=](compact_atom) { compact_step(self); },
    [=](stats_atom) {
      commit(self); // so a stats request also flushes (node shutdown uses it)
      auto out = self->state.stats;
      auto u = backend->usage();
      out.bytes = u.bytes;
      out.live_bytes = u.live_bytes;
      out.streams = u.streams;
      out.streams_max = u.streams_max;
      out.segments = u.segments;
      out.open_files = u.open_files;
      out.compactions = u.compactions;
      out.compacted_bytes = u.compacted_bytes;
      out.drops = u.drops;
      out.tombstones = u.tombstones;
      out.tombstones_max = u.tombstones_max;
      auto a = self->state.archive.archive->usage();
      out.archive_entries = a.entries;
      out.archive_entries_max = a.entries_max;
      out.archive_bytes = a.bytes;
      out.archive_index_bytes = a.index_bytes;
      out.archive_expired = a.expired;
      return out;
    },
  };
}
} // namespace

caf::actor spawn_journal_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::journal_backend> backend,
                               journal_spawn mode, journal_archive archive) {
  COURIER_ASSERT(backend != nullptr);
  COURIER_ASSERT(archive.archive != nullptr);
  // Spawned with an argument: CAF 0.17 dereferences a null argument tuple
  // for argument-less function actors (UBSan reports it).
  if (mode == journal_spawn::detached)
    return sys.spawn<caf::detached>(make_behavior, backend, true, archive);
  return sys.spawn(make_behavior, backend, false, archive);
}

caf::actor spawn_journal_actor(caf::actor_system& sys,
                               std::shared_ptr<storage::journal_backend> backend,
                               journal_spawn mode) {
  return spawn_journal_actor(sys, std::move(backend), mode,
                             journal_archive{std::make_shared<storage::memory_archive>(), nullptr});
}

} // namespace courier::cluster
