#pragma once
/// \file
/// A tiny in-process stand-in for courier-node, for testing courier-sim's
/// socket shell over real loopback sockets: WebSocket (JSON) and raw TCP
/// (length-prefixed protobuf), hello with real token checks, and just enough
/// of PROTOCOL.md's order flow (one offer per order to the first available
/// rider, statuses pushed to subscribers, rider_position with at_ms =
/// time_ms). Not a reference implementation: no persistence, no limits.

#include <cstdint>
#include <memory>
#include <string>

namespace courier::sim::testing {

/// A fake node serving on two ephemeral loopback ports, on its own thread.
class fake_node {
public:
  explicit fake_node(std::string secret);
  ~fake_node();
  std::uint16_t ws_port() const;
  std::uint16_t tcp_port() const;

  struct impl; ///< the fake's state and protocol (fake_node.cpp only)

private:
  std::unique_ptr<impl> impl_;
};

} // namespace courier::sim::testing
