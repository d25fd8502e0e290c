#pragma once
/// \file
/// A courier-node child process for benchmarks: started on free ports with
/// a fresh data dir, ready once it prints `courier-node: ready http=P tcp=Q`,
/// stopped with SIGTERM (SIGKILL after a grace period).

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace courier::bench {

/// How to start a node beyond the defaults.
struct node_options {
  /// Parent of the fresh temp dir (node log + data dir). Its filesystem is
  /// the journal's: /tmp is the machine's disk; a tmpfs such as /dev/shm
  /// makes fdatasync a no-op (a baseline without durability cost).
  std::string dir_parent = "/tmp";
  /// More flags for courier-node, after the ones start() always gives.
  std::vector<std::string> extra_args;
  /// Pin the node to this CPU (sched_setaffinity before exec); -1 = no pin.
  int cpu = -1;
};

/// What every benchmark against a node does first: ignore SIGPIPE (a node
/// that goes away must not kill the client), raise the open-files limit to
/// its hard limit (thousands of connections), and check `binary` is
/// executable. False (after saying why on stderr, as `who`) if it is not:
/// the benchmark then exits 77, which ctest counts as skipped.
bool prepare_bench_process(const std::string& binary, const char* who);

/// Keeps the calling process's threads off `cpu` (inherited by every thread
/// started after this), so a node pinned there has it alone. False if the
/// process may run on no other CPU.
bool pin_self_away_from(int cpu);

/// A running node.
class node_process {
public:
  /// Starts `binary` with --http-port 0 --tcp-port 0 --data-dir <fresh
  /// temp dir> --secret `secret`; waits up to `ready_timeout_ms` for the
  /// ready line. The error text in `why` on failure.
  static std::optional<node_process> start(const std::string& binary, const std::string& secret,
                                           std::int64_t ready_timeout_ms, std::string& why,
                                           const node_options& options = {});
  node_process(node_process&& other) noexcept;
  node_process& operator=(node_process&&) = delete;
  ~node_process();

  std::uint16_t http_port() const noexcept { return http_port_; }
  std::uint16_t tcp_port() const noexcept { return tcp_port_; }
  pid_t pid() const noexcept { return pid_; }
  /// Resident set size now, KiB (from /proc/<pid>/status); 0 if unknown.
  std::int64_t rss_kib() const;
  /// CPU time used so far (user + system, all threads) in clock ticks,
  /// from /proc/<pid>/stat; -1 if unknown. See ticks_per_s().
  std::int64_t cpu_ticks() const;
  /// Clock ticks per second (sysconf(_SC_CLK_TCK)).
  static double ticks_per_s();
  /// cpu_ticks() in milliseconds; 0 if unknown.
  std::int64_t cpu_ms() const;
  /// SIGTERM, wait (SIGKILL after 10 s), remove the data dir.
  void stop();
  /// SIGKILL at once, remove the data dir: for benchmarks done measuring
  /// (a node with a million live entities takes ~12 s to stop cleanly).
  void kill_now();

private:
  node_process() = default;
  pid_t pid_ = -1;
  std::uint16_t http_port_ = 0, tcp_port_ = 0;
  std::string dir_;
};

} // namespace courier::bench
