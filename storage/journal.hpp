#pragma once
/// \file
/// The journal: an append-only event log per entity stream, plus snapshots.
/// This is Courier's outbox: an entity journals its events before it
/// acknowledges a command or lets any effect leave it.
///
/// A stream is named by the entity it belongs to ("order:o-1"). Events are
/// opaque bytes to the journal (messages/ defines their schema). A stream's
/// version is the number of events ever appended to it; event number v
/// (1-based) has version v.
///
/// Backends are synchronous and not thread-safe; one journal actor per node
/// owns a backend and turns many entities' appends into one group commit:
/// it calls append() for every pending request, then sync() once, and only
/// then acknowledges them.

#include "core/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace courier::storage {

/// Number of events in a stream; 0 = empty stream.
using version_t = std::uint64_t;

/// drop()'s `expected` when the caller does not know the stream's version
/// (an order dropping its payment and dispatch streams).
inline constexpr version_t any_version = ~version_t{0};

/// One append: events to add to `stream`, valid only if the stream is at
/// `expected` (optimistic concurrency; a stale writer gets errc::conflict).
struct append_request {
  std::string stream;
  version_t expected = 0;
  std::vector<std::string> events;
  /// The cluster membership epoch the writer was started under; a fenced
  /// backend refuses the write unless it is still the member's epoch (a
  /// writer from before a fence and rejoin must not write with the new
  /// one). 0: the backend's current epoch (single node, tools).
  std::uint64_t epoch = 0;
};

/// One stored event.
struct event_record {
  version_t version = 0;
  std::string payload;
};

/// A snapshot of an entity's state as of `version`.
struct snapshot_record {
  version_t version = 0;
  std::string payload;
};

/// What an entity needs to recover: its latest snapshot (if any) and every
/// event after it, in order. `version` is the stream's current version.
struct recovered_stream {
  std::optional<snapshot_record> snapshot;
  std::vector<event_record> events;
  version_t version = 0;
};

/// What a backend holds now and what compaction did (for /metrics).
struct journal_usage {
  std::uint64_t bytes = 0;       ///< on disk (file) or 0 where not known
  std::uint64_t live_bytes = 0;  ///< of which a read still needs
  std::uint64_t streams = 0;
  std::uint64_t streams_max = 0; ///< the backend's cap on streams (0: none)
  std::uint64_t segments = 0;    ///< files (file backend)
  std::uint64_t open_files = 0;
  std::uint64_t compactions = 0; ///< since open
  std::uint64_t compacted_bytes = 0;
  std::uint64_t drops = 0;       ///< streams dropped since open
  std::uint64_t tombstones = 0;  ///< drop records still needed on disk (file)
  std::uint64_t tombstones_max = 0;
};

/// A journal backend. Errors are values: conflict for a stale expected
/// version, bad_request for an oversized record, internal/unavailable for
/// I/O trouble.
class journal_backend {
public:
  virtual ~journal_backend() = default;

  /// Writes one request's events (not yet durable). Returns the stream's new
  /// version. On error nothing of this request is written.
  virtual core::result<version_t> append(const append_request& req) = 0;

  /// Makes every append so far durable (fsync for files). On failure the
  /// unsynced appends are rolled back and must not be acknowledged.
  virtual core::result<core::unit_t> sync() = 0;

  /// Reads a stream back: latest durable snapshot and the events after it.
  virtual core::result<recovered_stream> read(const std::string& stream) = 0;

  /// Stores a snapshot of `stream` at `version` (durable on the next sync()).
  /// Events before it may be discarded by compaction.
  virtual core::result<core::unit_t> save_snapshot(const std::string& stream,
                                                   version_t version,
                                                   std::string payload) = 0;

  /// The stream's current version (0 if it does not exist).
  virtual version_t version(const std::string& stream) const = 0;

  /// Every stream name with at least one event or snapshot, for operators'
  /// tools and for re-arming durable timers after a restart. Sorted.
  virtual std::vector<std::string> streams() const = 0;

  /// Forgets `stream` (a finished entity whose final state was archived,
  /// issue #13): its events and snapshots are no longer read, and its
  /// bytes are reclaimed later. Durable on the next sync(), like an
  /// append; a failed sync() brings the stream back. Idempotent: a stream
  /// that does not exist is dropped already. `expected` must be the
  /// stream's version (conflict otherwise, so nothing written after the
  /// caller's read is lost), or any_version.
  virtual core::result<core::unit_t> drop(const std::string& stream, version_t expected) {
    (void)stream;
    (void)expected;
    return core::error{core::errc::internal, "this journal backend cannot drop streams"};
  }

  /// Gives back space that snapshots made garbage, one bounded step at a
  /// time (true if it did something; call again later). Only between
  /// syncs. Backends that trim as they write do nothing here.
  virtual core::result<bool> compact() { return false; }

  /// Sizes and counters (what a backend knows; zeros otherwise).
  virtual journal_usage usage() const { return {}; }
};

} // namespace courier::storage
