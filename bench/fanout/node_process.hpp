#pragma once
/// \file
/// A courier-node child process for benchmarks: started on free ports with
/// a fresh data dir, ready once it prints `courier-node: ready http=P tcp=Q`,
/// stopped with SIGTERM (SIGKILL after a grace period).

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace courier::bench {

/// A running node.
class node_process {
public:
  /// Starts `binary` with --http-port 0 --tcp-port 0 --data-dir <fresh
  /// temp dir> --secret `secret`; waits up to `ready_timeout_ms` for the
  /// ready line. The error text in `why` on failure.
  static std::optional<node_process> start(const std::string& binary, const std::string& secret,
                                           std::int64_t ready_timeout_ms, std::string& why);
  node_process(node_process&& other) noexcept;
  node_process& operator=(node_process&&) = delete;
  ~node_process();

  std::uint16_t http_port() const noexcept { return http_port_; }
  std::uint16_t tcp_port() const noexcept { return tcp_port_; }
  pid_t pid() const noexcept { return pid_; }
  /// Resident set size now, KiB (from /proc/<pid>/status); 0 if unknown.
  std::int64_t rss_kib() const;
  /// SIGTERM, wait (SIGKILL after 10 s), remove the data dir.
  void stop();

private:
  node_process() = default;
  pid_t pid_ = -1;
  std::uint16_t http_port_ = 0, tcp_port_ = 0;
  std::string dir_;
};

} // namespace courier::bench
