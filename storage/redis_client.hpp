#pragma once
/// \file
/// A small synchronous Redis client over hiredis: one connection, commands
/// given as argument vectors (binary-safe), replies as values, errors as
/// values. Not thread-safe; owned by one detached actor (blocking calls never
/// run on the shared scheduler, STACK_NOTES "Redis").

#include "core/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct redisContext;

namespace courier::storage {

/// How many replicas must hold a write before it counts (`WAIT replicas
/// timeout` after it, on the same connection). 0: the master's word is
/// enough (plain redis://). See storage/README.md "Redis with Sentinel" for
/// what this does and does not protect.
struct redis_wait {
  std::uint32_t replicas = 0;
  std::chrono::milliseconds timeout{500};
};

/// Most replicas a WAIT may ask for (a Redis master rarely has more).
inline constexpr std::uint32_t redis_wait_replicas_max = 16;
/// Longest a WAIT may block its writer (the journal actor waits meanwhile).
inline constexpr std::chrono::milliseconds redis_wait_timeout_max{10'000};
/// Most sentinels a redis-sentinel:// URL may list.
inline constexpr std::size_t redis_sentinels_max = 16;
/// Longest master name a redis-sentinel:// URL may give.
inline constexpr std::size_t redis_master_name_bytes_max = 64;

/// One HOST:PORT.
struct redis_endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};

/// Where Redis is: "redis://HOST[:PORT]" (PORT defaults to 6379), or
/// "redis-sentinel://H1[:P1],H2[:P2],.../NAME" (ports default to 26379):
/// the master called NAME, as the sentinels report it, followed across
/// failovers. Also how writes are acknowledged (`wait`).
struct redis_url {
  std::string host = "127.0.0.1"; ///< the server (plain redis:// only)
  std::uint16_t port = 6379;
  std::vector<redis_endpoint> sentinels; ///< non-empty: sentinel mode
  std::string master_name;              ///< sentinel mode: the monitored master's name
  /// Durable journal/lease writes; parse_redis_url sets 1 replica for
  /// sentinel URLs, 0 for plain ones (a flag may override).
  redis_wait wait;
  /// Credentials for the Redis server (never for sentinels): every
  /// connection sends `AUTH [user] password` before its first command when
  /// `password` is set. Empty `user`: Redis's `default` user (requirepass).
  /// Never part of the URL text (they come from files; str() leaves them out).
  std::string user;
  std::string password;

  bool via_sentinel() const { return !sentinels.empty(); }
  std::string str() const;
};

/// Parses either form above; bad_request with a clear message otherwise.
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
  /// Connects (with `timeout` for connect and for every command),
  /// authenticates when the URL carries a password, and checks that the
  /// server answers PING (a server that wants a password we lack:
  /// unauthorized, saying so). In sentinel mode it first asks the
  /// sentinels, in order, for the master's address and checks with ROLE that
  /// the server there is a master (see reconnect()).
  static core::result<std::unique_ptr<redis_client>>
  connect(const redis_url& url, std::chrono::milliseconds timeout);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Runs one command. A Redis error reply (e.g. from a script) is an error
  /// value whose message is the reply's text; the code comes from its first
  /// word: "CONFLICT" -> conflict, "FENCED" -> unavailable, "BADREQUEST" ->
  /// bad_request, "NOTFOUND" -> not_found, "OVERLOADED"/"OOM" -> overloaded,
  /// "NOAUTH"/"WRONGPASS" -> unauthorized, "NOPERM" -> forbidden,
  /// Redis's transient states (LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN)
  /// -> unavailable, internal otherwise. A broken connection or a timeout is
  /// unavailable (the command may or may not have run) and the next call
  /// reconnects once. In sentinel mode the reconnect asks the sentinels
  /// again, and a READONLY/MASTERDOWN reply (we reached a replica: the
  /// command did not run) drops the connection, finds the master and runs
  /// the command once more.
  core::result<redis_reply> command(const std::vector<std::string>& argv);

  /// EVALSHA with a fallback to SCRIPT LOAD on NOSCRIPT. A script is loaded
  /// on its first use and its SHA cached (at most a few dozen scripts).
  core::result<redis_reply> eval(const std::string& script,
                                 const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args);

  /// Blocks until `wait.replicas` replicas hold every write made so far on
  /// this connection, or `wait.timeout` passes (Redis's WAIT). Fewer
  /// replicas, or a connection that is gone (its writes may not have reached
  /// any replica), is unavailable: the writes' fate is unknown. Never
  /// reconnects: a WAIT on a new connection would cover none of them.
  /// Nothing to do when `wait.replicas` is 0.
  core::result<core::unit_t> wait_replicas(const redis_wait& wait);

  /// Counts connections made: writes made under one value are covered by a
  /// WAIT under the same value only.
  std::uint64_t connection_generation() const { return generation_; }

  const redis_url& url() const { return url_; }
  /// The server this client talks to now ("host:port"; in sentinel mode the
  /// master last found), for messages.
  std::string where() const;

private:
  enum class cache { use, reload };
  redis_client(redis_url url, std::chrono::milliseconds timeout);
  core::result<core::unit_t> reconnect();
  void close();
  /// Opens ctx_ to `at`, configures it (timeouts, keepalive) and sends AUTH
  /// when the URL has a password.
  core::result<core::unit_t> open(const redis_endpoint& at);
  /// Sentinel mode: asks the sentinels for the master and opens ctx_ to it,
  /// checking ROLE; a bounded number of rounds with backoff.
  core::result<core::unit_t> discover_master();
  core::result<redis_reply> command_once(const std::vector<std::string>& argv);
  /// The script's SHA: cached, or from SCRIPT LOAD (always with `reload`).
  core::result<std::string> script_sha(const std::string& script, cache mode);

  redis_url url_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  redis_endpoint server_;      ///< where ctx_ is (or was last) connected
  std::uint64_t generation_ = 0; ///< successful connects so far
  std::unordered_map<std::string, std::string> shas_; ///< script text -> SHA1
};

} // namespace courier::storage
