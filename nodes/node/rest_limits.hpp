#pragma once
/// \file
/// What REST callers may send (issue #14): ids in paths are checked before
/// anything is routed (an id is a key: any string would activate an entity),
/// and requests are rate-limited per client address and per token subject
/// with token buckets. Both tables are bounded; a full table refuses new
/// callers (429) rather than growing.

#include "core/clock.hpp"
#include "nodes/gateway/token_bucket.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace courier::node {

/// True if `id` may name an entity in a REST path: 1..id_chars_max
/// characters from [A-Za-z0-9._~:-] (URL-safe without escaping).
bool valid_path_id(std::string_view id);

struct rest_limits_config {
  std::uint32_t per_address_per_s = 100; ///< sustained requests per client address
  std::uint32_t per_address_burst = 200;
  std::uint32_t per_subject_per_s = 50;  ///< sustained requests per token subject (role:id)
  std::uint32_t per_subject_burst = 100;
  /// Callers tracked per table; a bucket idle for idle_forget_ms is
  /// forgotten when room is needed (it would be full again by then).
  std::size_t callers_max = 10'000;
  core::time_ms idle_forget_ms = 60'000;
};

/// Thread-safe (REST calls come from every IO thread).
class rest_limiter {
public:
  rest_limiter(rest_limits_config cfg, const core::clock& clock);

  /// Takes one request from the address's bucket ("ip:port" or "ip").
  bool allow_address(std::string_view remote_address);
  /// Takes one request from the subject's bucket ("role:id").
  bool allow_subject(const std::string& subject);

  const rest_limits_config& config() const noexcept { return cfg_; }
  std::uint64_t limited_total() const;

private:
  struct entry {
    gateway::token_bucket bucket;
    core::time_ms last_ms;
  };
  using table = std::unordered_map<std::string, entry>;
  bool take(table& t, const std::string& key, std::uint32_t rate, std::uint32_t burst);

  rest_limits_config cfg_;
  const core::clock& clock_;
  mutable std::mutex mutex_;
  table by_address_;
  table by_subject_;
  std::uint64_t limited_total_ = 0;
};

} // namespace courier::node
