#pragma once
/// \file
/// The cluster journal: storage::journal_backend over Redis.
///
/// Keys (prefix "courier"): `courier:j:{stream}` a list of events (version =
/// its length), `courier:s:{stream}` the latest snapshot (hash: version,
/// payload), `courier:streams` a set of stream names. An append is one Lua
/// script: it checks the stream's version against the expected one (stale:
/// an error reply starting "CONFLICT"), checks the fence (below), RPUSHes the
/// events and SADDs the stream, atomically.
///
/// Fencing: with a fence, the script first checks that the hash
/// `fence.member_key` (the node's membership lease) still exists and its
/// field `epoch` equals `*fence.epoch`; otherwise it fails with "FENCED"
/// (errc::unavailable) and writes nothing. So a node whose lease expired can
/// never write, even before it notices.
///
/// Durability is Redis's (run it with appendonly yes); sync() is a no-op
/// because every append is already applied when append() returns.

#include "storage/journal.hpp"
#include "storage/redis_client.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace courier::storage {

struct redis_fence {
  std::string member_key;                        ///< e.g. "courier:member:n1"
  std::shared_ptr<std::atomic<std::uint64_t>> epoch; ///< the node's current epoch
};

class redis_backend final : public journal_backend {
public:
  static core::result<std::unique_ptr<redis_backend>>
  open(const redis_url& url, std::optional<redis_fence> fence = std::nullopt,
       std::chrono::milliseconds timeout = std::chrono::seconds{2});

  core::result<version_t> append(const append_request& req) override;
  core::result<core::unit_t> sync() override;
  core::result<recovered_stream> read(const std::string& stream) override;
  core::result<core::unit_t> save_snapshot(const std::string& stream, version_t version,
                                           std::string payload) override;
  version_t version(const std::string& stream) const override;
  std::vector<std::string> streams() const override;

private:
  redis_backend(std::unique_ptr<redis_client> client, std::optional<redis_fence> fence);
  std::unique_ptr<redis_client> client_;
  std::optional<redis_fence> fence_;
};

} // namespace courier::storage
