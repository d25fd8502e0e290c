#pragma once
/// \file
/// What the sim counts and measures, shared by every client (thread-safe),
/// and how it is reported: a progress line, a text summary, a JSON summary.

#include "core/errc.hpp"
#include "tools/sim/latency.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace courier::sim {

/// Every counter, as X(name): one list drives the struct, the progress line
/// and the JSON summary, so they never disagree.
#define COURIER_SIM_COUNTERS(X)                                                \
  X(connects)            /* TCP/WS connections established */                  \
  X(connect_failures)    /* resolve/connect/handshake failed */                \
  X(welcomes)            /* hello accepted */                                  \
  X(disconnects)         /* established connections lost */                   \
  X(reconnects)          /* reconnect attempts */                              \
  X(gave_up)             /* clients that hit --reconnect-max */                \
  X(decode_errors)       /* frames we could not decode */                      \
  X(send_dropped)        /* frames dropped: client write queue full */         \
  X(stores_upserted)     /* upsert_store answered ok */                        \
  X(orders_sent)         /* place_order sent */                                \
  X(orders_placed)       /* order_placed received */                           \
  X(orders_accepted)     /* customer saw status accepted */                    \
  X(orders_assigned)     /* customer saw a rider */                            \
  X(orders_delivered)    /* customer saw delivered */                          \
  X(orders_failed)       /* customer saw rejected/cancelled/payment_failed */  \
  X(orders_shed)         /* not placed: outstanding/burst/customer bound */    \
  X(orders_abandoned)    /* untracked after --order-timeout-s */               \
  X(new_orders)          /* store got new_order */                             \
  X(store_commands)      /* accept_order/cooking/ready sent */                 \
  X(offers)              /* rider got an offer */                              \
  X(offers_accepted)     /* accept answered ok */                              \
  X(offers_rejected)     /* reject sent */                                     \
  X(rider_statuses)      /* picked_up/delivering/delivered sent */             \
  X(positions_sent)      /* position sent */                                   \
  X(acks)                /* ack received */                                    \
  X(push_order_status)   /* order_status pushes to customers */                \
  X(push_rider_position) /* rider_position pushes */                           \
  X(push_rider_nearby)   /* rider_nearby pushes */                             \
  X(push_other)          /* any other unsolicited message */                   \
  X(unmatched_positions) /* rider_position with no matching send */

/// The latency metrics, as X(name, description).
#define COURIER_SIM_LATENCIES(X)                                                     \
  X(place_to_placed, "place_order sent -> order_placed received")                    \
  X(place_to_accepted, "place_order sent -> customer sees status accepted")          \
  X(place_to_assigned, "place_order sent -> customer first sees a rider_id")         \
  X(store_accept_to_offer, "accept_order sent -> first offer at a rider")            \
  X(position_to_push, "position sent -> customer receives its rider_position")       \
  X(status_to_push, "store/rider status command sent -> customer's order_status")

/// Counter values at one moment.
struct counter_values {
#define COURIER_SIM_FIELD(name) std::uint64_t name = 0;
  COURIER_SIM_COUNTERS(COURIER_SIM_FIELD)
#undef COURIER_SIM_FIELD
  std::array<std::uint64_t, 11> errors{}; ///< by core::errc value
};

/// Which latency metric a sample belongs to.
enum class metric : std::uint8_t {
#define COURIER_SIM_ENUM(name, text) name,
  COURIER_SIM_LATENCIES(COURIER_SIM_ENUM)
#undef COURIER_SIM_ENUM
      count_
};
inline constexpr std::size_t metric_count = static_cast<std::size_t>(metric::count_);

/// A full report: counters, latencies, and the run's identity.
struct sim_report {
  counter_values counters;
  std::array<latency_summary, metric_count> latencies{};
  std::uint64_t exact_position_matches = 0;
  double elapsed_s = 0;
  std::uint64_t seed = 0;
  std::string transport;
};

/// The shared, thread-safe sink of counts and latency samples.
class sim_stats {
public:
#define COURIER_SIM_ATOMIC(name) std::atomic<std::uint64_t> name{0};
  COURIER_SIM_COUNTERS(COURIER_SIM_ATOMIC)
#undef COURIER_SIM_ATOMIC

  /// Counts one `error` reply (by code); returns how many of that code
  /// came before it (callers print the first few).
  std::uint64_t count_error(core::errc code) noexcept;
  /// Adds one latency sample.
  void add(metric m, double ms);
  /// Records a position send (for position_to_push).
  void position_sent(const core::rider_id& rider, std::int64_t time_ms, std::int64_t sent_us);
  /// A rider_position push arrived at `recv_us`: adds a position_to_push
  /// sample if it matches a send, else counts unmatched_positions.
  void position_received(const core::rider_id& rider, std::int64_t at_ms, std::int64_t recv_us);

  /// Drops every latency sample so far (benchmarks: after a warm-up).
  void reset_latencies();
  /// The latencies since the previous call (or the start), then starts a
  /// new window: what the progress line prints, so a long run shows how
  /// its latency moves over time, not only the run's overall percentiles.
  std::array<latency_summary, metric_count> take_window();

  counter_values counters() const;
  sim_report report(double elapsed_s, std::uint64_t seed, std::string transport) const;

private:
  std::array<std::atomic<std::uint64_t>, 11> errors_{};
  mutable std::mutex mutex_; // guards the histograms and the matcher
  std::array<latency_histogram, metric_count> histograms_;
  /// Samples of the current progress window; fewer kept than the run's
  /// (a window is seconds, and its percentiles only need to be close).
  static constexpr std::size_t window_samples_max = 20'000;
  std::array<latency_histogram, metric_count> window_ = fresh_window();
  static std::array<latency_histogram, metric_count> fresh_window();
  position_matcher matcher_;
  std::uint64_t exact_matches_ = 0;
};

/// One progress line: `t=12s orders sent=.. placed=.. ...`; with a window,
/// it ends with that window's p99 per metric (`| p99_ms place_to_placed=3.1
/// ...`, `-` for a metric with no sample in the window).
std::string progress_line(const counter_values& c, double elapsed_s,
                          const std::array<latency_summary, metric_count>* window = nullptr);
/// The human summary printed at the end.
std::string summary_text(const sim_report& r);
/// The same as JSON (for --json-summary and the benchmarks).
std::string summary_json(const sim_report& r);
/// The protocol name of metric `m` ("position_to_push").
const char* metric_name(metric m) noexcept;

} // namespace courier::sim
