#pragma once
/// \file
/// The gateway's transport: one io_context (its own threads, apart from
/// CAF's scheduler) serving HTTP + WebSocket on one port and length-prefixed
/// raw TCP on another. It moves frames only; the node wiring parses them and
/// talks to actors through session_handler and http_handler.

#include "core/limits.hpp"
#include "core/result.hpp"
#include "nodes/gateway/http.hpp"
#include "nodes/gateway/session.hpp"
#include "nodes/gateway/stats.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <functional>
#include <string>

namespace courier::gateway {

/// Per-frame bookkeeping charged against pending_bytes_max besides the
/// payload, so that many tiny frames are bounded too.
inline constexpr std::size_t frame_overhead_bytes = 64;

/// Listener addresses, threads and every bound, each with its unit.
struct gateway_config {
  std::string bind_address = "0.0.0.0";
  std::uint16_t http_port = 8080; ///< HTTP + WebSocket (/v1/ws); 0 = any free port
  std::uint16_t tcp_port = 7070;  ///< raw TCP; 0 = any free port
  /// Threads of its own running the IO (1-64). 0: none; the embedding
  /// runs the IO through gateway::loop() on a thread it already has (the
  /// node: a CAF worker, between actors), so a frame handed to an actor and
  /// a push handed back to the IO never cross threads.
  std::size_t io_threads = 1;
  /// Runs first on each IO thread (e.g. to set its scheduling policy).
  std::function<void()> on_io_thread_start;

  /// Largest inbound frame (TCP length prefix, WebSocket message) and
  /// largest outbound frame.
  std::size_t frame_bytes_max = core::limits::frame_bytes_max;
  /// Bytes queued for one session and not yet written (payload +
  /// frame_overhead_bytes each). Over it latest(key) frames are dropped
  /// first; if reliable frames alone exceed it the session is closed.
  std::size_t pending_bytes_max = 1024 * 1024;
  /// Kernel send buffer per session socket (SO_SNDBUF); 0 = the OS default,
  /// which autotunes to megabytes. Bytes a slow client holds up are
  /// pending_bytes_max + this + one frame in flight.
  std::size_t send_buffer_bytes = 0;
  /// Open WebSocket + TCP sessions; more are refused (TCP: closed at once,
  /// WebSocket: HTTP 503).
  std::size_t sessions_max = 100'000;
  /// Open plain-HTTP connections; more are closed at once.
  std::size_t http_connections_max = 10'000;
  /// Largest HTTP request body (413 beyond) and header block (431).
  std::size_t http_body_bytes_max = 1024 * 1024;
  std::size_t http_header_bytes_max = 16 * 1024;

  /// Reading an HTTP request (also between keep-alive requests) and the
  /// WebSocket opening/closing handshakes.
  std::int64_t handshake_timeout_ms = 10'000;
  /// A session that sends no frame within this time after opening is closed
  /// ("first frame timeout"); 0 = off. Bounds clients that never say hello.
  std::int64_t first_frame_timeout_ms = 0;
  /// A session silent this long is closed ("idle timeout"); WebSocket
  /// sessions are pinged at half of it, TCP sessions are held to it only
  /// once they heartbeat (session::heartbeating()). 0 = off.
  std::int64_t idle_timeout_ms = 0;
  /// TCP keepalive on every session socket: the kernel probes a peer
  /// silent for `keepalive_idle_s`, every `keepalive_interval_s`, and
  /// resets the connection after `keepalive_probes` unanswered probes, so a
  /// vanished client (power loss, NAT drop) frees its slot even when it
  /// never heartbeats. 0 idle = off (the system's settings).
  std::int64_t keepalive_idle_s = 60;
  std::int64_t keepalive_interval_s = 10;
  std::int64_t keepalive_probes = 6;
  /// After close() (or a slow-consumer close), time to flush and close
  /// gracefully before the socket is cut.
  std::int64_t close_timeout_ms = 5'000;
  /// stop() waits this long for sessions to close gracefully, then cuts them.
  std::int64_t stop_timeout_ms = 2'000;
};

/// The ports actually bound (useful with port 0).
struct bound_ports {
  std::uint16_t http = 0;
  std::uint16_t tcp = 0;
};

/// The gateway's IO, run by the embedding when gateway_config::io_threads
/// is 0. One thread at a time calls run(); wake() may come from any thread.
class io_loop {
public:
  enum class status : std::uint8_t {
    ran,    ///< ran IO handlers or wrote pushed frames
    idle,   ///< nothing was ready (only without blocking)
    closed, ///< the gateway stopped: never call run() again
  };
  virtual ~io_loop() = default;
  /// Writes what actors pushed from this thread, then runs the IO handlers
  /// that are ready. With `block`, waits first until one is ready or
  /// wake() is called.
  virtual status run(bool block) = 0;
  /// Makes a blocked run() return soon; any thread, also after close.
  virtual void wake() = 0;
};

/// HTTP/WebSocket + TCP servers on one io_context. start() once, stop() once
/// (the destructor stops too). Handlers must outlive the gateway.
class gateway {
public:
  gateway(gateway_config config, session_handler& sessions, http_handler& http);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Validates the config, binds both listeners and starts the IO threads.
  /// errc::internal (with the reason) if a bound is inconsistent or a port
  /// cannot be bound.
  core::result<bound_ports> start();

  /// Stops accepting, closes every session (gracefully for up to
  /// stop_timeout_ms, then by force; on_close is called for each), answers
  /// nothing more, joins the IO threads (or closes loop()). Idempotent;
  /// must not be called from a thread running the IO (i.e. not from a
  /// handler, nor, with io_threads 0, from the thread running loop()).
  void stop();

  /// Live counters.
  const gateway_stats& stats() const noexcept;

  /// The IO to run, when io_threads is 0 (else nullptr). It stays valid
  /// after stop() (it then says `closed`); stop() returns only once no
  /// run() is in progress. Run it from start() until it says `closed`:
  /// stop() waits for sessions to close gracefully, which needs the IO.
  std::shared_ptr<io_loop> loop() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace courier::gateway
