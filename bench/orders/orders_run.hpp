#pragma once
/// \file
/// One run of the orders benchmark against one running courier-node:
/// stores upserted and connected (each accepts every new_order at once),
/// customers placing orders at a fixed offered rate (open loop) for a
/// warm-up and then a measured window, then a bounded drain.

#include "bench/fanout/node_process.hpp"
#include "tools/sim/latency.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace courier::bench {

/// What one run does.
struct orders_run_config {
  double orders_per_s = 1000;   ///< offered rate, all customers together
  std::uint32_t duration_s = 10; ///< measured window
  std::uint32_t warmup_s = 2;    ///< same load before the window, not measured
  std::uint32_t drain_s = 10;    ///< at most this long for the window's orders to settle
  std::uint32_t stores = 50;
  std::uint32_t customers = 100;
  std::string secret;
  /// If set, `perf record -g` samples the node over the window into this file.
  std::string perf_out;
};

/// What one run measured (the window only).
struct orders_run_result {
  double offered_per_s = 0;  ///< place_order sent / window
  double placed_per_s = 0;   ///< order_placed received / window
  double accepted_per_s = 0; ///< store accept oks received / window
  sim::latency_summary to_placed, to_accepted;
  std::uint64_t sent = 0, failed = 0, unfinished = 0; ///< of the orders sent in the window
  std::uint64_t errors = 0;  ///< error replies of any kind, whole run
  std::string errors_by_code; ///< "code=N ..." of the non-zero ones, whole run
  double node_cpu_pct = 0;   ///< of one core, over the window
  double node_rss_mib = 0;   ///< at the end of the window
  /// The whole machine's busy CPU over the window, in % of one core (node,
  /// bench, and anything else running: on a shared machine, the noise).
  double machine_busy_pct = 0;
  /// Journal figures over the window, from /metrics; NaN when the node did
  /// not answer /metrics in time (a saturated node answers it late).
  double appends_per_commit = std::nan("");  ///< group-commit size: appends per fsync
  double commits_per_s = std::nan("");       ///< fsyncs per second
  double fsync_ms_mean = std::nan("");       ///< mean sync() (write + fdatasync) time
  double activations_per_s = std::nan("");   ///< entity activations (each reads the journal)
  /// The same journal figures over the whole run (node start to the end of
  /// the drain), scraped once the load is over: there even when the
  /// saturated node did not answer at the window's edges.
  double run_appends_per_commit = std::nan("");
  double run_fsync_ms_mean = std::nan("");
  /// Orders sent in the window that were accepted, after the drain.
  double accepted_fraction() const {
    return sent == 0 ? 0 : static_cast<double>(sent - failed - unfinished) / sent;
  }
};

/// Runs the scenario against `node`; nullopt (and why on stderr) if the
/// setup failed (no connection, a store not upserted).
std::optional<orders_run_result> run_orders(const orders_run_config& config,
                                            const node_process& node);

} // namespace courier::bench
