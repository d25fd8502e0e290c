// courier-sim's socket shell end to end against the in-process fake node:
// real loopback sockets, both transports, the whole order flow.
#include "tools/sim/runner.hpp"
#include "tools/sim/tests/fake_node.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace courier;
using namespace courier::sim;

namespace {

/// Runs a small fast city against `node` for `duration_s`; returns the report.
sim_report run_city(const testing::fake_node& node, transport_kind transport,
                    std::string secret, std::uint32_t duration_s) {
  sim_config cfg;
  cfg.http_ports = {node.ws_port()};
  cfg.tcp_ports = {node.tcp_port()};
  cfg.transport = transport;
  cfg.riders = 8;
  cfg.stores = 2;
  cfg.customers = 4;
  cfg.orders_per_min = 120;
  cfg.speedup = 300; // 5 s positions every ~17 ms; a delivery in ~2 s wall
  cfg.hotspot_share = 1.0;
  cfg.reject_rate = 0.0;
  cfg.duration_s = duration_s;
  cfg.progress_s = 0;
  cfg.reconnect_max = 1;
  cfg.secret = std::move(secret);
  cfg.seed = 1234;
  MESSAGE("seed " << cfg.seed);
  boost::asio::io_context io;
  rng_t rng(cfg.seed);
  sim_context ctx(io, cfg, make_city(cfg, rng));
  std::ostringstream out;
  auto runner = std::make_shared<sim_runner>(ctx, out);
  runner->start();
  io.run();
  return ctx.stats.report(static_cast<double>(ctx.elapsed_ms()) / 1000.0, cfg.seed,
                          to_string(transport));
}

void check_full_flow(const sim_report& r) {
  const auto& c = r.counters;
  INFO(summary_text(r));
  CHECK(c.stores_upserted == 2);
  CHECK(c.welcomes == 1 + 8 + 2 + 4);
  CHECK(c.decode_errors == 0);
  CHECK(c.send_dropped == 0);
  for (std::size_t i = 1; i < c.errors.size(); ++i)
    CHECK(c.errors[i] == 0);
  CHECK(c.orders_placed > 0);
  CHECK(c.orders_accepted > 0);
  CHECK(c.orders_assigned > 0);
  CHECK(c.orders_delivered > 0);
  CHECK(c.acks > 0);
  CHECK(c.push_rider_position > 0);
  const auto& pos = r.latencies[static_cast<std::size_t>(metric::position_to_push)];
  CHECK(pos.count > 0);
  // The fake node passes time_ms through as at_ms: every match is exact.
  CHECK(r.exact_position_matches == pos.count);
  CHECK(r.latencies[static_cast<std::size_t>(metric::status_to_push)].count > 0);
  CHECK(r.latencies[static_cast<std::size_t>(metric::store_accept_to_offer)].count > 0);
}

} // namespace

TEST_CASE("sim_delivers_orders_end_to_end_over_websocket_json") {
  testing::fake_node node("test-secret");
  check_full_flow(run_city(node, transport_kind::websocket, "test-secret", 7));
}

TEST_CASE("sim_delivers_orders_end_to_end_over_tcp_protobuf") {
  testing::fake_node node("test-secret");
  check_full_flow(run_city(node, transport_kind::tcp, "test-secret", 7));
}

TEST_CASE("sim_with_a_wrong_secret_counts_unauthorized_and_gets_nothing_through") {
  testing::fake_node node("test-secret");
  auto r = run_city(node, transport_kind::websocket, "wrong-secret", 4);
  CHECK(r.counters.welcomes == 0);
  CHECK(r.counters.errors[static_cast<std::size_t>(core::errc::unauthorized)] > 0);
  CHECK(r.counters.positions_sent == 0);
}
