#pragma once
/// \file
/// The cluster's membership table in Redis (as Orleans keeps its membership
/// table in a store). Every change goes through one Lua script, so a view
/// (version, members) read from Redis is consistent: two nodes that read the
/// same version see the same members.
///
/// Keys:
/// - `courier:member:{id}`: hash (epoch, host, cluster_port, http_port,
///   tcp_port, draining, stats) with a TTL = the lease; renewing resets it.
/// - `courier:members`: set of ids; `courier:view`: the view version,
///   incremented by every join, leave, drain and by the read that notices an
///   expired lease (it removes the id from the set in the same script).
/// - `courier:epoch`: counter; each join takes the next epoch, so a rejoining
///   node is a new incarnation and the journal's fence (redis_backend) tells
///   them apart.
///
/// With `url.wait.replicas` > 0 (sentinel mode) a join and a renewal count
/// only once that many replicas acknowledged them (WAIT): a promoted replica
/// then holds every epoch handed out and every lease a node relies on.

#include "storage/redis_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::storage {

/// Members the table holds; a join past it is overloaded.
inline constexpr std::size_t members_max = 1024;
/// Longest lease a member may take (a lost node is noticed within it).
inline constexpr std::chrono::milliseconds member_lease_max{10 * 60 * 1000};
/// Largest `stats` JSON a member stores (join/renew past it: bad_request).
inline constexpr std::size_t member_stats_bytes_max = 4096;
/// Longest `host` of a member.
inline constexpr std::size_t member_host_bytes_max = 255;

/// One member's record (the hash `courier:member:{id}`).
struct member_record {
  std::string id;
  std::uint64_t epoch = 0;
  std::string host = "127.0.0.1";
  std::uint16_t cluster_port = 0;
  std::uint16_t http_port = 0;
  std::uint16_t tcp_port = 0;
  bool draining = false;
  std::int64_t lease_left_ms = 0; ///< PTTL when read; ignored on join
  std::string stats;              ///< JSON {"order": 3, ...}: live entities by kind
};

/// A consistent read of the table. Two reads with the same version have the
/// same members (ids, epochs, addresses, draining); `lease_left_ms` and
/// `stats` are live values and may differ.
struct membership_view {
  std::uint64_t version = 0;
  std::vector<member_record> members; ///< sorted by id
};

/// What `fence` did.
enum class fence_outcome {
  fenced,     ///< the member held the epoch: its lease is gone, the view bumped
  gone,       ///< it no longer holds that epoch (expired, left, fenced, or rejoined)
  not_member, ///< the fencer itself holds no lease with its epoch: it must fence itself
};

/// The key of a member's lease hash, also its journal fence key.
std::string member_key(const std::string& id);

/// The membership table; see the file comment. Ids are 1..id_chars_max bytes.
class redis_membership {
public:
  static core::result<std::unique_ptr<redis_membership>>
  connect(const redis_url& url, std::chrono::milliseconds timeout = std::chrono::seconds{2});

  /// Registers `me` with a fresh epoch (returned) and a lease of `lease`.
  /// conflict if a live member with this id exists (its lease not expired).
  core::result<std::uint64_t> join(const member_record& me, std::chrono::milliseconds lease);

  /// Extends the lease if the member still holds epoch `epoch`, and stores
  /// `stats`. false: the lease is lost (expired or taken); the node must stop
  /// serving and join again.
  core::result<bool> renew(const std::string& id, std::uint64_t epoch,
                           std::chrono::milliseconds lease, const std::string& stats);

  /// The current view; removes members whose lease expired (bumping the view).
  core::result<membership_view> read_view();

  /// Marks a member draining (placement skips it). not_found if absent.
  /// Bumps the view the first time only.
  core::result<core::unit_t> set_draining(const std::string& id);

  /// Fences member `id` whose connection broke (cluster/README.md,
  /// "Failover"): if `fencer_id` still holds `fencer_epoch` and `id` still
  /// holds `epoch`, deletes `id`'s lease hash (its journal fence key, so every
  /// later write with `epoch` is FENCED), removes it from the set and bumps
  /// the view, atomically. Epochs come from one counter and are never handed
  /// out twice, so deleting the hash refuses `epoch` for good: the member's
  /// next renewal fails and it rejoins with a new epoch. A fencer that lost
  /// its own lease fences nobody (`not_member`): of two members that fence
  /// each other across a partition exactly one survives.
  core::result<fence_outcome> fence(const std::string& id, std::uint64_t epoch,
                                    const std::string& fencer_id, std::uint64_t fencer_epoch);

  /// Removes the member if it still holds `epoch` (a newer incarnation is
  /// left alone; an already expired id is dropped from the set). Idempotent.
  core::result<core::unit_t> leave(const std::string& id, std::uint64_t epoch);

private:
  explicit redis_membership(std::unique_ptr<redis_client> client);
  std::unique_ptr<redis_client> client_;
};

} // namespace courier::storage
