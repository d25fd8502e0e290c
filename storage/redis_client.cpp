#include "storage/redis_client.hpp"

#include "core/assert.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <thread>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

/// Scripts a process loads (a handful); the SHA cache never grows past it.
constexpr std::size_t scripts_max = 32;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// Maps an error reply onto Courier's codes by its first word: our scripts'
/// own words first, then Redis's "try again later" states.
errc code_of_error_reply(std::string_view text) {
  if (starts_with(text, "CONFLICT"))
    return errc::conflict;
  if (starts_with(text, "FENCED"))
    return errc::unavailable;
  if (starts_with(text, "BADREQUEST"))
    return errc::bad_request;
  if (starts_with(text, "NOTFOUND"))
    return errc::not_found;
  if (starts_with(text, "OVERLOADED") || starts_with(text, "OOM"))
    return errc::overloaded;
  if (starts_with(text, "NOAUTH") || starts_with(text, "WRONGPASS"))
    return errc::unauthorized;
  if (starts_with(text, "NOPERM"))
    return errc::forbidden;
  for (std::string_view busy : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN"})
    if (starts_with(text, busy))
      return errc::unavailable;
  return errc::internal;
}

/// Flattens a hiredis reply; an error reply (also one nested in an array)
/// becomes an error value.
core::result<redis_reply> convert(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_NIL:
      return out;
    case REDIS_REPLY_INTEGER:
      out.kind = redis_reply::type::integer;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.kind = redis_reply::type::string;
      out.str.assign(r.str, r.len);
      return out;
    case REDIS_REPLY_ERROR: {
      std::string text(r.str, r.len);
      return make_error(code_of_error_reply(text), text);
    }
    case REDIS_REPLY_ARRAY:
      out.kind = redis_reply::type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) {
        auto e = convert(*r.element[i]);
        if (!e)
          return e.err();
        out.elements.push_back(std::move(*e));
      }
      return out;
    default:
      return make_error(errc::internal,
                        "unexpected Redis reply type " + std::to_string(r.type));
  }
}


/// A redis:// URL's port when it names none.
constexpr std::uint16_t redis_default_port = 6379;
/// A sentinel's port when the URL names none.
constexpr std::uint16_t redis_sentinel_default_port = 26379;
/// Rounds over all sentinels that one (re)connect makes before it gives up
/// (unavailable; the caller's next command tries again).
constexpr int sentinel_rounds_max = 3;
/// Pause before the second round; doubled per round, at most the max.
constexpr std::chrono::milliseconds sentinel_backoff_first{100};
constexpr std::chrono::milliseconds sentinel_backoff_max{400};
/// Connect+query bound for one sentinel (less if the client's timeout is
/// shorter): a dead sentinel must not eat the time the next ones need.
constexpr std::chrono::milliseconds sentinel_query_timeout_max{500};
/// Socket slack beyond a WAIT's own timeout.
constexpr std::chrono::milliseconds wait_io_margin{500};
static_assert(sentinel_backoff_first <= sentinel_backoff_max);

/// True for the error replies of a replica asked to write (or of one cut off
/// from its master): in sentinel mode, ours is no longer the master.
bool names_a_replica(std::string_view text) {
  return starts_with(text, "READONLY") || starts_with(text, "MASTERDOWN");
}

/// Asks one sentinel for the master's address (SENTINEL
/// get-master-addr-by-name); unavailable when it cannot answer, not_found
/// when it does not monitor `name`.
core::result<redis_endpoint> ask_sentinel(const redis_endpoint& sentinel, const std::string& name,
                                          std::chrono::milliseconds timeout) {
  const auto tv = to_timeval(timeout);
  const std::string who = "sentinel " + sentinel.str();
  redisContext* ctx = redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, tv);
  if (ctx == nullptr)
    return make_error(errc::unavailable, who + ": out of memory");
  std::unique_ptr<redisContext, void (*)(redisContext*)> guard(ctx, redisFree);
  if (ctx->err != 0)
    return make_error(errc::unavailable, who + ": " + ctx->errstr);
  if (redisSetTimeout(ctx, tv) != REDIS_OK)
    return make_error(errc::unavailable, who + ": " + ctx->errstr);
  const char* argv[] = {"SENTINEL", "get-master-addr-by-name", name.c_str()};
  const std::size_t lengths[] = {8, 23, name.size()};
  void* raw = redisCommandArgv(ctx, 3, argv, lengths);
  if (raw == nullptr)
    return make_error(errc::unavailable, who + ": " + ctx->errstr);
  std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                     freeReplyObject);
  if (reply->type == REDIS_REPLY_NIL)
    return make_error(errc::not_found, who + " monitors no master '" + name + "'");
  if (reply->type == REDIS_REPLY_ERROR)
    return make_error(errc::unavailable, who + ": " + std::string(reply->str, reply->len));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING)
    return make_error(errc::internal, who + " sent an unexpected reply for '" + name + "'");
  redis_endpoint master;
  master.host.assign(reply->element[0]->str, reply->element[0]->len);
  const std::string port(reply->element[1]->str, reply->element[1]->len);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return make_error(errc::internal, who + " named port '" + port + "' for '" + name + "'");
  master.port = static_cast<std::uint16_t>(value);
  return master;
}


/// Parses "HOST[:PORT]" (`port` is the default); the error text, or "".
std::string parse_endpoint(std::string_view text, std::uint16_t port, redis_endpoint& out) {
  auto colon = text.rfind(':');
  std::string_view host = text.substr(0, colon);
  out.port = port;
  if (colon != std::string_view::npos) {
    auto digits = text.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
        value == 0 || value > 65535)
      return "the port must be 1..65535";
    out.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty())
    return "the host is empty";
  if (host.find_first_of("/@?#,") != std::string_view::npos)
    return "only HOST[:PORT] is supported (no path, user or options)";
  out.host = std::string(host);
  return "";
}

core::result<redis_url> parse_plain_url(const std::string& text, std::string_view rest) {
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  redis_endpoint server;
  if (auto why = parse_endpoint(rest, redis_default_port, server); !why.empty())
    return make_error(errc::bad_request,
                      "bad Redis URL '" + text + "': " + why + " (want redis://HOST[:PORT])");
  redis_url url;
  url.host = server.host;
  url.port = server.port;
  return url;
}

core::result<redis_url> parse_sentinel_url(const std::string& text, std::string_view rest) {
  const auto bad = [&](const std::string& why) {
    return make_error(errc::bad_request, "bad Redis URL '" + text + "': " + why +
                                             " (want redis-sentinel://HOST[:PORT],.../NAME)");
  };
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return bad("the master's NAME is missing");
  std::string_view hosts = rest.substr(0, slash);
  std::string_view name = rest.substr(slash + 1);
  if (name.empty() || name.size() > redis_master_name_bytes_max)
    return bad("the master's NAME must be 1.." + std::to_string(redis_master_name_bytes_max) +
               " characters");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return bad("the master's NAME may hold letters, digits, '-', '_' and '.' only");
  redis_url url;
  url.master_name = std::string(name);
  while (true) {
    auto comma = hosts.find(',');
    redis_endpoint sentinel;
    if (auto why = parse_endpoint(hosts.substr(0, comma), redis_sentinel_default_port, sentinel);
        !why.empty())
      return bad("sentinel " + std::to_string(url.sentinels.size() + 1) + ": " + why);
    if (url.sentinels.size() == redis_sentinels_max)
      return bad("more than " + std::to_string(redis_sentinels_max) + " sentinels");
    url.sentinels.push_back(std::move(sentinel));
    if (comma == std::string_view::npos)
      break;
    hosts.remove_prefix(comma + 1);
  }
  // A master that only the master's own word makes durable would not
  // survive the failover sentinels exist for: one replica by default.
  url.wait.replicas = 1;
  return url;
}

} // namespace

std::string redis_url::str() const {
  if (!via_sentinel())
    return "redis://" + host + ":" + std::to_string(port);
  std::string out = "redis-sentinel://";
  for (std::size_t i = 0; i < sentinels.size(); ++i)
    out += (i == 0 ? "" : ",") + sentinels[i].str();
  return out + "/" + master_name;
}

core::result<redis_url> parse_redis_url(const std::string& text) {
  const std::string_view plain = "redis://";
  const std::string_view sentinel = "redis-sentinel://";
  std::string_view rest(text);
  if (starts_with(rest, plain))
    return parse_plain_url(text, rest.substr(plain.size()));
  if (starts_with(rest, sentinel))
    return parse_sentinel_url(text, rest.substr(sentinel.size()));
  return make_error(errc::bad_request,
                    "bad Redis URL '" + text +
                        "': it must start with redis:// or redis-sentinel:// (want "
                        "redis://HOST[:PORT] or redis-sentinel://HOST[:PORT],.../NAME)");
}

redis_client::redis_client(redis_url url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

redis_client::~redis_client() { close(); }

void redis_client::close() {
  if (ctx_ != nullptr)
    redisFree(ctx_);
  ctx_ = nullptr;
}

std::string redis_client::where() const {
  if (!url_.via_sentinel())
    return url_.str();
  if (server_.host.empty())
    return "master '" + url_.master_name + "' (not found yet) via " + url_.str();
  return server_.str() + " (master '" + url_.master_name + "' via sentinels)";
}

core::result<std::unique_ptr<redis_client>>
redis_client::connect(const redis_url& url, std::chrono::milliseconds timeout) {
  COURIER_ASSERT(timeout.count() > 0);
  std::unique_ptr<redis_client> client(new redis_client(url, timeout));
  if (auto ok = client->reconnect(); !ok)
    return ok.err();
  // A listening socket is not yet a server that answers (it may be loading).
  if (auto pong = client->command({"PING"}); !pong) {
    if (pong.err().code == errc::unauthorized && url.password.empty())
      return make_error(errc::unauthorized, "Redis at " + client->where() +
                                                " wants a password and none was given: " +
                                                pong.err().message);
    return pong.err();
  }
  return client;
}

core::result<core::unit_t> redis_client::reconnect() {
  close();
  auto ok = url_.via_sentinel() ? discover_master() : open({url_.host, url_.port});
  if (ok)
    ++generation_;
  return ok;
}

core::result<core::unit_t> redis_client::open(const redis_endpoint& at) {
  COURIER_ASSERT(ctx_ == nullptr);
  server_ = at;
  const auto tv = to_timeval(timeout_);
  redisContext* ctx = redisConnectWithTimeout(at.host.c_str(), at.port, tv);
  if (ctx == nullptr)
    return make_error(errc::unavailable, "cannot connect to " + where() + ": out of memory");
  if (ctx->err != 0) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return make_error(errc::unavailable, "cannot connect to " + where() + ": " + why);
  }
  if (redisSetTimeout(ctx, tv) != REDIS_OK || redisEnableKeepAlive(ctx) != REDIS_OK) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return make_error(errc::unavailable, "cannot configure the connection to " + where() +
                                             ": " + why);
  }
  ctx_ = ctx;
  if (url_.password.empty())
    return core::unit;
  std::vector<std::string> auth{"AUTH"};
  if (!url_.user.empty())
    auth.push_back(url_.user);
  auth.push_back(url_.password);
  auto ok = command_once(auth);
  if (ok)
    return core::unit;
  close();
  const std::string who = url_.user.empty() ? "the default user" : "user '" + url_.user + "'";
  if (ok.err().code == errc::unauthorized)
    return make_error(errc::unauthorized, "Redis at " + at.str() +
                                              " refused the credentials of " + who + ": " +
                                              ok.err().message);
  return ok.err();
}

core::result<core::unit_t> redis_client::discover_master() {
  COURIER_ASSERT(url_.via_sentinel());
  const auto query_timeout = std::min(timeout_, sentinel_query_timeout_max);
  std::string why = "no sentinel answered";
  auto backoff = sentinel_backoff_first;
  for (int round = 0; round < sentinel_rounds_max; ++round) {
    if (round > 0) {
      // During a failover the sentinels name the dead master until they
      // agree on a new one (down-after-milliseconds + an election): wait a
      // little between rounds rather than hammer them.
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, sentinel_backoff_max);
    }
    for (const auto& sentinel : url_.sentinels) {
      auto master = ask_sentinel(sentinel, url_.master_name, query_timeout);
      if (!master) {
        why = master.err().message;
        continue;
      }
      if (auto ok = open(*master); !ok) {
        why = "sentinel " + sentinel.str() + " names " + master->str() + ": " + ok.err().message;
        continue;
      }
      // The sentinel's word may be stale (a failover under way, or it was
      // partitioned): only a server that says it is master takes writes.
      auto role = command_once({"ROLE"});
      if (role && role->kind == redis_reply::type::array && !role->elements.empty() &&
          role->elements.front().str == "master")
        return core::unit;
      why = "sentinel " + sentinel.str() + " names " + master->str() + ", which " +
            (role ? "is not a master (ROLE " +
                        (role->elements.empty() ? std::string("?") : role->elements.front().str) +
                        ")"
                  : "did not answer ROLE: " + role.err().message);
      close();
    }
  }
  return make_error(errc::unavailable, "no master '" + url_.master_name + "' via " + url_.str() +
                                           " after " + std::to_string(sentinel_rounds_max) +
                                           " rounds: " + why);
}

core::result<redis_reply> redis_client::command(const std::vector<std::string>& argv) {
  COURIER_ASSERT(!argv.empty());
  for (int attempt = 0;; ++attempt) {
    if (ctx_ == nullptr)
      if (auto ok = reconnect(); !ok)
        return ok.err();
    auto reply = command_once(argv);
    // In sentinel mode READONLY/MASTERDOWN mean we talk to a replica (a
    // failover demoted our master): the command did not run, so finding the
    // master and running it there once more is safe.
    if (!reply && url_.via_sentinel() && attempt == 0 && names_a_replica(reply.err().message)) {
      close();
      continue;
    }
    return reply;
  }
}

core::result<redis_reply> redis_client::command_once(const std::vector<std::string>& argv) {
  COURIER_ASSERT(ctx_ != nullptr);
  std::vector<const char*> parts;
  std::vector<std::size_t> lengths;
  parts.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& a : argv) {
    parts.push_back(a.data());
    lengths.push_back(a.size());
  }
  void* raw = redisCommandArgv(ctx_, static_cast<int>(parts.size()), parts.data(),
                               lengths.data());
  if (raw == nullptr) {
    // I/O error or timeout: the connection's state is unknown, so drop it;
    // the next call reconnects. The command may or may not have run.
    std::string why = ctx_->errstr;
    close();
    return make_error(errc::unavailable, "Redis at " + where() + " (" + argv.front() +
                                             "): " + why);
  }
  auto* reply = static_cast<redisReply*>(raw);
  auto out = convert(*reply);
  freeReplyObject(reply);
  return out;
}

core::result<core::unit_t> redis_client::wait_replicas(const redis_wait& wait) {
  if (wait.replicas == 0)
    return core::unit;
  COURIER_ASSERT(wait.replicas <= redis_wait_replicas_max);
  COURIER_ASSERT(wait.timeout.count() > 0 && wait.timeout <= redis_wait_timeout_max);
  if (ctx_ == nullptr)
    return make_error(errc::unavailable, "the connection to " + where() +
                                             " broke before its writes reached a replica");
  // WAIT blocks up to its own timeout: give the socket that long and more.
  if (redisSetTimeout(ctx_, to_timeval(wait.timeout + wait_io_margin)) != REDIS_OK) {
    close();
    return make_error(errc::unavailable, "cannot set the WAIT timeout on " + where());
  }
  auto reply = command_once({"WAIT", std::to_string(wait.replicas),
                             std::to_string(wait.timeout.count())});
  if (ctx_ != nullptr && redisSetTimeout(ctx_, to_timeval(timeout_)) != REDIS_OK)
    close();
  if (!reply)
    return reply.err();
  if (reply->kind != redis_reply::type::integer)
    return make_error(errc::internal, "WAIT on " + where() + " returned no count");
  if (reply->integer < static_cast<std::int64_t>(wait.replicas))
    return make_error(errc::unavailable,
                      "only " + std::to_string(reply->integer) + " of " +
                          std::to_string(wait.replicas) + " replicas of " + where() +
                          " acknowledged within " + std::to_string(wait.timeout.count()) +
                          " ms: the writes may be lost in a failover");
  return core::unit;
}

core::result<redis_reply> redis_client::eval(const std::string& script,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto sha = script_sha(script, attempt == 0 ? cache::use : cache::reload);
    if (!sha)
      return sha.err();
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.push_back(*sha);
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = command(argv);
    // NOSCRIPT: Redis restarted or its script cache was flushed; load again.
    if (!reply && starts_with(reply.err().message, "NOSCRIPT"))
      continue;
    return reply;
  }
  return make_error(errc::internal, "Redis at " + url_.str() +
                                        " forgot a script right after loading it");
}

core::result<std::string> redis_client::script_sha(const std::string& script, cache mode) {
  if (mode == cache::use)
    if (auto it = shas_.find(script); it != shas_.end())
      return it->second;
  auto loaded = command({"SCRIPT", "LOAD", script});
  if (!loaded)
    return loaded.err();
  if (loaded->kind != redis_reply::type::string)
    return make_error(errc::internal, "SCRIPT LOAD did not return a SHA");
  COURIER_ASSERT(shas_.size() < scripts_max || shas_.count(script) == 1);
  shas_[script] = loaded->str;
  return loaded->str;
}

} // namespace courier::storage
