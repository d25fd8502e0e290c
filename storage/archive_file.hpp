#pragma once
/// \file
/// The embedded archive: append-only segment files in one directory
/// (`archive-000001.log`, ...), each record in the journal's record format
/// (record_format.hpp: CRC32C, kind event, name = key, version = the put's
/// time in ms, payload = the entry), and an index in RAM.
///
/// RAM: per entry in a sealed segment 16 bytes (a 64-bit hash of the key,
/// offset, size: a sorted vector, binary-searched); per entry in the active
/// segment about 64 bytes (a hash multimap), and the active segment holds
/// at most segment_bytes_max (64 MiB, ~500k orders). 10M archived orders
/// take about 160 MB of index; entries_max (16M, ~256 MB) bounds it: a put
/// past it is overloaded (the caller keeps the entity in the journal and
/// tries later). A hash collision costs a pread: get() checks the key in
/// the record.
///
/// Durability: sync() writes the pending puts with write(2) and
/// fdatasyncs (and fsyncs the directory after creating a file). A failed
/// sync truncates back to the last synced size. Open scans every segment
/// (CRC-checked), cuts a torn tail (logged, counted) and rebuilds the index.
/// Retention: expire() deletes sealed segments whose newest entry is older
/// than `retention`, oldest first.

#include "storage/archive.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::storage {

/// Tunables of a file_archive, each with its unit.
struct file_archive_options {
  /// A segment is sealed (a new one started) before it would pass this, or
  /// when the UTC day changes.
  std::uint64_t segment_bytes_max = 64ull * 1024 * 1024;
  /// Entries in the index (RAM: see the file comment).
  std::uint64_t entries_max = 16'000'000;
  /// How long an entry stays readable (at least; whole segments leave).
  std::chrono::milliseconds retention = archive_retention_default;
};

/// The archive over local files. Not thread-safe (one owner).
class file_archive final : public archive_backend {
public:
  /// Opens (creating if needed) the archive in `dir`.
  static core::result<std::unique_ptr<file_archive>> open(const std::string& dir,
                                                          file_archive_options options = {});
  ~file_archive() override;
  file_archive(const file_archive&) = delete;
  file_archive& operator=(const file_archive&) = delete;

  core::result<core::unit_t> put(const std::string& key, const std::string& payload,
                                 core::time_ms now_ms) override;
  core::result<core::unit_t> sync() override;
  core::result<std::optional<std::string>> get(const std::string& key) override;
  /// Deletes at most one expired segment per call.
  core::result<std::uint64_t> expire(core::time_ms now_ms) override;
  archive_usage usage() const override;
  /// Torn bytes cut at open.
  std::uint64_t recovered_cut_bytes() const noexcept { return cut_bytes_; }

private:
  /// One entry's place: 16 bytes.
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;
    std::uint32_t bytes = 0;
  };
  struct segment {
    std::uint32_t number = 0;
    int fd = -1;
    std::uint64_t synced_bytes = 0;
    std::string pending;
    core::time_ms newest_ms = 0; ///< newest put in it (retention)
    std::int64_t day = -1;       ///< UTC day of its first put
    std::vector<slot> sealed;    ///< sorted by hash
    std::unordered_multimap<std::uint64_t, slot> recent; ///< synced since open/roll
    std::vector<slot> unsynced;  ///< put, not yet synced
    std::uint64_t entries() const { return sealed.size() + recent.size(); }
  };

  file_archive(std::string dir, file_archive_options options);
  core::result<core::unit_t> recover();
  core::result<core::unit_t> recover_segment(segment& seg);
  core::result<core::unit_t> create_file(segment& seg);
  void seal(segment& seg);
  core::result<std::optional<std::string>> read_slot(const segment& seg, const slot& s,
                                                     const std::string& key) const;
  std::string path_of(std::uint32_t number) const;
  std::uint64_t entries() const;

  std::string dir_;
  file_archive_options options_;
  int dir_fd_ = -1;
  std::vector<segment> segments_; ///< by number; the last takes puts
  std::uint64_t puts_ = 0, expired_ = 0, cut_bytes_ = 0;
};

} // namespace courier::storage
