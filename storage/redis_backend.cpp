#include "storage/redis_backend.hpp"

#include "core/assert.hpp"
#include "storage/journal_checks.hpp"
#include "storage/record_format.hpp"

#include <algorithm>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

const std::string streams_key = "courier:streams";
std::string events_key(const std::string& stream) { return "courier:j:" + stream; }
std::string snapshot_key(const std::string& stream) { return "courier:s:" + stream; }

/// Shared prelude of the writing scripts. KEYS[1] events list, KEYS[2]
/// snapshot hash, KEYS[3] the streams set, KEYS[4] the fence's lease hash
/// (only with a fence). ARGV[1] stream, ARGV[2] version, ARGV[3] the fence
/// epoch ('' = no fence).
constexpr const char* fence_lua = R"lua(
local stream = ARGV[1]
if ARGV[3] ~= '' then
  local held = redis.call('HGET', KEYS[4], 'epoch')
  if held ~= ARGV[3] then
    return redis.error_reply('FENCED journal write to \'' .. stream .. '\' refused: lease ' ..
      KEYS[4] .. ' holds epoch ' .. (held or 'none (expired)') .. ', the writer epoch ' .. ARGV[3])
  end
end
)lua";

/// Append: ARGV[2] the expected version, ARGV[4] events_since_snapshot_max,
/// ARGV[5..] the events. Returns the new version.
const std::string& append_script() {
  static const std::string script = std::string(fence_lua) + R"lua(
local base = tonumber(redis.call('HGET', KEYS[2], 'base') or '0')
local current = base + redis.call('LLEN', KEYS[1])
if current ~= tonumber(ARGV[2]) then
  return redis.error_reply('CONFLICT journal stream \'' .. stream .. '\' is at version ' ..
    current .. ', append expected ' .. ARGV[2])
end
local count = #ARGV - 4
local snapshot = tonumber(redis.call('HGET', KEYS[2], 'version') or '0')
if current + count - snapshot > tonumber(ARGV[4]) then
  return redis.error_reply('OVERLOADED journal stream \'' .. stream .. '\' would hold ' ..
    (current + count - snapshot) .. ' events after its snapshot, limit ' .. ARGV[4])
end
redis.call('RPUSH', KEYS[1], unpack(ARGV, 5))
redis.call('SADD', KEYS[3], stream)
return current + count
)lua";
  return script;
}

/// Snapshot: ARGV[2] its version, ARGV[4] the payload. The same checks as
/// journal_checks' check_snapshot, with the same messages. Trims the events
/// it covers: the hash's `base` counts the events trimmed from the list's
/// head, so a stream's version is base + LLEN (base 0 for streams written
/// before trimming, whose lists start at version 1).
const std::string& snapshot_script() {
  static const std::string script = std::string(fence_lua) + R"lua(
local base = tonumber(redis.call('HGET', KEYS[2], 'base') or '0')
local current = base + redis.call('LLEN', KEYS[1])
local version = tonumber(ARGV[2])
if version > current then
  return redis.error_reply('BADREQUEST snapshot of \'' .. stream .. '\' at version ' ..
    ARGV[2] .. ' is past its version ' .. current)
end
local latest = redis.call('HGET', KEYS[2], 'version')
if latest and version < tonumber(latest) then
  return redis.error_reply('CONFLICT snapshot of \'' .. stream .. '\' at version ' ..
    ARGV[2] .. ' is older than its snapshot at ' .. latest)
end
redis.call('HSET', KEYS[2], 'version', ARGV[2], 'payload', ARGV[4])
-- The events the snapshot covers are never read again: trim them in the
-- same script, so the list holds only what comes after the snapshot.
if version > base then
  redis.call('LTRIM', KEYS[1], version - base, -1)
  redis.call('HSET', KEYS[2], 'base', ARGV[2])
end
redis.call('SADD', KEYS[3], stream)
return current
)lua";
  return script;
}

/// Drop: ARGV[2] the expected version ('' = any). Deletes the stream's
/// list and hash and takes it out of the streams set in one script, so a
/// reader sees the whole stream or none of it. Returns 1 if it existed.
const std::string& drop_script() {
  static const std::string script = std::string(fence_lua) + R"lua(
local base = tonumber(redis.call('HGET', KEYS[2], 'base') or '0')
local current = base + redis.call('LLEN', KEYS[1])
if current == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], stream)
  return 0
end
if ARGV[2] ~= '' and current ~= tonumber(ARGV[2]) then
  return redis.error_reply('CONFLICT journal stream \'' .. stream .. '\' is at version ' ..
    current .. ', drop expected ' .. ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], stream)
return 1
)lua";
  return script;
}

/// Read: KEYS[1] events, KEYS[2] snapshot. Returns {version, snapshot
/// version or nil, snapshot payload or nil, {events after the snapshot}}.
const std::string& read_script() {
  static const std::string script = R"lua(
local base = tonumber(redis.call('HGET', KEYS[2], 'base') or '0')
local current = base + redis.call('LLEN', KEYS[1])
local snap = redis.call('HMGET', KEYS[2], 'version', 'payload')
local from = 0
if snap[1] then from = tonumber(snap[1]) end
return {current, snap[1], snap[2], redis.call('LRANGE', KEYS[1], from - base, -1)}
)lua";
  return script;
}

/// Version: KEYS[1] events, KEYS[2] snapshot. Returns base + LLEN.
const std::string& version_script() {
  static const std::string script = R"lua(
local base = tonumber(redis.call('HGET', KEYS[2], 'base') or '0')
local current = base + redis.call('LLEN', KEYS[1])
return current
)lua";
  return script;
}

/// Stream names per SSCAN round trip (keeps each Redis call short).
constexpr const char* sscan_count = "1000";

core::result<version_t> to_version(const redis_reply& r, const char* what) {
  if (r.kind != redis_reply::type::integer || r.integer < 0)
    return make_error(errc::internal, std::string("Redis returned no version for ") + what);
  return static_cast<version_t>(r.integer);
}

/// Parses a decimal version stored by our scripts.
core::result<version_t> parse_version(const std::string& text) {
  version_t v = 0;
  if (text.empty() || text.size() > 20 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return make_error(errc::internal, "bad snapshot version '" + text + "' in Redis");
  for (char c : text)
    v = v * 10 + static_cast<version_t>(c - '0');
  return v;
}

} // namespace

redis_backend::redis_backend(std::unique_ptr<redis_client> client,
                             std::optional<redis_fence> fence)
    : client_(std::move(client)), fence_(std::move(fence)) {}

core::result<std::unique_ptr<redis_backend>>
redis_backend::open(const redis_url& url, std::optional<redis_fence> fence,
                    std::chrono::milliseconds timeout) {
  if (fence) {
    COURIER_ASSERT(!fence->member_key.empty());
    COURIER_ASSERT(fence->epoch != nullptr);
  }
  auto client = redis_client::connect(url, timeout);
  if (!client)
    return client.err();
  return std::unique_ptr<redis_backend>(new redis_backend(std::move(*client), std::move(fence)));
}

core::result<core::unit_t> redis_backend::fence_args(const std::string& stream,
                                                     std::uint64_t writer_epoch,
                                                     std::vector<std::string>& keys,
                                                     std::string& epoch_arg) const {
  epoch_arg.clear();
  if (!fence_)
    return core::unit;
  const auto epoch = fence_->epoch->load();
  // Epoch 0: not joined (or fenced and not yet rejoined); no lease to check.
  if (epoch == 0)
    return make_error(errc::unavailable, "journal write to '" + stream +
                                             "' refused: this node holds no membership epoch");
  if (writer_epoch != 0 && writer_epoch != epoch)
    return make_error(errc::unavailable, "journal write to '" + stream +
                                             "' refused: its writer started under epoch " +
                                             std::to_string(writer_epoch) + ", the node holds " +
                                             std::to_string(epoch));
  keys.push_back(fence_->member_key);
  epoch_arg = std::to_string(epoch);
  return core::unit;
}

core::result<version_t> redis_backend::append(const append_request& req) {
  if (auto ok = check_append_shape(req); !ok)
    return ok.err();
  std::vector<std::string> keys{events_key(req.stream), snapshot_key(req.stream), streams_key};
  std::string epoch;
  if (auto ok = fence_args(req.stream, req.epoch, keys, epoch); !ok)
    return ok.err();
  std::vector<std::string> args;
  args.reserve(4 + req.events.size());
  args.push_back(req.stream);
  args.push_back(std::to_string(req.expected));
  args.push_back(std::move(epoch));
  args.push_back(std::to_string(redis_events_since_snapshot_max));
  args.insert(args.end(), req.events.begin(), req.events.end());
  auto reply = client_->eval(append_script(), keys, args);
  if (!reply)
    return reply.err();
  wrote();
  auto v = to_version(*reply, "an append");
  if (!v)
    return v;
  COURIER_ASSERT(*v == req.expected + req.events.size());
  return v;
}

void redis_backend::wrote() {
  if (client_->url().wait.replicas == 0)
    return;
  if (!unsynced_) {
    unsynced_ = true;
    unsynced_generation_ = client_->connection_generation();
  } else if (client_->connection_generation() != unsynced_generation_) {
    straddles_ = true;
  }
}

core::result<core::unit_t> redis_backend::sync() {
  if (!unsynced_)
    return core::unit;
  const bool straddles =
      straddles_ || client_->connection_generation() != unsynced_generation_;
  unsynced_ = false;
  straddles_ = false;
  if (straddles)
    return make_error(errc::unavailable,
                      "the connection to Redis at " + client_->where() +
                          " changed before the writes on it reached a replica");
  return client_->wait_replicas(client_->url().wait);
}

core::result<recovered_stream> redis_backend::read(const std::string& stream) {
  recovered_stream out;
  if (stream.empty() || stream.size() > stream_name_bytes_max)
    return out; // no such stream can exist
  auto reply = client_->eval(read_script(), {events_key(stream), snapshot_key(stream)}, {});
  if (!reply)
    return reply.err();
  const auto& r = *reply;
  if (r.kind != redis_reply::type::array || r.elements.size() != 4 ||
      r.elements[3].kind != redis_reply::type::array)
    return make_error(errc::internal, "unexpected reply reading '" + stream + "'");
  auto current = to_version(r.elements[0], "a read");
  if (!current)
    return current.err();
  out.version = *current;
  version_t from = 0;
  if (r.elements[1].kind == redis_reply::type::string) {
    auto v = parse_version(r.elements[1].str);
    if (!v)
      return v.err();
    from = *v;
    out.snapshot = snapshot_record{from, r.elements[2].str};
  }
  const auto& events = r.elements[3].elements;
  out.events.reserve(events.size());
  for (const auto& e : events)
    out.events.push_back(event_record{from + out.events.size() + 1, e.str});
  // Produced by one script: the snapshot and the events after it add up.
  COURIER_ASSERT(from + out.events.size() == out.version);
  return out;
}

core::result<core::unit_t> redis_backend::save_snapshot(const std::string& stream,
                                                        version_t version,
                                                        std::string payload) {
  // Name and size only: the version checks need the stream, so the script
  // makes them (with check_snapshot's messages).
  if (auto ok = check_snapshot(stream, version, payload.size(), version, std::nullopt); !ok)
    return ok;
  std::vector<std::string> keys{events_key(stream), snapshot_key(stream), streams_key};
  std::string epoch;
  if (auto ok = fence_args(stream, 0, keys, epoch); !ok)
    return ok;
  auto reply = client_->eval(snapshot_script(), keys,
                             {stream, std::to_string(version), std::move(epoch),
                              std::move(payload)});
  if (!reply)
    return reply.err();
  wrote();
  return core::unit;
}

core::result<core::unit_t> redis_backend::drop(const std::string& stream,
                                               version_t expected) {
  if (stream.empty() || stream.size() > stream_name_bytes_max)
    return core::unit; // no such stream can exist
  std::vector<std::string> keys{events_key(stream), snapshot_key(stream), streams_key};
  std::string epoch;
  if (auto ok = fence_args(stream, 0, keys, epoch); !ok)
    return ok;
  auto reply = client_->eval(
      drop_script(), keys,
      {stream, expected == any_version ? std::string{} : std::to_string(expected),
       std::move(epoch)});
  if (!reply)
    return reply.err();
  if (reply->kind == redis_reply::type::integer && reply->integer == 1)
    ++drops_;
  wrote(); // a drop, too, is acknowledged only once a replica has it
  return core::unit;
}

journal_usage redis_backend::usage() const {
  journal_usage u;
  auto reply = client_->command({"SCARD", streams_key});
  if (reply && reply->kind == redis_reply::type::integer && reply->integer >= 0)
    u.streams = static_cast<std::uint64_t>(reply->integer);
  else
    ++failed_reads_;
  u.drops = drops_;
  return u;
}

version_t redis_backend::version(const std::string& stream) const {
  auto reply = client_->eval(version_script(), {events_key(stream), snapshot_key(stream)}, {});
  if (!reply || reply->kind != redis_reply::type::integer || reply->integer < 0) {
    ++failed_reads_;
    return 0; // an append with this version fails (conflict/unavailable) anyway
  }
  return static_cast<version_t>(reply->integer);
}

std::vector<std::string> redis_backend::streams() const {
  std::vector<std::string> out;
  std::string cursor = "0";
  do {
    auto reply = client_->command({"SSCAN", streams_key, cursor, "COUNT", sscan_count});
    if (!reply || reply->kind != redis_reply::type::array || reply->elements.size() != 2 ||
        reply->elements[1].kind != redis_reply::type::array) {
      ++failed_reads_;
      return {};
    }
    cursor = reply->elements[0].str;
    for (auto& name : reply->elements[1].elements)
      out.push_back(std::move(name.str));
  } while (cursor != "0");
  // SSCAN may return a name twice.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace courier::storage
