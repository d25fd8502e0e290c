#pragma once
/// \file
/// What every simulated client shares: the config, the city, the stats, the
/// order book, time, and how to mint its token. Lives in main's scope and
/// outlives the io threads, so clients hold a plain reference.

#include "messages/domain.hpp"
#include "tools/sim/city.hpp"
#include "tools/sim/client_conn.hpp"
#include "tools/sim/ledger.hpp"
#include "tools/sim/order_book.hpp"
#include "tools/sim/sim_clock.hpp"
#include "tools/sim/sim_config.hpp"
#include "tools/sim/stats.hpp"

#include <atomic>
#include <chrono>
#include <string>

namespace courier::sim {

/// The shared state of one run.
struct sim_context {
  sim_context(boost::asio::io_context& io_context, const sim_config& config, city_plan plan);

  boost::asio::io_context& io;
  const sim_config& cfg;
  const city_plan city;
  sim_stats stats;
  order_book orders;
  const sim_clock clock;
  const std::chrono::steady_clock::time_point started;
  /// Orders placed and not yet finished, across customers (bounded by
  /// cfg.outstanding_max).
  std::atomic<std::uint32_t> outstanding{0};
  /// Set once stopping: clients stop reconnecting.
  std::atomic<bool> stopping{false};
  /// The order ledger (--ledger), or null.
  std::unique_ptr<order_ledger> ledger;

  /// Steady clock, microseconds (for latencies).
  static std::int64_t now_us() noexcept;
  /// Wall clock, epoch milliseconds (position time_ms).
  static std::int64_t epoch_ms() noexcept;
  /// Wall milliseconds since the run started.
  std::int64_t elapsed_ms() const noexcept;
  /// Sim milliseconds since the run started.
  sim_ms sim_now() const noexcept { return clock.to_sim(elapsed_ms()); }
  /// A fresh token for `role`/`id`, signed with cfg.secret.
  std::string token_for(msg::role role, const std::string& id) const;
  /// Where and how clients connect on their `turn`-th attempt: the ports
  /// in turn (one node after another).
  conn_target target(std::uint32_t turn = 0) const;
};

} // namespace courier::sim
