#pragma once
/// \file
/// The archive in Redis (cluster mode): `courier:a:<key>` strings with the
/// retention as their TTL (SET ... PX), so Redis prunes them; any node
/// reads any order. put() is applied at once (durability is Redis's, as
/// for the journal: appendonly yes), so sync() has nothing left to do.
/// RAM is Redis's: about the payload (~100 B) + the key + ~60 B per entry.

#include "storage/archive.hpp"
#include "storage/redis_client.hpp"

#include <memory>

namespace courier::storage {

class redis_archive final : public archive_backend {
public:
  /// Connects (and PINGs).
  static core::result<std::unique_ptr<redis_archive>>
  open(const redis_url& url, std::chrono::milliseconds retention = archive_retention_default,
       std::chrono::milliseconds timeout = std::chrono::seconds{2});

  core::result<core::unit_t> put(const std::string& key, const std::string& payload,
                                 core::time_ms now_ms) override;
  core::result<core::unit_t> sync() override { return core::unit; }
  core::result<std::optional<std::string>> get(const std::string& key) override;
  /// puts only (Redis counts its own keys).
  archive_usage usage() const override;

  /// The Redis key of an archive entry.
  static std::string key_of(const std::string& key) { return "courier:a:" + key; }

private:
  redis_archive(std::unique_ptr<redis_client> client, std::chrono::milliseconds retention)
      : client_(std::move(client)), retention_(retention) {}
  std::unique_ptr<redis_client> client_;
  std::chrono::milliseconds retention_;
  std::uint64_t puts_ = 0;
};

} // namespace courier::storage
