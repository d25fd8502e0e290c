// bench/orders: the order flow through a real courier-node with the
// embedded file journal. Per run: start a node, upsert S stores around
// Gangnam, connect S store sessions (each accepts every new_order at once)
// and C customers, place orders at an offered rate R (open loop) for a
// warm-up and D measured seconds. For each rate of the ladder, K runs with
// the journal on the machine's disk (fsync on) and K with the journal on
// tmpfs (fdatasync is a no-op there: the baseline without durability
// cost), interleaved, each on a fresh node. Prints each run and the
// medians; README.md says what every figure means.
#include "bench/fanout/node_process.hpp"
#include "bench/orders/orders_run.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using namespace courier;

/// Limits on the arguments: a typo must not start an hour-long run.
constexpr std::uint32_t stores_max = 10'000;
constexpr std::uint32_t customers_max = 10'000;
constexpr double rate_max_per_s = 100'000;
constexpr std::uint32_t duration_max_s = 600;
constexpr std::uint32_t runs_max = 20;
constexpr std::int64_t node_ready_timeout_ms = 30'000;

/// Where the journal lives in a run.
enum class durability { fsync, tmpfs };

const char* to_string(durability d) {
  return d == durability::fsync ? "fsync" : "no-fsync";
}

struct bench_args {
  std::string node;
  std::vector<double> rates{1000, 2500, 5000, 7500};
  bench::orders_run_config run;
  std::uint32_t runs = 3;
  std::vector<durability> modes{durability::fsync, durability::tmpfs};
  std::string disk_dir = "/tmp";     ///< journal parent for fsync runs
  std::string tmpfs_dir = "/dev/shm"; ///< journal parent for the baseline
  /// The node's CPU; the bench takes the others. -1: no pinning.
  int node_cpu = std::thread::hardware_concurrency() >= 2 ? 1 : -1;
  /// If set, each run's window is profiled into PREFIX-RATE-MODE-K.data.
  std::string perf_prefix;
  std::vector<std::string> node_args; ///< --node-arg, passed to every node
  /// A run fails if fewer of its window's orders end accepted (after the drain).
  double min_accepted_fraction = 0;
};

bool parse_rates(const std::string& v, std::vector<double>& out) {
  out.clear();
  std::istringstream in(v);
  std::string one;
  while (std::getline(in, one, ',')) {
    double r = std::atof(one.c_str());
    if (r <= 0 || r > rate_max_per_s)
      return false;
    out.push_back(r);
  }
  return !out.empty();
}

bool parse_modes(const std::string& v, std::vector<durability>& out) {
  out.clear();
  if (v == "both")
    out = {durability::fsync, durability::tmpfs};
  else if (v == "fsync")
    out = {durability::fsync};
  else if (v == "no-fsync")
    out = {durability::tmpfs};
  return !out.empty();
}

void usage() {
  std::cerr << "usage: orders_bench --node PATH [--rates R1,R2,..] [--duration-s D]"
               " [--warmup-s W] [--drain-s S] [--runs K] [--stores S] [--customers C]"
               " [--modes both|fsync|no-fsync] [--disk-dir DIR] [--tmpfs-dir DIR]"
               " [--node-cpu N|-1] [--min-accepted-fraction F] [--perf-prefix PATH]"
               " [--node-arg ARG]... (e.g. --node-arg --actor-clock --node-arg caf)\n";
}

std::optional<bench_args> parse(int argc, char** argv) {
  bench_args a;
  a.run.secret = "courier-orders-bench";
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "orders_bench: " << f << " needs a value\n";
      return std::nullopt;
    }
    std::string v = argv[++i];
    auto num = [&](auto& out, auto lo, auto hi) {
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      return ec == std::errc{} && end == v.data() + v.size() && out >= lo && out <= hi;
    };
    bool ok = true;
    if (f == "--node")
      a.node = v;
    else if (f == "--rates")
      ok = parse_rates(v, a.rates);
    else if (f == "--duration-s")
      ok = num(a.run.duration_s, 1u, duration_max_s);
    else if (f == "--warmup-s")
      ok = num(a.run.warmup_s, 0u, duration_max_s);
    else if (f == "--drain-s")
      ok = num(a.run.drain_s, 0u, duration_max_s);
    else if (f == "--runs")
      ok = num(a.runs, 1u, runs_max);
    else if (f == "--stores")
      ok = num(a.run.stores, 1u, stores_max);
    else if (f == "--customers")
      ok = num(a.run.customers, 1u, customers_max);
    else if (f == "--modes")
      ok = parse_modes(v, a.modes);
    else if (f == "--disk-dir")
      a.disk_dir = v;
    else if (f == "--tmpfs-dir")
      a.tmpfs_dir = v;
    else if (f == "--node-cpu")
      ok = num(a.node_cpu, -1, 1023);
    else if (f == "--perf-prefix")
      a.perf_prefix = v;
    else if (f == "--node-arg")
      a.node_args.push_back(v);
    else if (f == "--min-accepted-fraction")
      ok = (a.min_accepted_fraction = std::atof(v.c_str())) >= 0 && a.min_accepted_fraction <= 1;
    else
      ok = false;
    if (!ok) {
      std::cerr << "orders_bench: bad argument " << f << " " << v << "\n";
      usage();
      return std::nullopt;
    }
  }
  if (a.node.empty()) {
    usage();
    return std::nullopt;
  }
  return a;
}

/// One finished run, labelled.
struct run_record {
  double rate = 0;
  durability mode = durability::fsync;
  bench::orders_run_result r;
};

void print_run(const run_record& x, std::uint32_t k) {
  const auto& r = x.r;
  auto count = [](std::uint64_t n) { return static_cast<unsigned long long>(n); };
  std::printf("orders_bench: run rate=%.0f mode=%s #%u: offered %.0f/s placed %.0f/s "
              "accepted %.0f/s | placed p50 %.2f p99 %.2f ms | accepted p50 %.2f p99 %.2f ms"
              " | cpu %.1f%% (machine %.0f%%) rss %.1f MiB",
              x.rate, to_string(x.mode), k + 1, r.offered_per_s, r.placed_per_s,
              r.accepted_per_s, r.to_placed.p50_ms, r.to_placed.p99_ms, r.to_accepted.p50_ms,
              r.to_accepted.p99_ms, r.node_cpu_pct, r.machine_busy_pct, r.node_rss_mib);
  std::printf(" | appends/fsync %.1f fsyncs/s %.0f fsync %.2f ms activations/s %.0f"
              " (whole run: appends/fsync %.1f fsync %.2f ms)",
              r.appends_per_commit, r.commits_per_s, r.fsync_ms_mean, r.activations_per_s,
              r.run_appends_per_commit, r.run_fsync_ms_mean);
  std::printf(" | sent %llu failed %llu unfinished %llu errors %llu (%s)\n", count(r.sent),
              count(r.failed), count(r.unfinished), count(r.errors),
              r.errors_by_code.empty() ? "none" : r.errors_by_code.c_str());
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// The median of `field` over the runs of one (rate, mode) that have it
/// (NaN: no run has it).
template <class Field>
double median_of(const std::vector<run_record>& all, double rate, durability mode, Field field) {
  std::vector<double> v;
  for (auto& x : all)
    if (x.rate == rate && x.mode == mode && !std::isnan(field(x.r)))
      v.push_back(field(x.r));
  return v.empty() ? std::nan("") : median(v);
}

void print_medians(const bench_args& a, const std::vector<run_record>& all) {
  std::printf("\norders_bench: medians of %u runs (duration %us, warm-up %us, %u stores, %u "
              "customers, node cpu %d)\n",
              a.runs, a.run.duration_s, a.run.warmup_s, a.run.stores, a.run.customers,
              a.node_cpu);
  std::printf("%8s %-8s %9s %9s %9s %8s %8s %8s %8s %7s %8s %9s %8s %8s %9s %9s\n",
              "offered", "mode", "placed/s", "accept/s", "accepted", "pl_p50", "pl_p99",
              "acc_p50", "acc_p99", "cpu%", "rss_MiB", "app/fsync", "fsync/s", "fsync_ms",
              "run_app/f", "run_fs_ms");
  using R = bench::orders_run_result;
  for (double rate : a.rates)
    for (auto mode : a.modes) {
      auto m = [&](auto f) { return median_of(all, rate, mode, f); };
      std::printf("%8.0f %-8s %9.0f %9.0f %8.1f%% %8.2f %8.2f %8.2f %8.2f %7.1f %8.1f %9.1f "
                  "%8.0f %8.2f %9.1f %9.2f\n",
                  rate, to_string(mode), m([](const R& r) { return r.placed_per_s; }),
                  m([](const R& r) { return r.accepted_per_s; }),
                  100 * m([](const R& r) { return r.accepted_fraction(); }),
                  m([](const R& r) { return r.to_placed.p50_ms; }),
                  m([](const R& r) { return r.to_placed.p99_ms; }),
                  m([](const R& r) { return r.to_accepted.p50_ms; }),
                  m([](const R& r) { return r.to_accepted.p99_ms; }),
                  m([](const R& r) { return r.node_cpu_pct; }),
                  m([](const R& r) { return r.node_rss_mib; }),
                  m([](const R& r) { return r.appends_per_commit; }),
                  m([](const R& r) { return r.commits_per_s; }),
                  m([](const R& r) { return r.fsync_ms_mean; }),
                  m([](const R& r) { return r.run_appends_per_commit; }),
                  m([](const R& r) { return r.run_fsync_ms_mean; }));
    }
  std::fflush(stdout);
}

/// One run on a fresh node; nullopt if the node or the setup failed.
std::optional<run_record> one_run(const bench_args& a, double rate, durability mode,
                                  std::uint32_t k) {
  bench::node_options opts;
  opts.dir_parent = mode == durability::fsync ? a.disk_dir : a.tmpfs_dir;
  opts.cpu = a.node_cpu;
  opts.extra_args = a.node_args;
  std::string why;
  auto node = bench::node_process::start(a.node, a.run.secret, node_ready_timeout_ms, why, opts);
  if (!node) {
    std::cerr << "orders_bench: " << why << "\n";
    return std::nullopt;
  }
  auto cfg = a.run;
  cfg.orders_per_s = rate;
  if (!a.perf_prefix.empty())
    cfg.perf_out = a.perf_prefix + "-" + std::to_string(static_cast<long>(rate)) + "-" +
                   to_string(mode) + "-" + std::to_string(k + 1) + ".data";
  auto r = bench::run_orders(cfg, *node);
  node->stop();
  if (!r)
    return std::nullopt;
  return run_record{rate, mode, *r};
}

/// Whether the flow worked in a run: some of the window's orders were
/// accepted (by the end of the drain), and at least the asked share.
bool flow_ok(const bench_args& a, const run_record& x) {
  return x.r.accepted_fraction() > 0 && x.r.accepted_fraction() >= a.min_accepted_fraction;
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args)
    return 2;
  if (!bench::prepare_bench_process(args->node, "orders_bench"))
    return 77;
  if (args->node_cpu >= 0 && !bench::pin_self_away_from(args->node_cpu)) {
    std::cerr << "orders_bench: cannot keep off CPU " << args->node_cpu << "; not pinning\n";
    args->node_cpu = -1;
  }
  std::vector<run_record> all;
  bool failed = false;
  for (double rate : args->rates)
    for (std::uint32_t k = 0; k < args->runs; ++k)
      for (auto mode : args->modes) { // interleaved: drift hits both modes alike
        auto x = one_run(*args, rate, mode, k);
        if (!x) {
          std::cerr << "orders_bench: run rate=" << rate << " mode=" << to_string(mode)
                    << " failed to set up\n";
          return 1;
        }
        print_run(*x, k);
        if (!flow_ok(*args, *x)) {
          std::cerr << "orders_bench: run rate=" << rate << " mode=" << to_string(mode)
                    << ": orders not accepted (" << 100 * x->r.accepted_fraction()
                    << "% of the window's orders, need "
                    << 100 * args->min_accepted_fraction << "%)\n";
          failed = true;
        }
        all.push_back(*x);
      }
  print_medians(*args, all);
  return failed ? 1 : 0;
}
