#pragma once
/// \file
/// The file backend's in-memory index: per stream, its current version and
/// where its latest snapshot and the events after it live on disk, so that
/// read() preads exactly those records. Changes since the last commit() can
/// be undone with rollback(), which is how a failed sync() restores versions.
///
/// Memory: per stream ~110 bytes + its name, plus 16 bytes per event since
/// its latest snapshot (the file backend caps that count per stream and the
/// number of streams; see file_backend_options). Entities bound it further
/// by snapshotting.

#include "storage/journal.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::storage {

/// Where one record lives: segment number, byte offset in it, record size.
struct record_loc {
  std::uint32_t segment = 0;
  std::uint32_t bytes = 0;
  std::uint64_t offset = 0;

  friend bool operator==(const record_loc& a, const record_loc& b) {
    return a.segment == b.segment && a.bytes == b.bytes && a.offset == b.offset;
  }
};

/// One stream's index entry. Kept to 48 bytes (a 96-byte map node with its
/// key): there is one per stream ever written, a million and more on a busy
/// node (issue #11), so nothing is stored that can be derived.
struct stream_entry {
  version_t version = 0;
  /// The latest snapshot's record; `bytes == 0` means none (every record
  /// has a header, so a real one is never empty).
  record_loc snapshot;
  /// Events after the snapshot (or from version 1 without one), in order:
  /// versions version - events.size() + 1 .. version.
  std::vector<record_loc> events;

  bool has_snapshot() const noexcept { return snapshot.bytes != 0; }
  /// The version the snapshot covers: the events after it are exactly the
  /// rest. Meaningful only if has_snapshot().
  version_t snapshot_version() const noexcept { return version - events.size(); }
};

/// Stream name -> entry, with an undo log since the last commit().
class stream_index {
public:
  /// The entry for `stream`, or nullptr.
  const stream_entry* find(const std::string& stream) const;
  /// Current version of `stream` (0 if unknown).
  version_t version(const std::string& stream) const;
  /// Number of streams.
  std::size_t size() const noexcept { return streams_.size(); }

  /// Records event `version`, which must be the stream's version + 1.
  void add_event(const std::string& stream, version_t version, record_loc loc);
  /// Records a snapshot at `version` (<= current, >= the latest snapshot)
  /// and forgets the events it covers.
  void add_snapshot(const std::string& stream, version_t version,
                    record_loc loc);

  /// Forgets `stream` (a drop record); rollback() brings it back.
  void erase(const std::string& stream);

  /// Recovery only, for a journal whose old segments were compacted (the
  /// events a snapshot covers are dropped, so a stream may start later):
  /// event `version` follows a gap. The stream restarts at it, with no
  /// snapshot; the caller checks that a later snapshot covers the gap.
  void restart_at(const std::string& stream, version_t version, record_loc loc);
  /// Recovery only: a snapshot at `version`, past the stream's version (the
  /// events up to it were compacted away). The stream continues from it.
  void jump_to_snapshot(const std::string& stream, version_t version, record_loc loc);

  /// Compaction: if the stream's record of `kind` at `version` is at `from`,
  /// it is now at `to` (true); false if the index no longer points there.
  /// Only with no uncommitted changes.
  bool move_record(const std::string& stream, bool snapshot, version_t version,
                   record_loc from, record_loc to);
  /// Whether the index points at `at` for the stream's record of `kind` at
  /// `version` (a live record; anything else in a segment is garbage).
  bool is_live(const std::string& stream, bool snapshot, version_t version,
               record_loc at) const;

  /// Makes every change so far permanent (clears the undo log).
  void commit();
  /// Restores the index to the last commit().
  void rollback();

  /// Every stream name, sorted.
  std::vector<std::string> names() const;

private:
  struct undo_entry {
    bool existed = false;
    stream_entry before; // events moved in only once a snapshot drops some
    std::size_t events_before = 0;
    bool events_saved = false;
  };
  stream_entry& touch(const std::string& stream);
  void save_events_for_undo(const std::string& stream, const stream_entry& entry);
  const record_loc* locate(const std::string& stream, bool snapshot, version_t version) const;

  std::unordered_map<std::string, stream_entry> streams_;
  std::unordered_map<std::string, undo_entry> undo_;
};

} // namespace courier::storage
