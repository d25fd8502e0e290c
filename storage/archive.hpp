#pragma once
/// \file
/// The archive: a compact read view of finished entities (issue #13). A
/// finished order's final state is put here, then its journal streams are
/// dropped (journal_backend::drop), so the journal holds only live entities
/// and reads of the order fall back to this. Keys are entity names
/// ("order:o-1"); payloads are opaque bytes (actors/ encodes them).
///
/// Order of operations (the journal actor keeps it): put, sync, and only
/// then drop the streams. A crash in between leaves the state in both
/// places (a duplicate, read from the journal), never in neither. put() of
/// a key already there stores it again; get() returns the newest.
///
/// Backends are synchronous and not thread-safe (one owner: the journal
/// actor). Entries leave after `retention` (file: whole segments whose
/// newest entry is older; Redis: a TTL per key).

#include "core/clock.hpp"
#include "core/result.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace courier::storage {

/// Sizes for /metrics.
struct archive_usage {
  std::uint64_t entries = 0;     ///< readable entries (file, memory; 0 for Redis: unknown)
  std::uint64_t entries_max = 0; ///< a put past it is overloaded (0: none)
  std::uint64_t bytes = 0;       ///< on disk (file)
  std::uint64_t segments = 0;    ///< files (file)
  std::uint64_t index_bytes = 0; ///< RAM of the index (file, approximate)
  std::uint64_t puts = 0;        ///< synced puts since open
  std::uint64_t expired = 0;     ///< entries removed by retention since open
};

/// How long archived entries stay readable.
inline constexpr std::chrono::hours archive_retention_default{24 * 30};

/// An archive backend. Errors are values (overloaded past a limit,
/// internal/unavailable for I/O or Redis trouble).
class archive_backend {
public:
  virtual ~archive_backend() = default;
  /// Stores `payload` under `key` as of `now_ms` (durable on the next sync()).
  virtual core::result<core::unit_t> put(const std::string& key, const std::string& payload,
                                         core::time_ms now_ms) = 0;
  /// Makes every put so far durable; on failure they are rolled back.
  virtual core::result<core::unit_t> sync() = 0;
  /// The newest synced payload of `key`, or nullopt.
  virtual core::result<std::optional<std::string>> get(const std::string& key) = 0;
  /// Removes what is older than the retention (one bounded step; backends
  /// that expire by themselves do nothing). Returns entries removed.
  virtual core::result<std::uint64_t> expire(core::time_ms now_ms) {
    (void)now_ms;
    return std::uint64_t{0};
  }
  virtual archive_usage usage() const = 0;
};

/// The archive in memory: tests and the harness, with a crash seam.
class memory_archive final : public archive_backend {
public:
  core::result<core::unit_t> put(const std::string& key, const std::string& payload,
                                 core::time_ms now_ms) override;
  core::result<core::unit_t> sync() override;
  core::result<std::optional<std::string>> get(const std::string& key) override;
  archive_usage usage() const override;
  /// The next sync() fails (and rolls back).
  void fail_next_sync() { fail_sync_ = true; }
  /// A crash: unsynced puts are gone.
  void drop_unsynced() { pending_.clear(); }

private:
  std::map<std::string, std::string> entries_;
  std::vector<std::pair<std::string, std::string>> pending_;
  bool fail_sync_ = false;
  std::uint64_t puts_ = 0;
};

} // namespace courier::storage
