#include "storage/history_redis_backend.hpp"

#include "core/assert.hpp"
#include "storage/history_format.hpp"

#include <algorithm>
#include <cstdio>

namespace courier::storage {
namespace {

/// KEYS: the runs' keys. ARGV, three per key: the samples to append, the
/// expiry (unix seconds) and the hour's size hash (same expiry). A key that
/// the APPEND created counts as a new key of its hour.
constexpr const char* append_script = R"lua(
for i = 1, #KEYS do
  local data = ARGV[3 * i - 2]
  local at = ARGV[3 * i - 1]
  local size = ARGV[3 * i]
  local len = redis.call('APPEND', KEYS[i], data)
  redis.call('EXPIREAT', KEYS[i], at)
  redis.call('HINCRBY', size, 'bytes', #data)
  if len == #data then
    redis.call('HINCRBY', size, 'keys', 1)
  end
  redis.call('EXPIREAT', size, at)
end
return #KEYS
)lua";

/// ARGV: the first raw hour, the first minute hour, the last hour. Returns
/// {bytes, keys} over the hours still within retention.
constexpr const char* sizes_script = R"lua(
local bytes, keys = 0, 0
local last = tonumber(ARGV[3])
for _, series in ipairs({{'r', tonumber(ARGV[1])}, {'m', tonumber(ARGV[2])}}) do
  for h = series[2], last do
    local v = redis.call('HMGET', 'courier:h:size:' .. series[1] .. ':' .. h, 'bytes', 'keys')
    bytes = bytes + (tonumber(v[1]) or 0)
    keys = keys + (tonumber(v[2]) or 0)
  end
end
return {bytes, keys}
)lua";

const char* series_tag(history_detail d) { return d == history_detail::raw ? "r" : "m"; }

std::string size_key(history_detail d, std::int64_t hour) {
  return std::string{"courier:h:size:"} + series_tag(d) + ":" + std::to_string(hour);
}

} // namespace

history_redis_backend::history_redis_backend(std::unique_ptr<redis_client> client,
                                             history_limits limits)
    : client_(std::move(client)), limits_(limits) {}

core::result<std::unique_ptr<history_redis_backend>>
history_redis_backend::open(const redis_url& url, history_limits limits,
                            std::chrono::milliseconds timeout) {
  if (auto ok = validate(limits); !ok)
    return ok.err();
  auto client = redis_client::connect(url, timeout);
  if (!client)
    return client.err();
  return std::unique_ptr<history_redis_backend>(
      new history_redis_backend(std::move(*client), limits));
}

std::string history_redis_backend::key(history_detail d, std::int64_t hour,
                                       const std::string& rider_id) {
  return std::string{"courier:h:"} + series_tag(d) + ":" + std::to_string(hour) + ":" +
         rider_id;
}

void history_redis_backend::append(const std::vector<history_run>& runs,
                                   core::time_ms now_ms) {
  std::vector<const history_run*> chunk;
  for (auto& r : runs) {
    COURIER_ASSERT(!r.samples.empty());
    const core::time_ms hour_end = (r.hour + 1) * history_hour_ms;
    if (r.hour < 0 || hour_end <= now_ms - limits_.retention(r.detail).count()) {
      stats_.dropped[static_cast<std::size_t>(r.detail)]
                    [static_cast<std::size_t>(history_drop::late)] += r.samples.size();
      continue;
    }
    chunk.push_back(&r);
    if (chunk.size() == limits_.redis_keys_per_call_max) {
      append_chunk(chunk, now_ms);
      chunk.clear();
    }
  }
  if (!chunk.empty())
    append_chunk(chunk, now_ms);
}

void history_redis_backend::append_chunk(const std::vector<const history_run*>& runs,
                                         core::time_ms) {
  std::vector<std::string> keys, args;
  keys.reserve(runs.size());
  args.reserve(runs.size() * 3);
  for (auto* r : runs) {
    keys.push_back(key(r->detail, r->hour, r->rider_id));
    std::string data;
    data.reserve(r->samples.size() * history_sample_bytes);
    for (auto& s : r->samples)
      encode_history_sample(data, s);
    args.push_back(std::move(data));
    const core::time_ms expire_ms =
        (r->hour + 1) * history_hour_ms + limits_.retention(r->detail).count();
    args.push_back(std::to_string((expire_ms + 999) / 1000));
    args.push_back(size_key(r->detail, r->hour));
  }
  auto done = client_->eval(append_script, keys, args);
  for (auto* r : runs) {
    auto d = static_cast<std::size_t>(r->detail);
    if (done)
      stats_.written[d] += r->samples.size();
    else
      stats_.dropped[d][static_cast<std::size_t>(history_drop::write_error)] +=
          r->samples.size();
  }
  if (!done) {
    stats_.write_failures += 1;
    std::fprintf(stderr, "courier-node: history: Redis append of %zu runs failed: %s\n",
                 runs.size(), done.err().message.c_str());
  }
}

core::result<history_page> history_redis_backend::read(const std::string& rider_id,
                                                       history_detail d,
                                                       core::time_ms from_ms,
                                                       core::time_ms to_ms,
                                                       std::size_t samples_max) {
  history_page page;
  page.from_ms = from_ms;
  page.to_ms = to_ms;
  if (from_ms >= to_ms || rider_id.empty())
    return page;
  const auto first = history_hour_of(from_ms);
  const auto last = history_hour_of(to_ms - 1);
  // The writer clips ranges to retention; this bounds one MGET regardless.
  const auto hours_max = limits_.retention(d).count() / history_hour_ms + 2;
  if (last - first + 1 > hours_max)
    return core::error{core::errc::bad_request, "history range longer than its retention"};
  std::vector<std::string> argv{"MGET"};
  for (auto h = first; h <= last; ++h)
    argv.push_back(key(d, h, rider_id));
  auto reply = client_->command(argv);
  if (!reply)
    return core::error{core::errc::unavailable, "history: " + reply.err().message};
  std::int64_t hour = first;
  for (auto& value : reply->elements) {
    const core::time_ms hour_start = hour++ * history_hour_ms;
    if (value.kind != redis_reply::type::string)
      continue;
    const auto whole = value.str.size() / history_sample_bytes;
    if (value.str.size() % history_sample_bytes != 0)
      stats_.torn_records += 1; // APPEND is atomic: only a foreign write gets here
    for (std::size_t i = 0; i < whole; ++i) {
      history_sample s;
      if (!decode_history_sample(value.str.data() + i * history_sample_bytes, s) ||
          s.at_ms < hour_start || s.at_ms >= hour_start + history_hour_ms) {
        stats_.torn_records += 1;
        continue;
      }
      if (s.at_ms >= from_ms && s.at_ms < to_ms)
        page.samples.push_back(s);
    }
  }
  std::stable_sort(page.samples.begin(), page.samples.end(),
                   [](const history_sample& a, const history_sample& b) {
                     return a.at_ms < b.at_ms;
                   });
  if (page.samples.size() > samples_max) {
    page.samples.resize(samples_max);
    page.truncated = true;
  }
  return page;
}

void history_redis_backend::maintain(core::time_ms now_ms) {
  if (gauged_ && now_ms - gauged_ms_ < gauge_interval_ms)
    return;
  gauged_ = true;
  gauged_ms_ = now_ms;
  auto first = [&](history_detail d) {
    return std::to_string(history_hour_of(now_ms - limits_.retention(d).count()));
  };
  auto last = std::to_string(history_hour_of(now_ms + limits_.future_max.count()));
  auto sizes = client_->eval(sizes_script, {},
                             {first(history_detail::raw), first(history_detail::minute), last});
  if (sizes && sizes->elements.size() == 2) {
    stats_.bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sizes->elements[0].integer));
    stats_.segments =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, sizes->elements[1].integer));
  }
}

} // namespace courier::storage
