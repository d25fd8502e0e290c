#include "storage/redis_client.hpp"

#include "core/assert.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <string_view>

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

} // namespace

core::result<redis_url> parse_redis_url(const std::string& text) {
  const std::string_view scheme = "redis://";
  const auto bad = [&](const std::string& why) {
    return make_error(errc::bad_request,
                      "bad Redis URL '" + text + "': " + why + " (want redis://HOST[:PORT])");
  };
  if (!starts_with(text, scheme))
    return bad("it must start with redis://");
  std::string_view rest(text);
  rest.remove_prefix(scheme.size());
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  redis_url url;
  auto colon = rest.rfind(':');
  std::string_view host = rest.substr(0, colon);
  if (colon != std::string_view::npos) {
    auto port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
        value > 65535)
      return bad("the port must be 1..65535");
    url.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty())
    return bad("the host is empty");
  if (host.find_first_of("/@?#") != std::string_view::npos)
    return bad("only HOST[:PORT] is supported (no path, user or options)");
  url.host = std::string(host);
  return url;
}

redis_client::redis_client(redis_url url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {}

redis_client::~redis_client() {
  if (ctx_ != nullptr)
    redisFree(ctx_);
}

core::result<std::unique_ptr<redis_client>>
redis_client::connect(const redis_url& url, std::chrono::milliseconds timeout) {
  COURIER_ASSERT(timeout.count() > 0);
  std::unique_ptr<redis_client> client(new redis_client(url, timeout));
  if (auto ok = client->reconnect(); !ok)
    return ok.err();
  // A listening socket is not yet a server that answers (it may be loading).
  if (auto pong = client->command({"PING"}); !pong)
    return pong.err();
  return client;
}

core::result<core::unit_t> redis_client::reconnect() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
  const auto tv = to_timeval(timeout_);
  redisContext* ctx = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
  if (ctx == nullptr)
    return make_error(errc::unavailable, "cannot connect to " + url_.str() + ": out of memory");
  if (ctx->err != 0) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return make_error(errc::unavailable, "cannot connect to " + url_.str() + ": " + why);
  }
  if (redisSetTimeout(ctx, tv) != REDIS_OK || redisEnableKeepAlive(ctx) != REDIS_OK) {
    std::string why = ctx->errstr;
    redisFree(ctx);
    return make_error(errc::unavailable, "cannot configure the connection to " + url_.str() +
                                             ": " + why);
  }
  ctx_ = ctx;
  return core::unit;
}

core::result<redis_reply> redis_client::command(const std::vector<std::string>& argv) {
  COURIER_ASSERT(!argv.empty());
  if (ctx_ == nullptr)
    if (auto ok = reconnect(); !ok)
      return ok.err();
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
    redisFree(ctx_);
    ctx_ = nullptr;
    return make_error(errc::unavailable, "Redis at " + url_.str() + " (" + argv.front() +
                                             "): " + why);
  }
  auto* reply = static_cast<redisReply*>(raw);
  auto out = convert(*reply);
  freeReplyObject(reply);
  return out;
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
