// courier-sim: a city simulator and load generator for a running
// courier-node. main only wires: flags -> city -> context -> runner ->
// io threads -> summary.
#include "tools/sim/runner.hpp"

#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <csignal>

#include <fstream>
#include <iostream>
#include <thread>

namespace {

/// Every client is a socket: lift the soft fd limit to the hard one.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// 0 if anything got through, 1 if nothing did (no welcome, or neither a
/// position nor an order reached the node).
int exit_code(const courier::sim::counter_values& c) {
  if (c.welcomes == 0)
    return 1;
  return (c.acks > 0 || c.orders_placed > 0 || c.stores_upserted > 0) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  using namespace courier::sim;
  auto parsed = parse_args(std::vector<std::string>(argv + 1, argv + argc));
  if (parsed.help) {
    std::cout << usage_text();
    return 0;
  }
  if (!parsed.config) {
    std::cerr << "courier-sim: " << parsed.error << "\n" << usage_text();
    return 2;
  }
  const sim_config cfg = *parsed.config;
  raise_fd_limit();
  std::signal(SIGPIPE, SIG_IGN); // a peer reset is an error value, not a signal

  rng_t city_rng(cfg.seed);
  boost::asio::io_context io;
  sim_context ctx(io, cfg, make_city(cfg, city_rng));
  if (!cfg.ledger.empty()) {
    std::string error;
    ctx.ledger = order_ledger::open(cfg.ledger, error);
    if (!ctx.ledger) {
      std::cerr << "courier-sim: " << error << '\n';
      return 2;
    }
  }
  auto runner = std::make_shared<sim_runner>(ctx, std::cout);
  runner->start();

  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < cfg.io_threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();

  auto report = ctx.stats.report(static_cast<double>(ctx.elapsed_ms()) / 1000.0, cfg.seed,
                                 to_string(cfg.transport));
  std::cout << summary_text(report);
  if (ctx.ledger && !ctx.ledger->flush()) {
    std::cerr << "courier-sim: cannot write the ledger " << cfg.ledger << '\n';
    return 1;
  }
  if (!cfg.json_summary.empty()) {
    std::ofstream f(cfg.json_summary);
    f << summary_json(report) << '\n';
    if (!f)
      std::cerr << "courier-sim: cannot write " << cfg.json_summary << '\n';
  }
  int code = exit_code(report.counters);
  if (code != 0)
    std::cerr << "courier-sim: nothing got through to " << cfg.host << '\n';
  return code;
}
