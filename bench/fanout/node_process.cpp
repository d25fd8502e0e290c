#include "bench/fanout/node_process.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
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
} // namespace

std::optional<node_process> node_process::start(const std::string& binary,
                                                const std::string& secret,
                                                std::int64_t ready_timeout_ms, std::string& why) {
  char tmpl[] = "/tmp/courier-fanout-XXXXXX";
  if (!mkdtemp(tmpl)) {
    why = "mkdtemp failed";
    return std::nullopt;
  }
  node_process p;
  p.dir_ = tmpl;
  std::string log = p.dir_ + "/node.log";
  std::string data = p.dir_ + "/data";
  pid_t pid = fork();
  if (pid < 0) {
    why = "fork failed";
    return std::nullopt;
  }
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(binary.c_str(), binary.c_str(), "--http-port", "0", "--tcp-port", "0", "--data-dir",
          data.c_str(), "--secret", secret.c_str(), "--log-level", "warning",
          static_cast<char*>(nullptr));
    _exit(127);
  }
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
