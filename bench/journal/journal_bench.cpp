// Group commit benchmark of the file backend: for commit sizes 1, 16 and
// 256 appends per sync(), appends/s and fsyncs/s, median of N runs, each
// in a fresh directory under /tmp, and the speed-up over size 1.
//
// Usage: journal_bench [--events N] [--runs R] [--payload BYTES]
#include "storage/file_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace courier;
using namespace courier::storage;

namespace {

constexpr std::size_t group_sizes[] = {1, 16, 256};
/// Streams the appends rotate over (a node journals many entities).
constexpr std::size_t streams_n = 64;

struct config {
  std::size_t events = 20000;
  std::size_t runs = 3;
  std::size_t payload_bytes = 200; ///< a typical small domain event
};

struct run_result {
  double appends_per_s = 0;
  double syncs_per_s = 0;
};

bool parse(int argc, char** argv, config& cfg) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--events") == 0)
      cfg.events = value;
    else if (std::strcmp(argv[i], "--runs") == 0)
      cfg.runs = value;
    else if (std::strcmp(argv[i], "--payload") == 0)
      cfg.payload_bytes = value;
    else
      return false;
  }
  return argc % 2 == 1 && cfg.events > 0 && cfg.runs > 0;
}

/// One run: `events` single-event appends, a sync() every `group`.
bool run_once(const config& cfg, std::size_t group, run_result& out) {
  char pattern[] = "/tmp/courier-journal-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    return false;
  const std::string dir = pattern;
  bool ok = true;
  {
    auto opened = file_backend::open(dir);
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.err().message.c_str());
      return false;
    }
    auto& j = **opened;
    const std::string payload(cfg.payload_bytes, 'p');
    std::vector<version_t> versions(streams_n, 0);
    std::size_t syncs = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < cfg.events && ok; ++i) {
      const std::size_t s = i % streams_n;
      ok = j.append({"order:bench-" + std::to_string(s), versions[s], {payload}})
               .ok();
      ++versions[s];
      if ((i + 1) % group == 0 || i + 1 == cfg.events) {
        ok = ok && j.sync().ok();
        ++syncs;
      }
    }
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    out.appends_per_s = static_cast<double>(cfg.events) / took.count();
    out.syncs_per_s = static_cast<double>(syncs) / took.count();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return ok;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (!parse(argc, argv, cfg)) {
    std::fprintf(stderr,
                 "usage: journal_bench [--events N] [--runs R] [--payload B]\n");
    return 2;
  }
  std::printf("journal_bench: %zu events of %zu B, %zu streams, median of "
              "%zu runs, /tmp\n",
              cfg.events, cfg.payload_bytes, streams_n, cfg.runs);
  std::printf("%8s %14s %12s %10s\n", "group", "appends/s", "fsyncs/s",
              "vs size 1");
  double base = 0;
  for (std::size_t group : group_sizes) {
    std::vector<double> appends, syncs;
    for (std::size_t r = 0; r < cfg.runs; ++r) {
      run_result res;
      if (!run_once(cfg, group, res)) {
        std::fprintf(stderr, "run failed (group %zu)\n", group);
        return 1;
      }
      appends.push_back(res.appends_per_s);
      syncs.push_back(res.syncs_per_s);
    }
    const double a = median(appends);
    if (group == 1)
      base = a;
    std::printf("%8zu %14.0f %12.0f %9.1fx\n", group, a, median(syncs),
                a / base);
  }
  return 0;
}
