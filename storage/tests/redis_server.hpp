#pragma once
/// \file
/// A real redis-server for one integration test: started on 127.0.0.1 with a
/// free port in a fresh temp dir (no RDB saves, no AOF), ready once it
/// answers PING, killed and removed on destruction.
///
///   COURIER_REDIS_SERVER_OR_SKIP(server); // a redis_server& (doctest)
///
/// start({"--replicaof", "127.0.0.1", "PORT"}) makes a replica;
/// start_sentinel(master port, name, ...) a Redis Sentinel (redis-server
/// --sentinel, as Debian's redis-sentinel runs it) monitoring that master.
///
/// The binary is $COURIER_REDIS_SERVER or /usr/bin/redis-server.

#include "storage/redis_client.hpp"
#include "storage/tests/temp_dir.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace courier::storage::testing {

class redis_server {
public:
  /// Tries a few ports (another process may take the free one first).
  static constexpr int start_attempts = 5;
  /// How long a started server has to answer PING.
  static constexpr std::chrono::milliseconds ready_timeout{5000};

  /// The redis-server binary to run.
  static std::string binary() {
    const char* env = std::getenv("COURIER_REDIS_SERVER");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/redis-server";
  }

  /// A running server; not_found when there is no redis-server binary,
  /// unavailable when it did not come up.
  /// With `password`, the server requires it (requirepass) and url() and
  /// client() carry it.
  static core::result<std::unique_ptr<redis_server>>
  start(std::vector<std::string> extra = {}, const std::string& password = "") {
    if (::access(binary().c_str(), X_OK) != 0)
      return core::make_error(core::errc::not_found, binary() + " is not installed");
    if (!password.empty())
      extra.insert(extra.end(), {"--requirepass", password});
    std::string why;
    for (int attempt = 0; attempt < start_attempts; ++attempt) {
      std::unique_ptr<redis_server> server(new redis_server());
      server->url_.password = password;
      if (server->launch(extra, why))
        return server;
    }
    return core::make_error(core::errc::unavailable, "redis-server did not start: " + why);
  }

  /// True (after printing why) when the test should be skipped because
  /// redis-server is not installed.
  static bool skip(const core::result<std::unique_ptr<redis_server>>& started) {
    if (started || started.err().code != core::errc::not_found)
      return false;
    std::fprintf(stderr, "SKIPPED: %s (apt-get install redis-server)\n",
                 started.err().message.c_str());
    return true;
  }

  /// A sentinel monitoring the master at 127.0.0.1:`master_port` as
  /// `name`, with quorum `quorum` and a short down-after (tests fail over in
  /// seconds).
  static core::result<std::unique_ptr<redis_server>>
  start_sentinel(std::uint16_t master_port, const std::string& name, int quorum,
                 std::chrono::milliseconds down_after = std::chrono::milliseconds{1000},
                 std::chrono::milliseconds failover_timeout = std::chrono::milliseconds{3000}) {
    if (::access(binary().c_str(), X_OK) != 0)
      return core::make_error(core::errc::not_found, binary() + " is not installed");
    std::string why;
    for (int attempt = 0; attempt < start_attempts; ++attempt) {
      std::unique_ptr<redis_server> server(new redis_server());
      const std::string conf = server->dir_.file("sentinel.conf");
      if (std::FILE* f = std::fopen(conf.c_str(), "w")) {
        // The port line comes from launch(); the sentinel rewrites this file.
        std::fprintf(f,
                     "sentinel monitor %s 127.0.0.1 %u %d\n"
                     "sentinel down-after-milliseconds %s %lld\n"
                     "sentinel failover-timeout %s %lld\n"
                     "sentinel parallel-syncs %s 1\n",
                     name.c_str(), unsigned{master_port}, quorum, name.c_str(),
                     static_cast<long long>(down_after.count()), name.c_str(),
                     static_cast<long long>(failover_timeout.count()), name.c_str());
        std::fclose(f);
      }
      if (server->launch({}, why, conf))
        return server;
    }
    return core::make_error(core::errc::unavailable, "redis sentinel did not start: " + why);
  }

  /// A command on a fresh connection (tests' admin commands: INFO, ROLE,
  /// SENTINEL ...); an error value when it fails.
  core::result<redis_reply> run(const std::vector<std::string>& argv) const {
    auto c = redis_client::connect(url_, std::chrono::milliseconds{2000});
    if (!c)
      return c.err();
    return (*c)->command(argv);
  }

  /// SIGKILL, as a crash: no shutdown, nothing saved. Idempotent.
  void kill_hard() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  ~redis_server() { stop(); }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  const redis_url& url() const noexcept { return url_; }
  std::uint16_t port() const noexcept { return url_.port; }
  const std::string& dir() const noexcept { return dir_.path(); }

  /// A new client of this server.
  std::unique_ptr<redis_client> client() const {
    auto c = redis_client::connect(url_, std::chrono::milliseconds{2000});
    if (!c) {
      std::fprintf(stderr, "redis_server: %s\n", c.err().message.c_str());
      std::abort();
    }
    return std::move(*c);
  }

  /// Stops the server (SIGTERM, then SIGKILL after 2 s). Idempotent.
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

private:
  redis_server() = default;

  /// A port that was free a moment ago (the kernel's pick for port 0).
  static std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    if (fd >= 0)
      ::close(fd);
    return port;
  }

  /// Starts redis-server (with `sentinel_conf`: as a sentinel on that
  /// file) on a free port; false (and why) when it did not come up.
  bool launch(const std::vector<std::string>& extra, std::string& why,
              const std::string& sentinel_conf = "") {
    url_.host = "127.0.0.1";
    url_.port = free_port();
    if (url_.port == 0) {
      why = "no free port";
      return false;
    }
    std::vector<std::string> args{binary()};
    if (!sentinel_conf.empty())
      args.insert(args.end(), {sentinel_conf, "--sentinel"});
    args.insert(args.end(), {"--port", std::to_string(url_.port), "--bind", "127.0.0.1", "--dir",
                             dir_.path(), "--daemonize", "no", "--logfile",
                             dir_.file("redis.log")});
    if (sentinel_conf.empty())
      args.insert(args.end(), {"--save", "", "--appendonly", "no"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      why = "posix_spawn failed";
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) { // exited: port taken?
        pid_ = -1;
        why = "it exited: " + log_tail();
        return false;
      }
      auto c = redis_client::connect(url_, std::chrono::milliseconds{200});
      if (c) {
        auto pong = (*c)->command({"PING"});
        if (pong && pong->str == "PONG")
          return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    why = "no PONG within " + std::to_string(ready_timeout.count()) + " ms";
    stop();
    return false;
  }

  /// The end of the server's log, for error messages.
  std::string log_tail() const {
    std::string log;
    if (std::FILE* f = std::fopen(dir_.file("redis.log").c_str(), "r")) {
      char buf[4096];
      std::size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        log.append(buf, n);
      std::fclose(f);
    }
    return log.size() > 400 ? log.substr(log.size() - 400) : log;
  }

  temp_dir dir_;
  redis_url url_;
  pid_t pid_ = -1;
};

} // namespace courier::storage::testing

/// In a doctest test case: starts a redis_server bound to `name` (a
/// reference), or prints why and returns when redis-server is not installed.
#define COURIER_REDIS_SERVER_OR_SKIP(name)                                                    \
  COURIER_REDIS_SERVER_OR_SKIP_WITH(name, std::vector<std::string>{})

/// The same with redis_server::start's arguments (extra flags, a password).
#define COURIER_REDIS_SERVER_OR_SKIP_WITH(name, ...)                                          \
  auto name##_started = ::courier::storage::testing::redis_server::start(__VA_ARGS__);       \
  if (::courier::storage::testing::redis_server::skip(name##_started))                       \
    return;                                                                                  \
  REQUIRE_MESSAGE(name##_started.ok(),                                                       \
                  (name##_started.ok() ? "" : name##_started.err().message));                \
  auto& name = **name##_started
