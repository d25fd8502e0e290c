#pragma once
/// \file
/// A small synchronous Redis client over hiredis: one connection, commands
/// given as argument vectors (binary-safe), replies as values, errors as
/// values. Not thread-safe; owned by one detached actor (blocking calls never
/// run on the shared scheduler, STACK_NOTES "Redis").

#include "core/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct redisContext;

namespace courier::storage {

/// Where Redis is: parsed from "redis://HOST:PORT" (PORT defaults to 6379).
struct redis_url {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string str() const { return "redis://" + host + ":" + std::to_string(port); }
};

/// Parses "redis://HOST[:PORT]"; bad_request with a clear message otherwise.
core::result<redis_url> parse_redis_url(const std::string& text);

/// One Redis reply, flattened: nil, integer, string (bulk or status), or an
/// array of replies.
struct redis_reply {
  enum class type { nil, integer, string, array } kind = type::nil;
  std::int64_t integer = 0;
  std::string str;
  std::vector<redis_reply> elements;
};

/// One connection to Redis; see the file comment.
class redis_client {
public:
  /// Connects (with `timeout` for connect and for every command) and checks
  /// that the server answers PING.
  static core::result<std::unique_ptr<redis_client>>
  connect(const redis_url& url, std::chrono::milliseconds timeout);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Runs one command. A Redis error reply (e.g. from a script) is an error
  /// value whose message is the reply's text; the code comes from its first
  /// word: "CONFLICT" -> conflict, "FENCED" -> unavailable, "BADREQUEST" ->
  /// bad_request, "NOTFOUND" -> not_found, "OVERLOADED"/"OOM" -> overloaded,
  /// Redis's transient states (LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN)
  /// -> unavailable, internal otherwise. A broken connection or a timeout is
  /// unavailable (the command may or may not have run) and the next call
  /// reconnects once.
  core::result<redis_reply> command(const std::vector<std::string>& argv);

  /// EVALSHA with a fallback to SCRIPT LOAD on NOSCRIPT. A script is loaded
  /// on its first use and its SHA cached (at most a few dozen scripts).
  core::result<redis_reply> eval(const std::string& script,
                                 const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args);

  const redis_url& url() const { return url_; }

private:
  enum class cache { use, reload };
  redis_client(redis_url url, std::chrono::milliseconds timeout);
  core::result<core::unit_t> reconnect();
  /// The script's SHA: cached, or from SCRIPT LOAD (always with `reload`).
  core::result<std::string> script_sha(const std::string& script, cache mode);

  redis_url url_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  std::unordered_map<std::string, std::string> shas_; ///< script text -> SHA1
};

} // namespace courier::storage
