// CPU and allocations per push on the gateway's fan-out path, in process
// (issue #11): the node encodes a position once and pushes it to every
// subscribed session; each session queues it and its IO side later takes
// it for a gathered write. Two paths in the same run:
//  - baseline: the path before the shared frames, kept here: every push
//    copies the frame and the delivery key, and the outbox is a std::list
//    with a second list and an unordered_map<std::string, iterator>;
//  - current: gateway::detail::session_core with a shared_frame and one
//    delivery per fan-out.
// Both take the session mutex per push and per poll, both go through a
// virtual push. Single-threaded: cross-thread cache traffic and the
// socket write itself are not in it (see bench/sendfloor for the write).
//
// Usage: push_bench [--fanouts N] [--runs R] [--sessions S] [--payload BYTES]
//                   [--drain-every K]
#include "nodes/gateway/detail/session_core.hpp"
#include "nodes/gateway/gateway.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

// Counts every allocation, so the report can say how many a push costs.
// The replacements pair malloc with free; GCC 12 in C++20 mode sees the
// inlined delete's free() against a new-expression and warns wrongly.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<std::uint64_t> g_allocs{0};
}
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc{};
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace courier::gateway;

// -- baseline: the outbox and push as they were --------------------------

namespace before {

struct delivery {
  std::string key;
  bool coalescing = false;
};

class outbox {
public:
  outbox(std::size_t max, std::size_t overhead) : max_(max), overhead_(overhead) {}

  void push(frame f, const delivery& d, std::size_t& dropped) {
    if (d.coalescing) {
      if (auto old = by_key_.find(d.key); old != by_key_.end())
        erase(old->second);
    }
    auto need = cost(f);
    while (bytes_ + need > max_ && !latest_.empty()) {
      erase(latest_.front());
      ++dropped;
    }
    if (bytes_ + need > max_) {
      ++dropped;
      return;
    }
    auto it = entries_.insert(entries_.end(), entry{std::move(f), {}, {}, d.coalescing});
    if (d.coalescing) {
      it->key = d.key;
      it->in_latest = latest_.insert(latest_.end(), it);
      by_key_.emplace(d.key, it);
    }
    bytes_ += need;
  }

  std::optional<frame> pop() {
    if (entries_.empty())
      return std::nullopt;
    auto it = entries_.begin();
    bytes_ -= cost(it->f);
    frame f = std::move(it->f);
    if (it->coalescing) {
      latest_.erase(it->in_latest);
      by_key_.erase(it->key);
    }
    entries_.erase(it);
    return f;
  }

private:
  struct entry;
  using entry_list = std::list<entry>;
  using latest_list = std::list<entry_list::iterator>;
  struct entry {
    frame f;
    std::string key;
    latest_list::iterator in_latest;
    bool coalescing = false;
  };
  std::size_t cost(const frame& f) const { return f.data.size() + overhead_; }
  void erase(entry_list::iterator it) {
    bytes_ -= cost(it->f);
    if (it->coalescing) {
      latest_.erase(it->in_latest);
      by_key_.erase(it->key);
    }
    entries_.erase(it);
  }

  std::size_t max_, overhead_, bytes_ = 0;
  entry_list entries_;
  latest_list latest_;
  std::unordered_map<std::string, entry_list::iterator> by_key_;
};

class session_base {
public:
  virtual ~session_base() = default;
  virtual void push(frame f, delivery d) = 0;
};

class session final : public session_base {
public:
  session() : outbox_(1024 * 1024, frame_overhead_bytes) {}
  void push(frame f, delivery d) override {
    std::lock_guard<std::mutex> guard{m_};
    std::size_t dropped = 0;
    outbox_.push(std::move(f), d, dropped);
  }
  std::vector<frame> poll(std::size_t frames_max) {
    std::lock_guard<std::mutex> guard{m_};
    std::vector<frame> next;
    while (next.size() < frames_max) {
      auto f = outbox_.pop();
      if (!f)
        break;
      next.push_back(std::move(*f));
    }
    return next;
  }

private:
  std::mutex m_;
  outbox outbox_;
};

} // namespace before

// -- the run ---------------------------------------------------------------

struct config {
  std::size_t fanouts = 200'000;
  std::size_t runs = 5;
  std::size_t sessions = 1000; ///< all topics' subscribers together
  std::size_t payload_bytes = 180; ///< a rider_position as JSON
  std::size_t drain_every = 1;     ///< fan-outs between two IO passes over a topic
};

bool parse(int argc, char** argv, config& cfg) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--fanouts") == 0)
      cfg.fanouts = value;
    else if (std::strcmp(argv[i], "--runs") == 0)
      cfg.runs = value;
    else if (std::strcmp(argv[i], "--sessions") == 0)
      cfg.sessions = value;
    else if (std::strcmp(argv[i], "--payload") == 0)
      cfg.payload_bytes = value;
    else if (std::strcmp(argv[i], "--drain-every") == 0)
      cfg.drain_every = value;
    else
      return false;
  }
  return argc % 2 == 1 && cfg.fanouts > 0 && cfg.runs > 0 && cfg.sessions > 0 &&
         cfg.drain_every > 0;
}

struct sample {
  double ns_per_push = 0;
  double allocs_per_push = 0;
};

/// What encode_frame does once per fan-out (the same on both paths).
std::string encoded(std::size_t payload_bytes, std::size_t n) {
  auto s = std::to_string(n);
  s.resize(std::max(payload_bytes, s.size()), '.');
  return s;
}

/// The IO side's poll and write, as session_conn::pump does it (the write
/// only reads the bytes).
std::size_t write_all(before::session& s) {
  std::size_t bytes = 0;
  for (auto& f : s.poll(64))
    bytes += f.data.size();
  return bytes;
}

std::size_t write_all(detail::session_core& s, std::vector<shared_frame>& current) {
  s.poll(current, 64);
  std::size_t bytes = 0;
  for (auto& f : current)
    bytes += f.size();
  current.clear();
  return bytes;
}

/// Runs `fanouts` fan-outs of one position over `topics` topics of
/// `subs` sessions each, `fan_out(topic, n)` pushing and `drain(topic)`
/// writing; returns the cost per push.
template <class FanOut, class Drain>
sample measure(const config& cfg, std::size_t subs, FanOut fan_out, Drain drain) {
  auto topics = cfg.sessions / subs;
  auto a0 = g_allocs.load();
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < cfg.fanouts; ++n) {
    auto topic = n % topics;
    fan_out(topic, n);
    if ((n / topics + 1) % cfg.drain_every == 0)
      drain(topic);
  }
  for (std::size_t t = 0; t < topics; ++t)
    drain(t);
  std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - t0;
  auto pushes = static_cast<double>(cfg.fanouts * subs);
  return {ns.count() / pushes, static_cast<double>(g_allocs.load() - a0) / pushes};
}

volatile std::size_t g_sink = 0; // keeps the writes' reads alive

sample run_before(const config& cfg, std::size_t subs) {
  std::vector<std::unique_ptr<before::session>> sessions;
  for (std::size_t i = 0; i < cfg.sessions / subs * subs; ++i)
    sessions.push_back(std::make_unique<before::session>());
  return measure(
      cfg, subs,
      [&](std::size_t topic, std::size_t n) {
        frame cached{frame_kind::text, encoded(cfg.payload_bytes, n)};
        before::delivery how{"pos:rider:r-" + std::to_string(100000 + topic), true};
        for (std::size_t i = 0; i < subs; ++i) {
          before::session_base& s = *sessions[topic * subs + i];
          s.push(cached, how); // both copied, as push(frame, delivery) took them
        }
      },
      [&](std::size_t topic) {
        for (std::size_t i = 0; i < subs; ++i)
          g_sink = g_sink + write_all(*sessions[topic * subs + i]);
      });
}

sample run_current(const config& cfg, std::size_t subs) {
  auto stats = std::make_shared<gateway_stats>();
  std::vector<std::shared_ptr<detail::session_core>> sessions;
  std::vector<std::vector<shared_frame>> current(cfg.sessions / subs * subs);
  for (std::size_t i = 0; i < current.size(); ++i)
    sessions.push_back(std::make_shared<detail::session_core>(
        i + 1, transport::ws, "bench", detail::session_core::limits{1 << 20, 1 << 20}, stats));
  return measure(
      cfg, subs,
      [&](std::size_t topic, std::size_t n) {
        shared_frame cached{frame{frame_kind::text, encoded(cfg.payload_bytes, n)}};
        auto how = delivery::latest("pos:rider:r-" + std::to_string(100000 + topic));
        for (std::size_t i = 0; i < subs; ++i) {
          session& s = *sessions[topic * subs + i];
          s.push(cached, how);
        }
      },
      [&](std::size_t topic) {
        for (std::size_t i = 0; i < subs; ++i) {
          auto k = topic * subs + i;
          g_sink = g_sink + write_all(*sessions[k], current[k]);
        }
      });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (!parse(argc, argv, cfg)) {
    std::fprintf(stderr, "usage: push_bench [--fanouts N] [--runs R] [--sessions S] "
                         "[--payload BYTES] [--drain-every K]\n");
    return 2;
  }
  std::printf("push_bench: %zu fan-outs of a %zu-byte latest(key) frame per run, %zu sessions, "
              "IO pass every %zu fan-out(s) per topic, medians of %zu runs\n",
              cfg.fanouts, cfg.payload_bytes, cfg.sessions, cfg.drain_every, cfg.runs);
  for (std::size_t subs : {std::size_t{1}, std::size_t{10}}) {
    if (subs > cfg.sessions)
      continue;
    std::vector<double> old_ns, new_ns, old_allocs, new_allocs;
    for (std::size_t r = 0; r < cfg.runs; ++r) {
      // Alternated, so drift on a shared machine hits both alike.
      auto b = run_before(cfg, subs);
      auto c = run_current(cfg, subs);
      old_ns.push_back(b.ns_per_push);
      new_ns.push_back(c.ns_per_push);
      old_allocs.push_back(b.allocs_per_push);
      new_allocs.push_back(c.allocs_per_push);
      std::printf("  run %zu, %2zu subscribers: baseline %.1f ns/push, current %.1f ns/push\n",
                  r + 1, subs, b.ns_per_push, c.ns_per_push);
    }
    double o = median(old_ns), n = median(new_ns);
    std::printf("%2zu subscriber(s): baseline %.1f ns/push (%.2f allocations), current %.1f "
                "ns/push (%.2f allocations), ratio current/baseline %.2f\n",
                subs, o, median(old_allocs), n, median(new_allocs), n / o);
  }
  return 0;
}
