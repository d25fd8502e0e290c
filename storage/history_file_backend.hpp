#pragma once
/// \file
/// The embedded location history: hourly segment files under one directory
/// (`<data-dir>/history`), read from disk by every query. RAM holds only a
/// small index of the open segments (per rider: the offset of its last run
/// and its sample count, about 100 B per rider and open segment) and one
/// entry per file; never the samples.
///
/// Files (history_format.hpp has the bytes): `raw-<hour>.seg` and
/// `min-<hour>.seg` (hour = epoch hours of the samples in it) hold run
/// records appended with write(2); each run points back at the same
/// rider's previous run in the file, so a query follows one chain per hour
/// instead of scanning the hour. Once an hour's end is `seal_after` behind,
/// its segment is fdatasynced and sealed: `<name>.idx` (written to
/// `.idx.tmp`, fdatasynced, renamed) maps each rider's hash to its chain
/// head, binary-searched by queries with a few small reads; later samples
/// for that hour are dropped as late. Then, a few hundred riders per
/// maintain() call (compact_riders_per_call), a sealed segment is compacted:
/// rewritten rider by rider with each rider's samples in one run (split at
/// run_samples_max), so a rider's hour is one read instead of one per flush
/// (120 at 30 s), which is what a query on a cold page cache pays for. The
/// compacted file (`.seg.compact`) and its index replace the old ones by
/// rename; their sizes always differ (merging only removes run headers; a
/// compaction that saves nothing only flags the index), so a crash between
/// the two renames leaves an index that does not match its segment, which
/// open rebuilds. A segment goes whole when its hour leaves the retention
/// window (raw 24 h, minute 7 d).
///
/// Crashes: no fsync per append (history is best-effort). Open indexes
/// every unsealed segment by scanning it once (only the last hour or two)
/// and cuts a torn or corrupt tail there (counted in torn_records and
/// torn_bytes, logged); a sealed segment is never written again. An index
/// that does not match its segment is dropped and rebuilt. Open fails only
/// when the directory cannot be created or listed; no file content can keep
/// a node from starting.

#include "storage/history.hpp"
#include "storage/history_format.hpp"
#include "storage/posix_io.hpp"

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace courier::storage {

class history_file_backend final : public history_backend {
public:
  /// Opens `dir` (creating it); see the file comment.
  static core::result<std::unique_ptr<history_file_backend>> open(std::string dir,
                                                                  history_limits limits);
  ~history_file_backend() override;
  history_file_backend(const history_file_backend&) = delete;
  history_file_backend& operator=(const history_file_backend&) = delete;

  void append(const std::vector<history_run>& runs, core::time_ms now_ms) override;
  core::result<history_page> read(const std::string& rider_id, history_detail d,
                                  core::time_ms from_ms, core::time_ms to_ms,
                                  std::size_t samples_max) override;
  void maintain(core::time_ms now_ms) override;
  void sync() override;
  history_stats stats() const override;

  /// Replaces write(2) for segment appends (tests inject failures).
  void set_write_fn(write_fn fn) { write_ = std::move(fn); }
  /// The segment file of a series and hour (tests).
  std::string segment_path(history_detail d, std::int64_t hour) const;

private:
  struct head {
    std::uint64_t offset = 0; ///< the rider's last run
    std::uint32_t samples = 0;
  };
  struct segment {
    std::uint64_t bytes = 0;
    std::uint64_t samples = 0;
    std::uint64_t index_bytes = 0;
    bool sealed = false;
    bool compacted = false;
    bool broken = false;           ///< a failed append could not be undone: no more writes
    core::time_ms seal_retry_ms = 0; ///< also when a failed compaction may run again
    int fd = -1;                   ///< open while unsealed
    std::unordered_map<std::string, head> heads; ///< unsealed only
  };
  using segment_key = std::pair<std::uint8_t, std::int64_t>; // detail, hour
  /// A compaction in progress (at most one).
  struct compaction {
    segment_key key;
    int old_fd = -1;
    int fd = -1; ///< the `.seg.compact` being written
    std::uint64_t old_bytes = 0;
    std::vector<history_index_entry> todo; ///< the sealed index's entries
    std::size_t next = 0;
    std::vector<history_index_entry> done;
    std::uint64_t bytes = 0;
    std::uint64_t samples = 0;
  };
  /// What following a chain found.
  enum class chain { read, other_rider };

  history_file_backend(std::string dir, history_limits limits);
  core::result<core::unit_t> load();
  void load_segment(segment_key key, const std::string& path, bool has_index);
  void scan_segment(segment& seg, const std::string& path);
  bool seal(segment_key key, segment& seg);
  void remove_segment(segment_key key, segment& seg);
  segment* open_for_append(segment_key key, std::size_t samples, core::time_ms now_ms);
  void append_group(segment_key key, const std::vector<const history_run*>& runs,
                    core::time_ms now_ms);
  /// Adds the rider's samples of one hour in [from, to) to `out`.
  void read_hour(segment_key key, const segment& seg, const std::string& rider_id,
                 core::time_ms from_ms, core::time_ms to_ms,
                 std::vector<history_sample>& out);
  /// Follows one chain, adding its samples in [from, to) to `out` (newest
  /// run first). With an empty `rider_id` any rider's chain is followed and
  /// its id stored in `*seen`; otherwise a first run of another rider (an
  /// index hash collision) is `other_rider`. Damage ends the chain, counted.
  chain follow_chain(int fd, const std::string& path, std::uint64_t file_bytes,
                     std::uint64_t chain_head, segment_key key, const std::string& rider_id,
                     core::time_ms from_ms, core::time_ms to_ms,
                     std::vector<history_sample>& out, std::string* seen = nullptr);
  /// Writes `<segment>.idx.tmp` for these entries (sorted here), synced.
  bool write_index(const std::string& path, history_index_header header,
                   std::vector<history_index_entry>& entries);
  /// Renames `<segment>.idx.tmp` over the index and syncs the directory.
  bool install_index(const std::string& path);
  void compact_step(core::time_ms now_ms);
  bool start_compaction(segment_key key, const segment& seg);
  /// Rewrites one rider's chain into the compacted file; false on a write error.
  bool compact_rider(const history_index_entry& e);
  void finish_compaction(core::time_ms now_ms);
  /// Closes the compaction's files and forgets it.
  void close_compaction();
  /// Drops the compaction in progress and its file; a failure (now_ms != 0)
  /// is counted and retried a minute later.
  void abort_compaction(core::time_ms now_ms);
  std::uint64_t bytes_total() const;
  std::size_t unsealed(history_detail d) const;
  void drop(history_detail d, history_drop why, std::uint64_t samples);

  std::string dir_;
  history_limits limits_;
  write_fn write_;
  std::map<segment_key, segment> segments_;
  std::unique_ptr<compaction> compaction_;
  history_stats stats_; ///< counters; gauges are computed in stats()
};

} // namespace courier::storage
