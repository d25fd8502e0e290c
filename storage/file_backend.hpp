#pragma once
/// \file
/// The embedded journal backend: append-only segment files in one directory
/// (journal-000001.log, ...), CRC32C-checked records (record_format.hpp), an
/// in-memory index for reads, and group commit: append() only encodes into
/// memory, sync() writes the batch with write(2) and makes it durable with
/// one fdatasync. See storage/README.md for the recovery rules.

#include "core/result.hpp"
#include "storage/journal.hpp"
#include "storage/record_format.hpp"
#include "storage/stream_index.hpp"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::storage {

/// Seams for the two system calls whose failure the backend must survive,
/// so tests can make them fail. Empty = the real write(2) / fdatasync(2).
struct file_io_hooks {
  std::function<ssize_t(int fd, const void* data, std::size_t bytes)> write;
  std::function<int(int fd)> fdatasync;
};

/// Tunables of a file_backend. Each limit is enforced in append(): passing
/// it is errc::overloaded (the caller syncs or sheds), never silent growth.
struct file_backend_options {
  /// A segment is rolled (a new file started) before it would pass this.
  std::uint64_t segment_bytes_max = 64ull * 1024 * 1024;
  /// Encoded bytes appended but not yet synced; the caller must sync().
  std::size_t pending_bytes_max = 32u * 1024 * 1024;
  /// Streams in the index (new streams past it are refused).
  std::size_t streams_max = 4'000'000;
  /// Events a stream may hold after its latest snapshot (index memory).
  std::size_t events_since_snapshot_max = 100'000;
  /// compact() rewrites a sealed segment once at most this share of its
  /// bytes is live (records the index still points at): each rewrite at
  /// least halves the segment, so the journal stays within about twice
  /// its live bytes plus the active segment.
  double compact_live_share_max = 0.5;
  /// Drop records kept in RAM while older records of their stream are
  /// still on disk (about 100 B + the name each; a drop past it is
  /// errc::overloaded and the caller tries again later, after compaction
  /// rewrote the segments holding them).
  std::size_t tombstones_max = 1'000'000;
  /// Test seams; leave empty in production.
  file_io_hooks io;
};

/// Counters for tests and the journal actor's probe.
struct file_backend_stats {
  std::uint64_t appends = 0;
  std::uint64_t events = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t syncs = 0;          ///< successful sync() calls with data
  std::uint64_t sync_failures = 0;  ///< sync() calls that rolled back
  std::uint64_t bytes_synced = 0;
  std::uint64_t recovered_cut_bytes = 0; ///< torn tail cut at open
  std::uint64_t compactions = 0;         ///< segments rewritten by compact()
  std::uint64_t compacted_bytes = 0;     ///< bytes compact() gave back
  std::uint64_t segments_deleted = 0;    ///< emptied leading segments removed
  std::uint64_t drops = 0;               ///< streams dropped (drop records placed)
};


/// Journal backend over local files. Not thread-safe (one owner: the
/// journal actor). A lock file keeps other processes out of the directory.
class file_backend final : public journal_backend {
public:
  /// Opens (creating if needed) the journal in `dir`: takes the lock,
  /// recovers every segment and cuts a torn tail. errc::unavailable if
  /// another process holds the directory, errc::internal for I/O errors or
  /// corruption (the message names the file and offset).
  static core::result<std::unique_ptr<file_backend>>
  open(const std::string& dir, file_backend_options options = {});

  /// Closes files and releases the lock. Unsynced appends are lost, as in
  /// a crash.
  ~file_backend() override;
  file_backend(const file_backend&) = delete;
  file_backend& operator=(const file_backend&) = delete;

  /// See journal_backend. No I/O: encodes into the pending batch.
  core::result<version_t> append(const append_request& req) override;
  /// Writes the pending batch and fdatasyncs it; on failure truncates the
  /// files to the last synced size and restores the index.
  core::result<core::unit_t> sync() override;
  /// Includes unsynced appends and snapshots (consistent with version()).
  core::result<recovered_stream> read(const std::string& stream) override;
  /// Queues a snapshot record; durable on the next sync().
  core::result<core::unit_t> save_snapshot(const std::string& stream,
                                           version_t version,
                                           std::string payload) override;
  version_t version(const std::string& stream) const override;
  std::vector<std::string> streams() const override;
  /// Queues a drop record (kind drop, the stream's version, no payload) and
  /// forgets the stream in the index; its records become garbage for
  /// compaction. The drop record itself stays live (kept by compaction)
  /// until every segment that may still hold a record of the stream was
  /// rewritten or deleted, so recovery never brings a dropped stream back.
  core::result<core::unit_t> drop(const std::string& stream, version_t expected) override;

  /// Rewrites the sealed segment with the smallest live share, if it is at
  /// most options.compact_live_share_max, keeping only live records (a
  /// stream's latest snapshot and the events after it) in their order;
  /// deletes leading segments left empty. Crash-safe: the new file is
  /// written beside the old one, fdatasynced and renamed over it, so a
  /// crash leaves one or the other (recovery removes a leftover). Only
  /// between syncs (false, nothing done, while appends are pending). Blocks
  /// for one segment's read and its live bytes' write (at most
  /// segment_bytes_max). Returns whether it rewrote or deleted anything.
  core::result<bool> compact() override;

  /// Counters since open.
  const file_backend_stats& stats() const noexcept { return stats_; }
  /// Bytes on disk (synced), live bytes (records the index points at),
  /// segment files, open files, streams, compactions.
  journal_usage usage() const override;
  /// Number of segment files (including one not yet created on disk).
  std::size_t segment_count() const noexcept { return segments_.size(); }
  /// File name of segment `number` ("journal-000001.log").
  static std::string segment_file_name(std::uint32_t number);
  /// Appended to a segment's name while compaction writes its replacement.
  static constexpr const char* compaction_suffix = ".compact";

private:
  struct segment {
    std::uint32_t number = 0;
    int fd = -1;                     ///< -1 until sync() creates the file
    std::uint64_t synced_bytes = 0;  ///< durable prefix
    std::uint64_t live_bytes = 0;    ///< synced records the index points at
    std::uint64_t written_bytes = 0; ///< handed to write(2)
    std::string pending;             ///< encoded, not yet written
    std::uint64_t logical_bytes() const {
      return written_bytes + pending.size();
    }
  };

  /// A synced drop record that must stay on disk: `segments` may still
  /// hold records of its stream (sorted; empty = garbage now).
  struct tombstone {
    std::string stream;
    std::uint32_t bytes = 0;
    std::vector<std::uint32_t> segments;
  };
  using tomb_key = std::pair<std::uint32_t, std::uint64_t>; ///< (segment, offset)

  file_backend(std::string dir, file_backend_options options);

  /// Segments that may hold records of the stream `entry` describes: its
  /// live records' segments and, if it has a snapshot, every segment up to
  /// the snapshot's (the events and snapshots it covers may linger there).
  std::vector<std::uint32_t> segments_holding(const stream_entry& entry) const;
  /// Whether the drop record at `key` must survive a rewrite of segment
  /// `number`.
  bool tombstone_outlives(tomb_key key, std::uint32_t number) const;
  /// After segment `number` was rewritten without the dropped streams'
  /// records: drop records that no longer guard anything become garbage.
  void forget_segment(std::uint32_t number);

  core::result<core::unit_t> lock_and_recover();
  core::result<core::unit_t> recover_segment(segment& seg, bool is_last);
  core::result<core::unit_t> index_record(const decoded_record& rec,
                                          const segment& seg,
                                          std::uint64_t offset);
  core::result<core::unit_t> check_gaps_covered() const;
  /// Live-byte bookkeeping: `delta` for `segment`, applied at the next
  /// successful sync (or at once during recovery and compaction).
  void note_live(std::uint32_t segment, std::int64_t delta);
  void apply_live(std::uint32_t segment, std::int64_t delta);
  /// The records a snapshot at `version` makes garbage (the old snapshot
  /// and the events it covers).
  void drop_covered(const std::string& stream, version_t version);
  segment* segment_of(std::uint32_t number);
  core::result<std::uint64_t> rewrite_segment(segment& seg);
  core::result<core::unit_t> delete_leading_empty_segments(bool& deleted);
  core::result<core::unit_t> check_usable() const;
  core::result<core::unit_t> check_capacity(const append_request& req,
                                            std::size_t bytes) const;
  record_loc place(record_kind kind, const std::string& stream,
                   version_t version, const std::string& payload);
  core::result<core::unit_t> write_batch();
  core::result<core::unit_t> create_segment_file(segment& seg);
  core::result<core::unit_t> flush_segment(segment& seg);
  void rollback();
  core::result<std::string> load_record(const record_loc& loc) const;
  core::result<std::string> load_checked(const record_loc& loc,
                                         record_kind kind,
                                         const std::string& stream,
                                         version_t version) const;
  std::string path_of(std::uint32_t number) const;

  std::string dir_;
  file_backend_options options_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  std::vector<segment> segments_;   ///< contiguous numbers, last is active
  std::size_t synced_segments_ = 0; ///< segments_ that existed at last sync
  std::size_t pending_bytes_ = 0;
  /// Live-byte changes of the unsynced batch (dropped by a rollback).
  std::vector<std::pair<std::uint32_t, std::int64_t>> pending_live_;
  /// Recovery: streams that restarted after a gap (compacted events) and
  /// the version a later snapshot must cover.
  std::unordered_map<std::string, version_t> uncovered_;
  bool recovering_ = false;
  stream_index index_;
  /// Synced drop records still needed (bounded by options_.tombstones_max).
  std::map<tomb_key, tombstone> tombstones_;
  /// Drop records of the unsynced batch (a rollback discards them).
  std::vector<std::pair<tomb_key, tombstone>> pending_tombstones_;
  file_backend_stats stats_;
  /// Set when a rollback itself failed: files and index may disagree, so
  /// every call fails until the node restarts and recovers from disk.
  std::optional<core::error> failed_;
};

} // namespace courier::storage
