#include "storage/archive_redis.hpp"

#include "storage/record_format.hpp"

namespace courier::storage {

core::result<std::unique_ptr<redis_archive>>
redis_archive::open(const redis_url& url, std::chrono::milliseconds retention,
                    std::chrono::milliseconds timeout) {
  if (retention.count() <= 0)
    return core::error{core::errc::bad_request, "archive retention must be positive"};
  auto client = redis_client::connect(url, timeout);
  if (!client)
    return client.err();
  return std::unique_ptr<redis_archive>(new redis_archive(std::move(*client), retention));
}

core::result<core::unit_t> redis_archive::put(const std::string& key,
                                              const std::string& payload, core::time_ms) {
  if (key.empty() || key.size() > stream_name_bytes_max)
    return core::error{core::errc::bad_request, "archive key too long or empty"};
  // The TTL runs from the put, like the file archive's segments.
  auto reply = client_->command(
      {"SET", key_of(key), payload, "PX", std::to_string(retention_.count())});
  if (!reply)
    return reply.err();
  ++puts_;
  return core::unit;
}

core::result<std::optional<std::string>> redis_archive::get(const std::string& key) {
  auto reply = client_->command({"GET", key_of(key)});
  if (!reply)
    return reply.err();
  if (reply->kind != redis_reply::type::string)
    return std::optional<std::string>{};
  return std::optional<std::string>{std::move(reply->str)};
}

archive_usage redis_archive::usage() const {
  archive_usage u;
  u.puts = puts_;
  return u;
}

} // namespace courier::storage
