#pragma once
/// \file
/// Reads a node's entity gauges from its /metrics page (one blocking HTTP/1.1
/// GET over loopback): how a benchmark proves its entities are live without
/// trusting its own counts.

#include <cstdint>
#include <optional>
#include <string>

namespace courier::bench {

/// The router's figures as /metrics prints them.
struct node_gauges {
  std::uint64_t live = 0;                ///< courier_entities_live
  std::uint64_t activations_total = 0;   ///< courier_entity_activations_total
  std::uint64_t passivations_total = 0;  ///< courier_entity_passivations_total
  /// courier_entities_live_by_kind{kind="..."} for the kinds the bench
  /// makes (0 when the node has none live).
  std::uint64_t orders_live = 0, riders_live = 0, payments_live = 0;
};

/// GET http://127.0.0.1:`port`/metrics with `token` as the bearer; nullopt
/// if the request fails or the page lacks the gauges.
std::optional<node_gauges> read_node_gauges(std::uint16_t port, const std::string& token);

} // namespace courier::bench
