#pragma once
/// \file
/// The cluster journal: storage::journal_backend over Redis.
///
/// Keys (prefix "courier"): `courier:j:{stream}` a list of the events after
/// the latest snapshot, `courier:s:{stream}` the latest snapshot (hash:
/// version, payload, base = events trimmed from the list's head, so the
/// stream's version is base + the list's length), `courier:streams` a set of
/// stream names. A snapshot trims the events it covers in the same script. An append is one Lua
/// script: it checks the fence (below), then the stream's version against
/// the expected one (stale: an error reply starting "CONFLICT"), RPUSHes the
/// events and SADDs the stream, atomically. save_snapshot is fenced too.
///
/// Fencing: with a fence, the script first checks that the hash
/// `fence.member_key` (the node's membership lease) still exists and its
/// field `epoch` equals `*fence.epoch`; otherwise it fails with "FENCED"
/// (errc::unavailable) and writes nothing. So a node whose lease expired can
/// never write, even before it notices.
///
/// Durability is Redis's (run it with appendonly yes). Every append is
/// applied on the master when append() returns; sync() is the group commit
/// to the replicas: with `url.wait.replicas` > 0 it runs one WAIT for every
/// write since the last sync() (they share the connection, so one WAIT
/// covers them), and fails (unavailable) when fewer replicas acknowledged
/// in time or the connection changed in between (a WAIT on a new connection
/// covers none of the old one's writes). A failed sync() cannot roll back
/// what the master applied: its writes' fate is unknown, as after a
/// timeout, and the journal actor acknowledges none of them. With 0
/// replicas (plain redis://) sync() does nothing.
///
/// Limits: the shape checks of journal_checks (events per append, record
/// size, stream name) run before any round trip; a stream may hold at most
/// redis_events_since_snapshot_max events after its snapshot (overloaded),
/// which bounds what read() returns. A timeout or broken connection is
/// unavailable and leaves it unknown whether an append ran: the writer must
/// re-read the stream's version before it retries.

#include "storage/journal.hpp"
#include "storage/redis_client.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace courier::storage {

/// Events a stream may hold after its latest snapshot (as file_backend's
/// events_since_snapshot_max): bounds a read's reply.
inline constexpr std::size_t redis_events_since_snapshot_max = 100'000;

/// Whose lease guards the writes: see the file comment.
struct redis_fence {
  std::string member_key;                        ///< e.g. "courier:member:n1"
  std::shared_ptr<std::atomic<std::uint64_t>> epoch; ///< the node's current epoch
};

/// The journal in Redis; see the file comment.
class redis_backend final : public journal_backend {
public:
  /// Connects (and PINGs). With a fence, every write checks the lease; an
  /// epoch of 0 in `fence.epoch` (not joined) refuses writes as unavailable.
  static core::result<std::unique_ptr<redis_backend>>
  open(const redis_url& url, std::optional<redis_fence> fence = std::nullopt,
       std::chrono::milliseconds timeout = std::chrono::seconds{2});

  core::result<version_t> append(const append_request& req) override;
  core::result<core::unit_t> sync() override;
  core::result<recovered_stream> read(const std::string& stream) override;
  core::result<core::unit_t> save_snapshot(const std::string& stream, version_t version,
                                           std::string payload) override;
  /// 0 when Redis cannot be read (counted in failed_reads()): an append
  /// expecting it then fails on its own check.
  version_t version(const std::string& stream) const override;
  /// Empty when Redis cannot be read (counted in failed_reads()).
  std::vector<std::string> streams() const override;

  /// Deletes the stream's keys (one script, fenced like a write).
  core::result<core::unit_t> drop(const std::string& stream, version_t expected) override;
  /// streams = SCARD courier:streams (0 if Redis cannot be read), drops.
  journal_usage usage() const override;

  /// version()/streams() calls that could not reach Redis (they cannot
  /// return an error).
  std::uint64_t failed_reads() const noexcept { return failed_reads_; }

private:
  redis_backend(std::unique_ptr<redis_client> client, std::optional<redis_fence> fence);
  /// Adds the fence's key to `keys` and the epoch to check to `epoch_arg`
  /// ("" without a fence): `writer_epoch` if set, else the node's; a
  /// writer's epoch that is not the node's current one is refused at once
  /// (unavailable), as is a node that holds no epoch.
  core::result<core::unit_t> fence_args(const std::string& stream, std::uint64_t writer_epoch,
                                        std::vector<std::string>& keys,
                                        std::string& epoch_arg) const;

  /// Notes a write applied on the master that the next sync() must see
  /// replicated.
  void wrote();

  std::unique_ptr<redis_client> client_;
  std::optional<redis_fence> fence_;
  mutable std::uint64_t failed_reads_ = 0;
  bool unsynced_ = false;                 ///< writes since the last sync()
  bool straddles_ = false;                ///< ... made on more than one connection
  std::uint64_t unsynced_generation_ = 0; ///< the connection of the first one
  std::uint64_t drops_ = 0;
};

} // namespace courier::storage
