#pragma once
/// \file
/// The location history in Redis (cluster mode), so whichever node a query
/// reaches answers for any rider, wherever the rider's entity ran.
///
/// Keys: `courier:h:r:<hour>:<rider>` (raw) and `courier:h:m:<hour>:<rider>`
/// (minutes): strings of 20-byte samples (history_format.hpp) appended with
/// APPEND, with EXPIREAT at the hour's end + the series' retention, so Redis
/// enforces retention itself. The hour comes before the rider id, which may
/// hold ':'. `courier:h:size:<r|m>:<hour>` (hash {bytes, keys}, same expiry)
/// counts what each hour holds, for the gauges. One Lua script call writes
/// up to redis_keys_per_call_max runs; a query is one MGET over the hours
/// of its range. Two nodes may append to one key (a rider handed off
/// mid-minute): the writer's query merges samples of one instant.
///
/// Blocking (hiredis): owned by the history actor, which runs detached.
/// Redis down: appends are dropped and counted (write_error), queries are
/// unavailable; the client reconnects on its next call.

#include "storage/history.hpp"
#include "storage/redis_client.hpp"

#include <memory>

namespace courier::storage {

class history_redis_backend final : public history_backend {
public:
  /// Connects (and PINGs); unavailable when Redis does not answer.
  static core::result<std::unique_ptr<history_redis_backend>>
  open(const redis_url& url, history_limits limits,
       std::chrono::milliseconds timeout = std::chrono::seconds{2});

  void append(const std::vector<history_run>& runs, core::time_ms now_ms) override;
  core::result<history_page> read(const std::string& rider_id, history_detail d,
                                  core::time_ms from_ms, core::time_ms to_ms,
                                  std::size_t samples_max) override;
  /// Refreshes the gauges (bytes, keys) every gauge_interval.
  void maintain(core::time_ms now_ms) override;
  /// A no-op: Redis's own durability applies (appendonly, storage/README.md).
  void sync() override {}
  history_stats stats() const override { return stats_; }

  /// The key of one rider's series in one hour.
  static std::string key(history_detail d, std::int64_t hour, const std::string& rider_id);
  /// How often maintain() reads the per-hour sizes.
  static constexpr core::time_ms gauge_interval_ms = 10'000;

private:
  history_redis_backend(std::unique_ptr<redis_client> client, history_limits limits);
  void append_chunk(const std::vector<const history_run*>& runs, core::time_ms now_ms);

  std::unique_ptr<redis_client> client_;
  history_limits limits_;
  history_stats stats_;
  bool gauged_ = false;
  core::time_ms gauged_ms_ = 0;
};

} // namespace courier::storage
