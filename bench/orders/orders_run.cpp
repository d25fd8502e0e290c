// One run of bench/orders (see orders_run.hpp). Every reply the load makes
// is handled on its connection's strand by a message hook, never by a
// waiting thread: stores answer new_order with accept_order right there,
// and the tracker takes the timestamps.
#include "bench/orders/orders_run.hpp"

#include "bench/fanout/bench_client.hpp"
#include "bench/fanout/metrics_scrape.hpp"
#include "bench/orders/order_tracker.hpp"
#include "nodes/auth/token.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_config.hpp"
#include "tools/sim/sim_context.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

namespace courier::bench {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Client IO threads (the pacer is one more thread).
constexpr unsigned io_threads = 2;
/// Each store's base delivery radius, and how far around the centre stores
/// and drop-offs lie: every drop-off is well inside its store's radius.
constexpr std::int64_t store_radius_m = 3000;
constexpr double store_ring_max_m = 2000;
constexpr double dropoff_distance_m = 600;
static_assert(dropoff_distance_m < store_radius_m);
/// Timeouts of the setup steps (the load itself never waits).
constexpr auto connect_timeout = 5s;
constexpr auto reply_timeout = 5s;
/// A saturated node answers /metrics late (the journal's stats request
/// queues behind its appends); the window's edge is timed before the scrape.
constexpr auto metrics_timeout = 10s;
/// How often the drain looks whether the window's orders have settled.
constexpr auto drain_poll = 50ms;
/// Prep time the stores announce (any value; nothing waits on it).
constexpr std::uint32_t prep_minutes = 10;
/// The item every order carries (total must equal the item sum).
constexpr std::int64_t item_price_minor = 1500;

/// Busy and total CPU ticks of the whole machine (/proc/stat's "cpu"
/// line): other work on a shared machine shows up in the figures.
struct machine_ticks {
  double busy = 0, total = 0;
};

machine_ticks read_machine_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  machine_ticks t;
  t.busy = user + nice + system + irq + softirq + steal;
  t.total = t.busy + idle + iowait;
  return in ? t : machine_ticks{};
}

/// Node-side figures sampled at the window's edges.
struct node_sample {
  machine_ticks machine;
  std::int64_t at_us = 0, cpu_ticks = -1;
  double appends = 0, commits = 0, fsync_us = 0, activations = 0;
  bool have_metrics = false;
};

node_sample sample(const node_process& node) {
  node_sample s;
  s.at_us = sim::sim_context::now_us();
  s.cpu_ticks = node.cpu_ticks();
  s.machine = read_machine_ticks();
  if (auto text = scrape_metrics(node.http_port(), metrics_timeout)) {
    auto a = metric_value(*text, "courier_journal_appends_total");
    auto c = metric_value(*text, "courier_journal_commits_total");
    auto f = metric_value(*text, "courier_journal_fsync_us_total");
    // Each activation reads its stream, and a read commits first (see README).
    auto act = metric_value(*text, "courier_entity_activations_total");
    s.have_metrics = a && c && f && act;
    s.activations = act.value_or(0);
    s.appends = a.value_or(0);
    s.commits = c.value_or(0);
    s.fsync_us = f.value_or(0);
  }
  return s;
}

/// Starts `perf record -g` on `pid` for `seconds` into `out`; -1 if it
/// could not start (the run goes on without a profile).
pid_t start_perf(pid_t pid, std::uint32_t seconds, const std::string& out) {
  std::vector<std::string> args{"perf",   "record", "-g",           "-p",
                                std::to_string(pid), "-o", out, "--", "sleep",
                                std::to_string(seconds)};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  if (posix_spawnp(&child, "perf", nullptr, nullptr, argv.data(), environ) != 0)
    return -1;
  return child;
}

/// Everything one run connects, on one io_context.
class orders_run {
public:
  orders_run(const orders_run_config& cfg, const node_process& node)
      : cfg_(cfg), node_(node),
        tracker_(static_cast<std::size_t>(cfg.orders_per_s * (cfg.warmup_s + cfg.duration_s)) +
                 1) {
    target_.host = "127.0.0.1";
    target_.transport = sim::transport_kind::websocket;
    target_.port = node.http_port();
    for (unsigned i = 0; i < io_threads; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~orders_run() {
    for (auto& c : all_)
      c->close();
    std::this_thread::sleep_for(300ms); // let close frames go out
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }

  std::optional<orders_run_result> run();

private:
  std::shared_ptr<bench_client> connect(msg::role role, const std::string& id);
  bool setup_stores();
  bool connect_customers();
  void pace(clock_type::time_point start, clock_type::time_point end);
  void drain(std::int64_t from_us, std::int64_t to_us);
  orders_run_result figures(const node_sample& a, const node_sample& b) const;

  const orders_run_config& cfg_;
  const node_process& node_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
  sim::conn_target target_;
  sim::sim_stats stats_;
  order_tracker tracker_;
  std::vector<std::shared_ptr<bench_client>> all_, customers_;
  std::vector<sim::point> store_at_;
  const sim::point centre_{sim::gangnam_lat, sim::gangnam_lng};
};

std::shared_ptr<bench_client> orders_run::connect(msg::role role, const std::string& id) {
  auto token = auth::sign_token({std::string(msg::to_string(role)), id,
                                 sim::sim_context::epoch_ms() / 1000 + 3600},
                                cfg_.secret);
  auto c = std::make_shared<bench_client>(io_, target_, token, stats_);
  all_.push_back(c);
  return c->open(connect_timeout) ? c : nullptr;
}

/// Upserts the stores around the centre and connects one session per
/// store that accepts every new_order as soon as it arrives.
bool orders_run::setup_stores() {
  auto admin = connect(msg::role::admin, "bench-admin");
  if (!admin) {
    std::cerr << "orders_bench: the admin could not connect\n";
    return false;
  }
  for (std::uint32_t i = 0; i < cfg_.stores; ++i) {
    double ring_m = store_ring_max_m * (i % 10 + 1) / 10.0;
    store_at_.push_back(sim::offset(centre_, 137.5 * i, ring_m)); // golden-angle spread
    admin->send(msg::upsert_store{core::store_id{"s-" + std::to_string(i)}, store_at_[i].lat,
                                  store_at_[i].lng, store_radius_m, true},
                "up-" + std::to_string(i));
  }
  for (std::uint32_t i = 0; i < cfg_.stores; ++i) {
    auto ref = "up-" + std::to_string(i);
    auto reply = admin->wait_for([&](const msg::envelope& m) { return m.ref == ref; },
                                 reply_timeout);
    if (!reply || !std::holds_alternative<msg::ok_reply>(reply->body)) {
      std::cerr << "orders_bench: upsert_store s-" << i << " failed\n";
      return false;
    }
  }
  for (std::uint32_t i = 0; i < cfg_.stores; ++i) {
    auto store = connect(msg::role::store, "s-" + std::to_string(i));
    if (!store) {
      std::cerr << "orders_bench: store s-" << i << " could not connect\n";
      return false;
    }
    std::weak_ptr<bench_client> weak = store;
    store->set_hook([this, weak](msg::envelope& m) {
      if (auto* n = std::get_if<msg::new_order>(&m.body)) {
        if (auto self = weak.lock()) // the ref names the order: the ok carries it back
          self->send(msg::accept_order{n->order_id, prep_minutes}, n->order_id.str());
      } else if (std::holds_alternative<msg::ok_reply>(m.body) && !m.ref.empty()) {
        tracker_.on_accepted(m.ref, sim::sim_context::now_us());
      }
      return true; // order_status pushes and errors (counted by the client) end here
    });
  }
  return true;
}

/// Connects the customers; each hook takes order_placed and errors.
bool orders_run::connect_customers() {
  for (std::uint32_t i = 0; i < cfg_.customers; ++i) {
    auto c = connect(msg::role::customer, "c-" + std::to_string(i));
    if (!c) {
      std::cerr << "orders_bench: customer c-" << i << " could not connect\n";
      return false;
    }
    c->set_hook([this](msg::envelope& m) {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(m.ref.data(), m.ref.data() + m.ref.size(), n);
      if (ec != std::errc{} || end != m.ref.data() + m.ref.size())
        return true; // not one of ours
      if (auto* p = std::get_if<msg::order_placed>(&m.body))
        tracker_.on_placed(n, p->order_id.str(), sim::sim_context::now_us());
      else if (std::holds_alternative<msg::error_reply>(m.body))
        tracker_.on_failed(n);
      return true;
    });
    customers_.push_back(c);
  }
  return true;
}

/// Open loop: order n is due at start + n / rate, whatever became of the
/// ones before it; a late pacer catches up by sending what is due at once.
void orders_run::pace(clock_type::time_point start, clock_type::time_point end) {
  auto interval = std::chrono::duration<double>(1.0 / cfg_.orders_per_s);
  for (std::size_t n = 0; n < tracker_.capacity(); ++n) {
    auto due = start + std::chrono::duration_cast<clock_type::duration>(interval * double(n));
    if (due >= end)
      return;
    if (due > clock_type::now())
      std::this_thread::sleep_until(due);
    auto store = n % cfg_.stores;
    auto drop = sim::offset(store_at_[store], static_cast<double>((n * 37) % 360),
                            dropoff_distance_m);
    msg::place_order p{core::request_id{"rq-" + std::to_string(n)},
                       core::store_id{"s-" + std::to_string(store)},
                       {msg::item{"sku-1", 1, msg::money{item_price_minor}}},
                       msg::money{item_price_minor},
                       msg::lat_lng{drop.lat, drop.lng}};
    tracker_.on_sent(n, sim::sim_context::now_us());
    customers_[n % customers_.size()]->send(std::move(p), std::to_string(n));
    stats_.orders_sent.fetch_add(1, std::memory_order_relaxed);
  }
}

/// Waits (bounded) until every order sent in the window is accepted or failed.
void orders_run::drain(std::int64_t from_us, std::int64_t to_us) {
  auto deadline = clock_type::now() + std::chrono::seconds(cfg_.drain_s);
  while (clock_type::now() < deadline && !tracker_.settled(from_us, to_us))
    std::this_thread::sleep_for(drain_poll);
}

orders_run_result orders_run::figures(const node_sample& a, const node_sample& b) const {
  auto w = tracker_.window(a.at_us, b.at_us);
  double secs = static_cast<double>(b.at_us - a.at_us) / 1e6;
  orders_run_result r;
  r.offered_per_s = static_cast<double>(w.sent) / secs;
  r.placed_per_s = static_cast<double>(w.placed) / secs;
  r.accepted_per_s = static_cast<double>(w.accepted) / secs;
  r.to_placed = w.to_placed;
  r.to_accepted = w.to_accepted;
  // No sample is no latency, not 0 ms (the medians skip NaN).
  for (auto* l : {&r.to_placed, &r.to_accepted})
    if (l->count == 0)
      l->p50_ms = l->p99_ms = std::nan("");
  r.sent = w.sent;
  r.failed = w.failed;
  r.unfinished = w.unfinished;
  auto c = stats_.counters();
  for (std::size_t i = 0; i < c.errors.size(); ++i) {
    r.errors += c.errors[i];
    if (c.errors[i] != 0)
      r.errors_by_code += std::string(r.errors_by_code.empty() ? "" : " ") +
                          std::string(core::to_string(static_cast<core::errc>(i))) + "=" +
                          std::to_string(c.errors[i]);
  }
  if (a.cpu_ticks >= 0 && b.cpu_ticks >= 0)
    r.node_cpu_pct = 100.0 * static_cast<double>(b.cpu_ticks - a.cpu_ticks) /
                     node_process::ticks_per_s() / secs;
  if (b.machine.total > a.machine.total) {
    // Ticks of all CPUs together: busy share x CPUs = busy cores, in %.
    double cpus = std::max(1u, std::thread::hardware_concurrency());
    r.machine_busy_pct = 100.0 * cpus * (b.machine.busy - a.machine.busy) /
                         (b.machine.total - a.machine.total);
  }
  if (a.have_metrics && b.have_metrics && b.commits > a.commits) {
    double commits = b.commits - a.commits;
    r.appends_per_commit = (b.appends - a.appends) / commits;
    r.commits_per_s = commits / secs;
    r.fsync_ms_mean = (b.fsync_us - a.fsync_us) / commits / 1000.0;
    r.activations_per_s = (b.activations - a.activations) / secs;
  }
  return r;
}

std::optional<orders_run_result> orders_run::run() {
  if (!setup_stores() || !connect_customers())
    return std::nullopt;
  auto start = clock_type::now();
  auto window_at = start + std::chrono::seconds(cfg_.warmup_s);
  auto end = window_at + std::chrono::seconds(cfg_.duration_s);
  node_sample at_window, at_end;
  // The node is sampled off the pacer's thread, so a scrape never delays an order.
  std::thread sampler([&] {
    std::this_thread::sleep_until(window_at);
    at_window = sample(node_);
    pid_t perf = cfg_.perf_out.empty()
                     ? -1
                     : start_perf(node_.pid(), cfg_.duration_s, cfg_.perf_out);
    std::this_thread::sleep_until(end);
    at_end = sample(node_);
    if (perf > 0)
      waitpid(perf, nullptr, 0); // perf stops itself after the window
  });
  pace(start, end);
  sampler.join();
  double rss_mib = static_cast<double>(node_.rss_kib()) / 1024.0;
  drain(at_window.at_us, at_end.at_us);
  auto r = figures(at_window, at_end);
  r.node_rss_mib = rss_mib;
  // The counters start at zero with the node: their values are the run's.
  if (auto whole = sample(node_); whole.have_metrics && whole.commits > 0) {
    r.run_appends_per_commit = whole.appends / whole.commits;
    r.run_fsync_ms_mean = whole.fsync_us / whole.commits / 1000.0;
  }
  return r;
}

} // namespace

std::optional<orders_run_result> run_orders(const orders_run_config& config,
                                            const node_process& node) {
  orders_run run(config, node);
  return run.run();
}

} // namespace courier::bench
