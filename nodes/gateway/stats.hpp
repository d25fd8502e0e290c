#pragma once
/// \file
/// The gateway's counters, for /metrics. Updated with relaxed atomics from
/// IO threads and pushing threads; read at any time.

#include "core/histogram.hpp"

#include <atomic>
#include <cstdint>

namespace courier::gateway {

/// Counters of one gateway. Totals only grow; *_open are gauges.
struct gateway_stats {
  using counter = std::atomic<std::uint64_t>;
  counter sessions_open{0};      ///< WebSocket + TCP sessions now open
  counter sessions_total{0};     ///< sessions ever opened
  counter http_open{0};          ///< plain HTTP connections now open
  counter http_requests{0};      ///< HTTP requests handed to the handler
  counter handler_exceptions{0}; ///< HTTP handler calls that threw (answered 500; a bug to fix)
  counter refused{0};            ///< connections refused (sessions_max / http_connections_max)
  counter frames_in{0};          ///< inbound frames handed to on_frame
  counter frames_out{0};         ///< outbound frames written
  counter bytes_in{0};           ///< inbound payload bytes
  counter bytes_out{0};          ///< outbound payload bytes written
  counter coalesced{0};          ///< pending latest(key) frames replaced by newer ones
  counter dropped{0};            ///< latest(key) frames dropped for the pending-bytes bound
  counter closed_slow{0};        ///< sessions closed as slow consumers
  counter bad_framing{0};        ///< sessions with broken framing
  counter timeouts{0};           ///< sessions closed for first-frame or idle timeout
  counter forced_closes{0};      ///< sockets cut because a close did not finish in close_timeout_ms
  counter pings{0};              ///< WebSocket pings sent to sessions quiet for half the idle timeout
  counter watchdog_wakeups{0};   ///< session watchdog timers that expired (first-frame, idle, close deadlines checked)
  /// Pushed frame handed to the sessions (frame::pushed_ns) -> the socket
  /// write that carried it completed; one observation per frame written.
  core::histogram<core::latency_us_buckets> push_latency_us;
  /// Frames in a session's outbound queue when its writer takes a batch
  /// (one sample per write: the depth a slow reader builds up).
  core::histogram<core::depth_buckets> session_queue_depth;
};

} // namespace courier::gateway
