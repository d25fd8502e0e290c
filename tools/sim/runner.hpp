#pragma once
/// \file
/// Runs one simulation: sets the city up through the admin client, starts
/// stores, riders and customers (staggered), paces orders, prints progress,
/// and stops on --duration-s or SIGINT/SIGTERM. Its own work runs on its
/// own strand; the io_context threads are main's.

#include "tools/sim/admin_agent.hpp"
#include "tools/sim/customer_agent.hpp"
#include "tools/sim/order_pacer.hpp"
#include "tools/sim/rider_agent.hpp"
#include "tools/sim/sim_context.hpp"
#include "tools/sim/store_agent.hpp"

#include <boost/asio/signal_set.hpp>

#include <memory>
#include <ostream>
#include <vector>

namespace courier::sim {

/// Wall ms between pacer ticks.
inline constexpr std::int64_t pacer_tick_ms = 100;
/// Setup (upsert_store for every store) must finish within this, wall ms;
/// after it the run starts anyway (and says so).
inline constexpr std::int64_t setup_timeout_ms = 20'000;
/// The city's clients start spread over at most this long, wall ms.
inline constexpr std::int64_t start_spread_ms = 2000;
/// After stop, connections get this long to close, wall ms.
inline constexpr std::int64_t stop_grace_ms = 1500;

/// One run of the simulator.
class sim_runner : public std::enable_shared_from_this<sim_runner> {
public:
  /// `out` gets progress lines (from io threads: one writer at a time).
  sim_runner(sim_context& ctx, std::ostream& out);

  /// Starts everything; call once, before the io threads run.
  void start();
  /// Stops the run (idempotent, any thread); the io_context stops after
  /// stop_grace_ms.
  void stop();

private:
  void on_setup_done(std::size_t ok, std::size_t failed);
  void start_city();
  void pace();
  void progress();
  void arm(boost::asio::steady_timer& t, std::int64_t ms, void (sim_runner::*fn)());

  sim_context& ctx_;
  std::ostream& out_;
  strand_t strand_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer setup_timer_, pace_timer_, progress_timer_, duration_timer_,
      grace_timer_;
  std::shared_ptr<admin_agent> admin_;
  std::vector<std::shared_ptr<agent>> agents_;
  std::vector<std::shared_ptr<customer_agent>> customers_;
  order_pacer pacer_;
  rng_t rng_;
  std::string run_id_;
  std::uint64_t requests_ = 0;
  std::int64_t pacing_started_ms_ = -1;
  bool city_started_ = false;
  bool stopping_ = false;
};

} // namespace courier::sim
