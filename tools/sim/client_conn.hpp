#pragma once
/// \file
/// One client connection to a node, in either transport of PROTOCOL.md:
/// WebSocket (JSON text frames at /v1/ws) or raw TCP (4-byte big-endian
/// length + protobuf Envelope). Asio/Beast, all on one strand supplied by the
/// owner, so the owner's timers and this connection's callbacks never run
/// concurrently. One write in flight; the write queue is bounded.

#include "messages/client.hpp"
#include "tools/sim/sim_config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace courier::sim {

/// The executor every client's work runs on.
using strand_t = boost::asio::strand<boost::asio::io_context::executor_type>;

/// Frames queued for writing per connection before send() refuses.
inline constexpr std::size_t conn_write_queue_max = 1024;
/// Resolve + connect + handshake must finish within this (ms).
inline constexpr std::int64_t conn_connect_timeout_ms = 5000;

/// Where to connect and how to frame.
struct conn_target {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  transport_kind transport = transport_kind::websocket;
  std::string ws_path = "/v1/ws";
};

/// Receives a connection's events, on the connection's strand.
class conn_handler {
public:
  virtual ~conn_handler() = default;
  /// Connected (and, for WebSocket, handshaken): send hello now.
  virtual void on_open() = 0;
  /// One decoded frame from the server.
  virtual void on_message(msg::envelope message) = 0;
  /// A frame that did not decode (the connection stays open).
  virtual void on_bad_frame(const std::string& why) = 0;
  /// Called exactly once per started connection, when it is over:
  /// `was_open` false means it never got to on_open.
  virtual void on_closed(bool was_open, const std::string& why) = 0;
};

/// A connection; create with make_conn, use only on its strand.
class client_conn {
public:
  virtual ~client_conn() = default;
  /// Resolves, connects and (WebSocket) handshakes, then reads until closed.
  virtual void start() = 0;
  /// Queues one message; false if the queue is full or the connection is
  /// not open (the caller counts the drop).
  virtual bool send(const msg::envelope& message) = 0;
  /// Closes gracefully (WebSocket close frame) or cancels a pending connect.
  virtual void close() = 0;
};

/// A connection of `target.transport` whose handlers run on `strand`.
std::shared_ptr<client_conn> make_conn(strand_t strand, conn_target target,
                                       std::weak_ptr<conn_handler> handler);

} // namespace courier::sim
