#pragma once
/// \file
/// HTTP: `/healthz`, `/metrics` (Prometheus text), `/` (the live map), the
/// REST calls of PROTOCOL.md (orders, stores, region stats), the map's
/// `/v1/cells` helper and a rider's location history
/// (`/v1/riders/{id}/history`, admin; docs/protocol-additions.md). REST calls take `Authorization: Bearer <token>` and
/// go through the same authorization table and gateway actor as WebSocket
/// requests; errors are PROTOCOL.md's codes as HTTP statuses.

#include "actors/history_actor.hpp"
#include "core/clock.hpp"
#include "nodes/gateway/http.hpp"
#include "nodes/node/rest_limits.hpp"

#include <caf/actor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace courier::node {

class node_metrics;

/// Produces the /metrics body; `done` may be called later, from any thread.
using metrics_source = std::function<void(std::function<void(std::string)> done)>;

/// Answers a location history query; `done` may be called later, from any
/// thread, exactly once (an error in the reply when the history is off or
/// did not answer).
using history_source =
    std::function<void(actors::history_query, std::function<void(actors::history_reply)> done)>;

class rest_handler final : public gateway::http_handler {
public:
  rest_handler(std::string secret, const core::clock& clock, caf::actor gateway_actor,
               std::shared_ptr<node_metrics> metrics, metrics_source metrics_text,
               rest_limits_config limits = {}, history_source history = {});
  void on_request(gateway::http_request request, gateway::responder respond) override;

  /// Requests refused with 429 so far.
  std::uint64_t rate_limited_total() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// A file the node serves as is: the live map page (nodes/node/web/) and the
/// client SDK it imports (clients/js/src at /sdk/), embedded at build time.
struct web_file {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

/// The embedded file served at `path`, or nullptr.
const web_file* find_web_file(std::string_view path);

} // namespace courier::node
