#include "storage/redis_membership.hpp"

#include "core/limits.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

const std::string member_prefix = "courier:member:";
const std::string members_key = "courier:members";
const std::string view_key = "courier:view";
const std::string epoch_key = "courier:epoch";

/// KEYS: member hash, members set, view, epoch counter. ARGV: id, lease_ms,
/// host, cluster_port, http_port, tcp_port, stats, members_max.
const std::string join_lua = R"lua(
local held = redis.call('HGET', KEYS[1], 'epoch')
if held then
  return redis.error_reply('CONFLICT member ' .. ARGV[1] .. ' is live with epoch ' .. held ..
    ' (lease left ' .. redis.call('PTTL', KEYS[1]) .. ' ms)')
end
local count = redis.call('SCARD', KEYS[2])
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 and count >= tonumber(ARGV[8]) then
  return redis.error_reply('OVERLOADED the cluster has ' .. count .. ' members, limit ' .. ARGV[8])
end
local epoch = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'epoch', epoch, 'host', ARGV[3], 'cluster_port', ARGV[4],
  'http_port', ARGV[5], 'tcp_port', ARGV[6], 'draining', '0', 'stats', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
return epoch
)lua";

/// KEYS: member hash. ARGV: epoch, lease_ms, stats. 1 renewed, 0 lost.
const std::string renew_lua = R"lua(
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'stats', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

/// KEYS: members set, view. ARGV: member key prefix (the member hashes'
/// names are built here, so this needs a single Redis, not Redis Cluster).
/// Returns {view, {{id, pttl, {field, value, ...}}, ...}}.
const std::string read_view_lua = R"lua(
local members = {}
local expired = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then
    redis.call('SREM', KEYS[1], id)
    expired = expired + 1
  else
    members[#members + 1] = {id, redis.call('PTTL', key), fields}
  end
end
local view
if expired > 0 then
  view = redis.call('INCR', KEYS[2])
else
  view = tonumber(redis.call('GET', KEYS[2]) or '0')
end
return {view, members}
)lua";

/// KEYS: member hash, view. ARGV: id. Marking twice changes nothing.
const std::string drain_lua = R"lua(
local draining = redis.call('HGET', KEYS[1], 'draining')
if not draining then
  return redis.error_reply('NOTFOUND member ' .. ARGV[1] .. ' is not in the cluster')
end
if draining == '1' then return 0 end
redis.call('HSET', KEYS[1], 'draining', '1')
redis.call('INCR', KEYS[2])
return 1
)lua";

/// KEYS: member hash, members set, view. ARGV: id, epoch. A newer
/// incarnation's record is left alone; an expired one's id is removed.
const std::string leave_lua = R"lua(
local held = redis.call('HGET', KEYS[1], 'epoch')
if held == ARGV[2] then
  redis.call('DEL', KEYS[1])
elseif held then
  return 0
end
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[3])
  return 1
end
return 0
)lua";

/// KEYS: member hash, members set, view, the fencer's hash. ARGV: id,
/// epoch, fencer epoch. 1 fenced, 0 gone, -1 the fencer holds no lease.
/// The fencer is checked first, in the same script: a member fenced a
/// moment ago by the one it is fencing fences nobody.
const std::string fence_lua = R"lua(
if redis.call('HGET', KEYS[4], 'epoch') ~= ARGV[3] then return -1 end
local held = redis.call('HGET', KEYS[1], 'epoch')
if held == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[3])
  return 1
end
if not held and redis.call('SREM', KEYS[2], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[3]) -- expired, not yet noticed by a view read
end
return 0
)lua";

core::result<core::unit_t> check_id(const std::string& id) {
  if (id.empty() || id.size() > core::limits::id_chars_max)
    return make_error(errc::bad_request, "member id must be 1.." +
                                             std::to_string(core::limits::id_chars_max) +
                                             " characters, got " + std::to_string(id.size()));
  return core::unit;
}

core::result<core::unit_t> check_lease(std::chrono::milliseconds lease) {
  if (lease.count() <= 0 || lease > member_lease_max)
    return make_error(errc::bad_request, "member lease must be 1.." +
                                             std::to_string(member_lease_max.count()) +
                                             " ms, got " + std::to_string(lease.count()));
  return core::unit;
}

core::result<core::unit_t> check_stats(const std::string& stats) {
  if (stats.size() > member_stats_bytes_max)
    return make_error(errc::bad_request, "member stats are " + std::to_string(stats.size()) +
                                             " bytes, limit " +
                                             std::to_string(member_stats_bytes_max));
  return core::unit;
}

template <class T>
bool parse_number(const std::string& text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// One member from read_view's {id, pttl, {field, value, ...}}.
core::result<member_record> parse_member(const redis_reply& r) {
  const auto bad = [&](const std::string& why) {
    return make_error(errc::internal, "bad member record in Redis: " + why);
  };
  if (r.kind != redis_reply::type::array || r.elements.size() != 3 ||
      r.elements[2].kind != redis_reply::type::array || r.elements[2].elements.size() % 2 != 0)
    return bad("unexpected shape");
  member_record m;
  m.id = r.elements[0].str;
  m.lease_left_ms = r.elements[1].integer;
  const auto& fields = r.elements[2].elements;
  for (std::size_t i = 0; i < fields.size(); i += 2) {
    const auto& name = fields[i].str;
    const auto& value = fields[i + 1].str;
    bool ok = true;
    if (name == "epoch")
      ok = parse_number(value, m.epoch);
    else if (name == "host")
      m.host = value;
    else if (name == "cluster_port")
      ok = parse_number(value, m.cluster_port);
    else if (name == "http_port")
      ok = parse_number(value, m.http_port);
    else if (name == "tcp_port")
      ok = parse_number(value, m.tcp_port);
    else if (name == "draining")
      m.draining = value == "1";
    else if (name == "stats")
      m.stats = value;
    if (!ok)
      return bad(m.id + "'s " + name + " is '" + value + "'");
  }
  if (m.epoch == 0)
    return bad(m.id + " has no epoch");
  return m;
}

} // namespace

std::string member_key(const std::string& id) { return member_prefix + id; }

redis_membership::redis_membership(std::unique_ptr<redis_client> client)
    : client_(std::move(client)) {}

core::result<std::unique_ptr<redis_membership>>
redis_membership::connect(const redis_url& url, std::chrono::milliseconds timeout) {
  auto client = redis_client::connect(url, timeout);
  if (!client)
    return client.err();
  return std::unique_ptr<redis_membership>(new redis_membership(std::move(*client)));
}

core::result<std::uint64_t> redis_membership::join(const member_record& me,
                                                   std::chrono::milliseconds lease) {
  for (auto ok : {check_id(me.id), check_lease(lease), check_stats(me.stats)})
    if (!ok)
      return ok.err();
  if (me.host.empty() || me.host.size() > member_host_bytes_max)
    return make_error(errc::bad_request, "member host must be 1.." +
                                             std::to_string(member_host_bytes_max) + " bytes");
  auto reply = client_->eval(
      join_lua, {member_key(me.id), members_key, view_key, epoch_key},
      {me.id, std::to_string(lease.count()), me.host, std::to_string(me.cluster_port),
       std::to_string(me.http_port), std::to_string(me.tcp_port),
       me.stats.empty() ? std::string("{}") : me.stats, std::to_string(members_max)});
  if (!reply)
    return reply.err();
  if (reply->kind != redis_reply::type::integer || reply->integer <= 0)
    return make_error(errc::internal, "join of " + me.id + " returned no epoch");
  // An epoch only a master that may die holds could be handed out again by
  // its successor: use it only once the replicas have it. Else the join
  // failed; take the record back (best effort), or the next join would
  // conflict with it until its lease expires.
  const auto epoch = static_cast<std::uint64_t>(reply->integer);
  if (auto ok = client_->wait_replicas(client_->url().wait); !ok) {
    (void)leave(me.id, epoch);
    return ok.err();
  }
  return epoch;
}

core::result<bool> redis_membership::renew(const std::string& id, std::uint64_t epoch,
                                           std::chrono::milliseconds lease,
                                           const std::string& stats) {
  for (auto ok : {check_id(id), check_lease(lease), check_stats(stats)})
    if (!ok)
      return ok.err();
  auto reply = client_->eval(renew_lua, {member_key(id)},
                             {std::to_string(epoch), std::to_string(lease.count()),
                              stats.empty() ? std::string("{}") : stats});
  if (!reply)
    return reply.err();
  if (reply->kind != redis_reply::type::integer)
    return make_error(errc::internal, "renewal of " + id + " returned no status");
  if (reply->integer != 1)
    return false;
  // A renewal counts only once a replica has it: the node serves until
  // renewal + lease - tick, so the lease a promoted replica holds must
  // last at least that long (storage/README.md, "Redis with Sentinel").
  if (auto ok = client_->wait_replicas(client_->url().wait); !ok)
    return ok.err();
  return true;
}

core::result<membership_view> redis_membership::read_view() {
  auto reply = client_->eval(read_view_lua, {members_key, view_key}, {member_prefix});
  if (!reply)
    return reply.err();
  const auto& r = *reply;
  if (r.kind != redis_reply::type::array || r.elements.size() != 2 ||
      r.elements[0].kind != redis_reply::type::integer ||
      r.elements[1].kind != redis_reply::type::array)
    return make_error(errc::internal, "unexpected reply reading the membership view");
  membership_view view;
  view.version = static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.elements[0].integer));
  view.members.reserve(r.elements[1].elements.size());
  for (const auto& e : r.elements[1].elements) {
    auto m = parse_member(e);
    if (!m)
      return m.err();
    view.members.push_back(std::move(*m));
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const member_record& a, const member_record& b) { return a.id < b.id; });
  return view;
}

core::result<core::unit_t> redis_membership::set_draining(const std::string& id) {
  if (auto ok = check_id(id); !ok)
    return ok;
  auto reply = client_->eval(drain_lua, {member_key(id), view_key}, {id});
  if (!reply)
    return reply.err();
  return core::unit;
}

core::result<fence_outcome> redis_membership::fence(const std::string& id, std::uint64_t epoch,
                                                    const std::string& fencer_id,
                                                    std::uint64_t fencer_epoch) {
  for (auto ok : {check_id(id), check_id(fencer_id)})
    if (!ok)
      return ok.err();
  if (id == fencer_id || epoch == 0 || fencer_epoch == 0)
    return make_error(errc::bad_request, "a fence needs another member and two epochs");
  auto reply = client_->eval(fence_lua, {member_key(id), members_key, view_key, member_key(fencer_id)},
                             {id, std::to_string(epoch), std::to_string(fencer_epoch)});
  if (!reply)
    return reply.err();
  if (reply->kind != redis_reply::type::integer)
    return make_error(errc::internal, "fence of " + id + " returned no status");
  if (reply->integer < 0)
    return fence_outcome::not_member;
  if (reply->integer == 0)
    return fence_outcome::gone;
  // As a join: in sentinel mode the fence counts once a replica has it (a
  // promoted replica without it would let the fenced epoch write again).
  if (auto ok = client_->wait_replicas(client_->url().wait); !ok)
    return ok.err();
  return fence_outcome::fenced;
}

core::result<core::unit_t> redis_membership::leave(const std::string& id, std::uint64_t epoch) {
  if (auto ok = check_id(id); !ok)
    return ok;
  auto reply = client_->eval(leave_lua, {member_key(id), members_key, view_key},
                             {id, std::to_string(epoch)});
  if (!reply)
    return reply.err();
  return core::unit;
}

} // namespace courier::storage
