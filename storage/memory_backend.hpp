#pragma once
/// \file
/// An in-memory journal backend for unit tests and the deterministic
/// harness. It enforces the same checks as the file backend
/// (journal_checks.hpp) and adds fault injection: failing appends, a failing
/// sync, and drop_unsynced(), which loses everything since the last good
/// sync() the way a power cut loses what was not fsynced.

#include "core/errc.hpp"
#include "storage/journal.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace courier::storage {

/// Counters for tests.
struct memory_backend_stats {
  std::uint64_t appends = 0;       ///< successful append() calls
  std::uint64_t events = 0;        ///< events in them
  std::uint64_t snapshots = 0;     ///< successful save_snapshot() calls
  std::uint64_t syncs = 0;         ///< successful sync() calls
  std::uint64_t sync_failures = 0; ///< injected sync failures
  std::uint64_t injected_append_failures = 0;
  std::uint64_t drops = 0;         ///< streams dropped (synced or not)
};

/// Journal backend held in memory. Not thread-safe, like every backend.
class memory_backend final : public journal_backend {
public:
  core::result<version_t> append(const append_request& req) override;
  core::result<core::unit_t> sync() override;
  /// Includes unsynced appends and snapshots (consistent with version()).
  core::result<recovered_stream> read(const std::string& stream) override;
  core::result<core::unit_t> save_snapshot(const std::string& stream,
                                           version_t version,
                                           std::string payload) override;
  version_t version(const std::string& stream) const override;
  std::vector<std::string> streams() const override;
  /// Forgets the stream (undone by a failed sync or drop_unsynced, as a
  /// file backend's unsynced drop record would be).
  core::result<core::unit_t> drop(const std::string& stream, version_t expected) override;
  journal_usage usage() const override;

  /// The next `n` append() calls fail with `code` and change nothing.
  void fail_next_appends(std::size_t n,
                         core::errc code = core::errc::internal);
  /// The next sync() fails and rolls back every unsynced change.
  void fail_next_sync();
  /// Simulates a crash: every change since the last successful sync()
  /// disappears.
  void drop_unsynced();

  /// Counters since construction.
  const memory_backend_stats& stats() const noexcept { return stats_; }

private:
  struct stream_state {
    version_t version = 0;
    std::optional<snapshot_record> snapshot;
    std::vector<event_record> events; ///< after the snapshot, in order
  };
  stream_state& touch(const std::string& stream);

  std::map<std::string, stream_state> streams_;
  /// State of each stream changed since the last sync, as it was then
  /// (nullopt: the stream did not exist).
  std::map<std::string, std::optional<stream_state>> undo_;
  std::size_t appends_to_fail_ = 0;
  core::errc append_failure_code_ = core::errc::internal;
  bool fail_sync_ = false;
  memory_backend_stats stats_;
};

} // namespace courier::storage
