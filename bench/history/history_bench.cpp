// Location history benchmark (issue #13): R riders report every 5 s for H
// hours through the writer into the file backend (injected clock: the
// simulated day runs as fast as the disk takes it), then one rider's raw
// points over the whole range and its minute means are queried Q times.
// Prints the write rate, the bytes on disk, the heap the writer and index
// hold, and the query time (median, max), with the files in the page cache
// (warm: they were just written) and evicted before each query (cold:
// posix_fadvise DONTNEED on every file, which leaves other processes'
// caches alone).
//
// Usage: history_bench [--riders R] [--hours H] [--queries Q]
#include "storage/history_file_backend.hpp"
#include "storage/history_writer.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

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

struct config {
  std::size_t riders = 1000;
  std::size_t hours = 24;
  std::size_t queries = 20;
};

bool parse(int argc, char** argv, config& cfg) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--riders") == 0)
      cfg.riders = value;
    else if (std::strcmp(argv[i], "--hours") == 0)
      cfg.hours = value;
    else if (std::strcmp(argv[i], "--queries") == 0)
      cfg.queries = value;
    else
      return false;
  }
  return argc % 2 == 1 && cfg.riders > 0 && cfg.hours > 0 && cfg.hours <= 24 &&
         cfg.queries > 0;
}

std::size_t heap_bytes() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/// Drops the history's files from the page cache.
void evict(const std::string& dir) {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    (void)::fdatasync(fd);
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t)
      .count();
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (!parse(argc, argv, cfg)) {
    std::fprintf(stderr, "usage: history_bench [--riders R] [--hours H<=24] [--queries Q]\n");
    return 2;
  }
  char pattern[] = "/tmp/courier-history-bench-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    return 1;
  const std::string dir = pattern;
  int rc = 0;
  {
    history_limits limits;
    auto files = history_file_backend::open(dir, limits);
    if (!files) {
      std::fprintf(stderr, "history_bench: %s\n", files.err().message.c_str());
      return 1;
    }
    history_writer w{std::move(*files), limits};
    std::vector<std::string> ids;
    for (std::size_t r = 0; r < cfg.riders; ++r)
      ids.push_back("rider-" + std::to_string(100000 + r));
    const core::time_ms t0 = 1'767'225'600'000; // an hour boundary
    const core::time_ms end = t0 + static_cast<core::time_ms>(cfg.hours) * history_hour_ms;
    const auto heap0 = heap_bytes();
    std::size_t heap_peak = 0;
    const auto write_start = std::chrono::steady_clock::now();
    for (core::time_ms t = t0; t < end; t += 5000) {
      for (std::size_t r = 0; r < ids.size(); ++r)
        w.add(history_point{ids[r], 37.4 + r * 1e-4 + (t - t0) * 1e-9, 127.0, t}, t);
      w.tick(t);
      if ((t - t0) % 60'000 == 0)
        heap_peak = std::max(heap_peak, heap_bytes() - heap0);
    }
    w.close(end);
    w.tick(end + 15 * 60'000); // seals the last hour too
    const double write_ms = ms_since(write_start);
    auto s = w.stats();
    std::printf("history_bench: riders=%zu hours=%zu points=%llu write_s=%.1f points_per_s=%.0f "
                "disk_mb=%.1f segments=%llu heap_peak_kb=%zu\n",
                cfg.riders, cfg.hours, static_cast<unsigned long long>(s.written[0]),
                write_ms / 1000, s.written[0] / (write_ms / 1000), s.bytes / 1e6,
                static_cast<unsigned long long>(s.segments), heap_peak / 1024);
    for (bool cold : {false, true}) {
      for (auto d : {history_detail::raw, history_detail::minute}) {
        std::vector<double> times;
        std::size_t got = 0;
        for (std::size_t q = 0; q < cfg.queries; ++q) {
          const auto& id = ids[(q * 7919) % ids.size()];
          if (cold)
            evict(dir);
          const auto started = std::chrono::steady_clock::now();
          auto page = w.query(id, d, t0, end, end); // asked at `end`: the whole range is kept
          times.push_back(ms_since(started));
          if (!page) {
            std::fprintf(stderr, "history_bench: %s\n", page.err().message.c_str());
            rc = 1;
            break;
          }
          got = page->samples.size();
        }
        std::sort(times.begin(), times.end());
        std::printf("history_bench: query cache=%s detail=%s range_h=%zu samples=%zu "
                    "median_ms=%.2f max_ms=%.2f queries=%zu\n",
                    cold ? "cold" : "warm", std::string{to_string(d)}.c_str(), cfg.hours, got,
                    times[times.size() / 2], times.back(), times.size());
      }
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return rc;
}
