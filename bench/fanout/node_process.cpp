#include "bench/fanout/node_process.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sched.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace courier::bench {

namespace {
/// Parses "courier-node: ready http=P tcp=Q" out of the node's log.
bool find_ready(const std::string& log_path, std::uint16_t& http, std::uint16_t& tcp) {
  std::ifstream in(log_path);
  std::string line;
  while (std::getline(in, line)) {
    unsigned h = 0, t = 0;
    if (std::sscanf(line.c_str(), "courier-node: ready http=%u tcp=%u", &h, &t) == 2) {
      http = static_cast<std::uint16_t>(h);
      tcp = static_cast<std::uint16_t>(t);
      return true;
    }
  }
  return false;
}

/// The child's argv: the fixed flags, then the caller's.
std::vector<std::string> node_argv(const std::string& binary, const std::string& data,
                                   const std::string& secret, const node_options& options) {
  std::vector<std::string> args{binary,     "--http-port", "0",           "--tcp-port",
                                "0",        "--data-dir",  data,          "--secret",
                                secret,     "--log-level", "warning"};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  return args;
}

/// In the forked child: log to `log`, pin if asked, exec. Never returns.
/// Allocates nothing: the parent may have other threads holding malloc's lock.
[[noreturn]] void exec_node(char* const* argv, const char* log, int cpu) {
  int fd = ::open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
      _exit(126);
  }
  execv(argv[0], argv);
  _exit(127);
}
} // namespace

bool pin_self_away_from(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return false;
  CPU_CLR(cpu, &set);
  return CPU_COUNT(&set) > 0 && sched_setaffinity(0, sizeof set, &set) == 0;
}

bool prepare_bench_process(const std::string& binary, const char* who) {
  std::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (access(binary.c_str(), X_OK) == 0)
    return true;
  std::cerr << who << ": no courier-node at " << binary << ", skipping\n";
  return false;
}

std::optional<node_process> node_process::start(const std::string& binary,
                                                const std::string& secret,
                                                std::int64_t ready_timeout_ms, std::string& why,
                                                const node_options& options) {
  std::string tmpl = options.dir_parent + "/courier-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    why = "mkdtemp failed in " + options.dir_parent;
    return std::nullopt;
  }
  node_process p;
  p.dir_ = tmpl;
  std::string log = p.dir_ + "/node.log";
  std::string data = p.dir_ + "/data";
  // Built before fork: the child must not allocate.
  auto args = node_argv(binary, data, secret, options);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    why = "fork failed";
    return std::nullopt;
  }
  if (pid == 0)
    exec_node(argv.data(), log.c_str(), options.cpu);
  p.pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ready_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (find_ready(log, p.http_port_, p.tcp_port_))
      return p;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      p.pid_ = -1;
      std::ifstream in(log);
      std::ostringstream text;
      text << in.rdbuf();
      why = "courier-node exited before it was ready:\n" + text.str();
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  why = "courier-node not ready within " + std::to_string(ready_timeout_ms) + " ms";
  return std::nullopt; // the destructor stops it
}

node_process::node_process(node_process&& o) noexcept
    : pid_(o.pid_), http_port_(o.http_port_), tcp_port_(o.tcp_port_), dir_(std::move(o.dir_)) {
  o.pid_ = -1;
  o.dir_.clear();
}

node_process::~node_process() {
  stop();
}

std::int64_t node_process::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atoll(line.c_str() + 6);
  return 0;
}

std::int64_t node_process::cpu_ticks() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  std::int64_t utime = -1, stime = -1;
  // Fields 3.. follow; utime is field 14, stime field 15 (proc(5)).
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14)
      utime = std::atoll(field.c_str());
    if (n == 15)
      stime = std::atoll(field.c_str());
  }
  return utime < 0 || stime < 0 ? -1 : utime + stime;
}

double node_process::ticks_per_s() {
  return static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::int64_t node_process::cpu_ms() const {
  auto ticks = cpu_ticks();
  return ticks < 0 ? 0 : static_cast<std::int64_t>(static_cast<double>(ticks) * 1000 / ticks_per_s());
}

void node_process::kill_now() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  stop(); // removes the data dir
}

void node_process::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

} // namespace courier::bench
