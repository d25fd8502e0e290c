// bench/fanout: rider positions in -> rider_position pushes out, through a
// real courier-node. Per run: start a node on free ports, create one store
// at Gangnam, get R orders assigned to R riders, connect N subscribers
// (connections of one customer, each following one of the orders), then
// have the riders send positions at a fixed total rate for D seconds.
// Reports positions/s in, pushes/s out, p50/p99 latency (position sent ->
// push received), node RSS per subscriber connection and node CPU per push
// and per position over the window; each the median of --runs runs
// (default 3). `--transport both` runs WebSocket JSON and TCP protobuf
// alternately on fresh nodes with the same load and prints the ratio.
// `--node-cpu N` pins the node to CPU N and keeps the bench off it.
#include "bench/fanout/bench_client.hpp"
#include "bench/fanout/node_process.hpp"
#include "nodes/auth/token.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_config.hpp"
#include "tools/sim/sim_context.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

namespace {

using namespace courier;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct bench_args {
  std::string node;
  std::uint32_t subscribers = 1000;
  std::uint32_t riders = 20;
  double positions_per_s = 200;
  std::uint32_t duration_s = 10;
  std::uint32_t runs = 3;
  std::vector<sim::transport_kind> transports{sim::transport_kind::websocket};
  int node_cpu = -1; ///< -1: no pinning
  std::string secret = "courier-fanout-bench";
};

/// One run's numbers.
struct run_result {
  double positions_per_s = 0, pushes_per_s = 0, p50_ms = 0, p99_ms = 0, rss_per_conn_kib = 0;
  double cpu_pct = 0;              ///< node CPU over the window, % of one core
  double cpu_us_per_push = 0;      ///< node CPU / pushes delivered
  double cpu_us_per_position = 0;  ///< node CPU / positions sent
  std::uint32_t assigned = 0;
};

std::optional<bench_args> parse(int argc, char** argv) {
  bench_args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "fanout_bench: " << f << " needs a value\n";
      return std::nullopt;
    }
    std::string v = argv[++i];
    auto num = [&](auto& out) {
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      return ec == std::errc{} && end == v.data() + v.size();
    };
    bool ok = true;
    if (f == "--node")
      a.node = v;
    else if (f == "--subscribers")
      ok = num(a.subscribers);
    else if (f == "--riders")
      ok = num(a.riders) && a.riders > 0;
    else if (f == "--positions-per-s")
      ok = (a.positions_per_s = std::atof(v.c_str())) > 0;
    else if (f == "--duration-s")
      ok = num(a.duration_s) && a.duration_s > 0;
    else if (f == "--runs")
      ok = num(a.runs) && a.runs > 0;
    else if (f == "--transport") {
      using tk = sim::transport_kind;
      ok = v == "ws" || v == "tcp" || v == "both";
      a.transports = v == "both" ? std::vector<tk>{tk::websocket, tk::tcp}
                                 : std::vector<tk>{v == "tcp" ? tk::tcp : tk::websocket};
    } else if (f == "--node-cpu")
      ok = (a.node_cpu = std::atoi(v.c_str())) >= -1;
    else
      ok = false;
    if (!ok) {
      std::cerr << "fanout_bench: bad argument " << f << " " << v << "\n";
      return std::nullopt;
    }
  }
  if (a.node.empty()) {
    std::cerr << "usage: fanout_bench --node PATH [--subscribers N] [--riders R]"
                 " [--positions-per-s P] [--duration-s D] [--runs K] [--transport ws|tcp|both]"
                 " [--node-cpu N]\n";
    return std::nullopt;
  }
  return a;
}

/// Everything one run connects, on one io_context.
class fanout_run {
public:
  fanout_run(const bench_args& a, const bench::node_process& node, sim::transport_kind transport)
      : a_(a), node_(node) {
    target_.host = "127.0.0.1";
    target_.transport = transport;
    target_.port = transport == sim::transport_kind::tcp ? node.tcp_port() : node.http_port();
    for (unsigned i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~fanout_run() {
    for (auto& c : all_)
      c->close();
    std::this_thread::sleep_for(300ms);
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }

  /// The whole scenario; nullopt (and why on stderr) if setup failed.
  std::optional<run_result> run();

private:
  std::shared_ptr<bench::bench_client> connect(msg::role role, const std::string& id) {
    auto token = auth::sign_token({std::string(msg::to_string(role)), id,
                                   sim::sim_context::epoch_ms() / 1000 + 3600},
                                  a_.secret);
    auto c = std::make_shared<bench::bench_client>(io_, target_, token, stats_);
    all_.push_back(c);
    return c->open(5s) ? c : nullptr;
  }
  static auto reply_to(const std::string& ref) {
    return [ref](const msg::envelope& m) {
      return m.ref == ref && (std::holds_alternative<msg::ok_reply>(m.body) ||
                              std::holds_alternative<msg::error_reply>(m.body));
    };
  }
  static bool is_ok(const std::optional<msg::envelope>& m) {
    return m && std::holds_alternative<msg::ok_reply>(m->body);
  }
  bool setup_orders();
  void push_positions(std::chrono::milliseconds length);

  const bench_args& a_;
  const bench::node_process& node_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
  sim::conn_target target_;
  sim::sim_stats stats_;
  std::vector<std::shared_ptr<bench::bench_client>> all_;
  std::vector<std::shared_ptr<bench::bench_client>> riders_;
  std::vector<std::uint64_t> seqs_;
  std::vector<core::order_id> orders_;
  const sim::point store_at_{sim::gangnam_lat, sim::gangnam_lng};
};

bool fanout_run::setup_orders() {
  auto admin = connect(msg::role::admin, "bench-admin");
  auto store = connect(msg::role::store, "s-bench");
  auto customer = connect(msg::role::customer, "c-bench");
  if (!admin || !store || !customer) {
    std::cerr << "fanout_bench: admin/store/customer could not connect\n";
    return false;
  }
  admin->send(msg::upsert_store{core::store_id{"s-bench"}, store_at_.lat, store_at_.lng, 3000, true},
              "up");
  if (!is_ok(admin->wait_for(reply_to("up"), 5s))) {
    std::cerr << "fanout_bench: upsert_store failed\n";
    return false;
  }
  for (std::uint32_t i = 0; i < a_.riders; ++i) {
    auto r = connect(msg::role::rider, "r-bench-" + std::to_string(i));
    if (!r)
      return false;
    r->send(msg::availability{true}, "avail");
    r->send(msg::position{1, store_at_.lat, store_at_.lng, sim::sim_context::epoch_ms(), {}, {}, {}});
    riders_.push_back(r);
    seqs_.push_back(1);
  }
  for (std::uint32_t i = 0; i < a_.riders; ++i) {
    auto ref = "q" + std::to_string(i);
    auto drop = sim::offset(store_at_, 36.0 * i, 800);
    msg::place_order p{core::request_id{"bench-" + std::to_string(node_.pid()) + "-" + ref},
                       core::store_id{"s-bench"},
                       {msg::item{"sku-1", 1, msg::money{1000}}}, msg::money{1000},
                       msg::lat_lng{drop.lat, drop.lng}};
    customer->send(std::move(p), ref);
    auto placed = customer->wait_for(
        [&](const msg::envelope& m) { return m.ref == ref; }, 5s);
    auto* op = placed ? std::get_if<msg::order_placed>(&placed->body) : nullptr;
    if (!op) {
      std::cerr << "fanout_bench: place_order failed\n";
      return false;
    }
    auto order = op->order_id;
    if (!store->wait_for([&](const msg::envelope& m) {
          auto* n = std::get_if<msg::new_order>(&m.body);
          return n && n->order_id == order;
        }, 5s)) {
      std::cerr << "fanout_bench: the store got no new_order for " << order << "\n";
      return false;
    }
    store->send(msg::accept_order{order, 1}, "acc" + ref);
    orders_.push_back(order);
  }
  // Each rider takes whatever it is offered (one order per rider). Riders
  // are polled in turn: offers go to whichever rider dispatch picks.
  std::uint32_t assigned = 0;
  std::vector<bool> busy(riders_.size(), false);
  auto deadline = clock_type::now() + 30s;
  while (assigned < orders_.size() && clock_type::now() < deadline)
    for (std::size_t i = 0; i < riders_.size(); ++i) {
      if (busy[i])
        continue;
      auto offer = riders_[i]->wait_for([](const msg::envelope& m) {
        return std::holds_alternative<msg::offer>(m.body);
      }, 2ms);
      if (!offer)
        continue;
      riders_[i]->send(msg::accept_offer{std::get<msg::offer>(offer->body).offer_id}, "take");
      busy[i] = is_ok(riders_[i]->wait_for(reply_to("take"), 5s));
      assigned += busy[i] ? 1 : 0;
    }
  std::cerr << "fanout_bench: " << assigned << "/" << a_.riders << " orders assigned\n";
  return assigned > 0;
}

void fanout_run::push_positions(std::chrono::milliseconds length) {
  // Round-robin over riders at the total rate; each move is a few metres.
  auto interval = std::chrono::duration<double>(1.0 / a_.positions_per_s);
  auto start = clock_type::now();
  std::uint64_t sent = 0;
  std::int64_t last_ms = 0;
  while (clock_type::now() - start < length) {
    auto due = start + std::chrono::duration_cast<clock_type::duration>(interval * double(sent));
    if (due > clock_type::now())
      std::this_thread::sleep_until(due);
    std::size_t i = sent % riders_.size();
    auto at = sim::offset(store_at_, 90, 5.0 * static_cast<double>(seqs_[i] % 100));
    last_ms = std::max(sim::sim_context::epoch_ms(), last_ms + 1);
    stats_.position_sent(core::rider_id{"r-bench-" + std::to_string(i)}, last_ms,
                         sim::sim_context::now_us());
    riders_[i]->send(msg::position{++seqs_[i], at.lat, at.lng, last_ms, {}, {}, {}});
    stats_.positions_sent.fetch_add(1, std::memory_order_relaxed);
    ++sent;
  }
}

std::optional<run_result> fanout_run::run() {
  if (!setup_orders())
    return std::nullopt;
  auto rss_before = node_.rss_kib();
  std::uint32_t subscribed = 0;
  std::vector<std::shared_ptr<bench::bench_client>> subs;
  for (std::uint32_t i = 0; i < a_.subscribers; ++i) {
    auto c = connect(msg::role::customer, "c-bench");
    if (!c)
      break;
    c->send(msg::subscribe{orders_[i % orders_.size()]}, "sub");
    subs.push_back(c);
  }
  for (auto& c : subs)
    subscribed += c->wait_for([](const msg::envelope& m) {
      return std::holds_alternative<msg::subscribed>(m.body);
    }, 5s) ? 1 : 0;
  std::this_thread::sleep_for(500ms); // let the node settle before measuring memory
  auto rss_after = node_.rss_kib();
  std::cerr << "fanout_bench: " << subscribed << "/" << a_.subscribers << " subscribed\n";
  if (subscribed == 0 && a_.subscribers > 0)
    return std::nullopt; // --subscribers 0 measures ingest alone

  push_positions(1s); // warm-up, not measured
  std::this_thread::sleep_for(500ms);
  stats_.reset_latencies();
  auto pushes0 = stats_.push_rider_position.load();
  auto sent0 = stats_.positions_sent.load();
  auto cpu0 = node_.cpu_ms();
  auto t0 = clock_type::now();
  push_positions(std::chrono::seconds(a_.duration_s));
  double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto cpu1 = node_.cpu_ms();
  auto pushes1 = stats_.push_rider_position.load();
  auto sent1 = stats_.positions_sent.load();
  std::this_thread::sleep_for(1s); // late pushes still count toward latency
  auto lat = stats_.report(elapsed, 0, "").latencies[static_cast<std::size_t>(
      sim::metric::position_to_push)];
  run_result r;
  r.positions_per_s = static_cast<double>(sent1 - sent0) / elapsed;
  r.pushes_per_s = static_cast<double>(pushes1 - pushes0) / elapsed;
  r.p50_ms = lat.p50_ms;
  r.p99_ms = lat.p99_ms;
  r.rss_per_conn_kib =
      subscribed > 0 ? static_cast<double>(rss_after - rss_before) / subscribed : 0.0;
  r.assigned = static_cast<std::uint32_t>(orders_.size());
  double cpu_us = static_cast<double>(cpu1 - cpu0) * 1000.0;
  r.cpu_pct = cpu_us / (elapsed * 1e6) * 100.0;
  r.cpu_us_per_push = pushes1 > pushes0 ? cpu_us / static_cast<double>(pushes1 - pushes0) : 0;
  r.cpu_us_per_position = sent1 > sent0 ? cpu_us / static_cast<double>(sent1 - sent0) : 0;
  auto c = stats_.counters();
  std::cerr << "fanout_bench: run: " << r.positions_per_s << " positions/s in, " << r.pushes_per_s
            << " pushes/s out, p50 " << r.p50_ms << " ms, p99 " << r.p99_ms << " ms, "
            << r.rss_per_conn_kib << " KiB/conn, node CPU " << r.cpu_pct << "% ("
            << r.cpu_us_per_push << " us/push); dropped sends " << c.send_dropped
            << ", unmatched " << c.unmatched_positions << "\n";
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args)
    return 2;
  if (!bench::prepare_bench_process(args->node, "fanout_bench"))
    return 77;
  if (args->node_cpu >= 0 && !bench::pin_self_away_from(args->node_cpu)) {
    std::cerr << "fanout_bench: cannot keep off CPU " << args->node_cpu << "; not pinning\n";
    args->node_cpu = -1;
  }
  bench::node_options opts;
  opts.cpu = args->node_cpu;
  // results[i]: the runs of transports[i]; transports alternate within a
  // run index so drift on the machine hits them alike.
  std::vector<std::vector<run_result>> results(args->transports.size());
  for (std::uint32_t k = 0; k < args->runs; ++k)
    for (std::size_t t = 0; t < args->transports.size(); ++t) {
      std::string why;
      auto node = bench::node_process::start(args->node, args->secret, 30'000, why, opts);
      if (!node) {
        std::cerr << "fanout_bench: " << why << "\n";
        return 1;
      }
      std::optional<run_result> r;
      {
        fanout_run run(*args, *node, args->transports[t]);
        r = run.run();
      }
      node->stop();
      if (!r) {
        std::cerr << "fanout_bench: run " << k + 1 << " failed\n";
        return 1;
      }
      results[t].push_back(*r);
    }
  auto med = [&](std::size_t t, double run_result::*f) {
    std::vector<double> v;
    for (auto& r : results[t])
      v.push_back(r.*f);
    return median(v);
  };
  for (std::size_t t = 0; t < args->transports.size(); ++t)
    std::cout << "fanout_bench: transport=" << sim::to_string(args->transports[t])
              << " subscribers=" << args->subscribers << " riders=" << args->riders
              << " target_positions_per_s=" << args->positions_per_s << " duration_s="
              << args->duration_s << " runs=" << args->runs << " node_cpu=" << args->node_cpu
              << " (median)\n"
              << "  positions_in_per_s " << med(t, &run_result::positions_per_s) << "\n"
              << "  pushes_out_per_s " << med(t, &run_result::pushes_per_s) << "\n"
              << "  latency_p50_ms " << med(t, &run_result::p50_ms) << "\n"
              << "  latency_p99_ms " << med(t, &run_result::p99_ms) << "\n"
              << "  node_rss_per_connection_kib " << med(t, &run_result::rss_per_conn_kib) << "\n"
              << "  node_cpu_pct " << med(t, &run_result::cpu_pct) << "\n"
              << "  node_cpu_us_per_push " << med(t, &run_result::cpu_us_per_push) << "\n"
              << "  node_cpu_us_per_position " << med(t, &run_result::cpu_us_per_position)
              << "\n";
  if (args->transports.size() == 2) {
    auto ratio = [&](double run_result::*f) {
      auto ws = med(0, f);
      return ws > 0 ? med(1, f) / ws : 0.0;
    };
    std::cout << "fanout_bench: tcp/ws ratio (same runs): cpu_us_per_push "
              << ratio(&run_result::cpu_us_per_push) << ", cpu_us_per_position "
              << ratio(&run_result::cpu_us_per_position) << ", latency_p99 "
              << ratio(&run_result::p99_ms) << "\n";
  }
  return 0;
}
