#include "nodes/node/metrics.hpp"

#include <sstream>

namespace courier::node {
namespace {
template <std::size_t... I>
constexpr std::array<std::string_view, sizeof...(I)> type_names(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, msg::client_body>::type...};
}
constexpr auto names = type_names(std::make_index_sequence<node_metrics::types>{});
} // namespace

std::string_view type_name_at(std::size_t i) noexcept {
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

std::string node_metrics::dispatch_histogram() const {
  std::ostringstream os;
  os << "# HELP courier_dispatch_latency_ms Store accept to rider assigned.\n"
        "# TYPE courier_dispatch_latency_ms histogram\n";
  dispatch_.write(os, "courier_dispatch_latency_ms");
  return os.str();
}

std::string node_metrics::request_histograms() const {
  std::ostringstream os;
  os << "# HELP courier_request_latency_us Client request frame in to its reply queued, by "
        "request type.\n"
        "# TYPE courier_request_latency_us histogram\n";
  for (std::size_t i = 0; i < types; ++i) {
    if (request_latency_[i].count() == 0)
      continue;
    std::string label = "type=\"" + std::string{type_name_at(i)} + "\"";
    request_latency_[i].write(os, "courier_request_latency_us", label);
  }
  return os.str();
}

std::string_view node_metrics::rest_route_name(rest_route r) noexcept {
  switch (r) {
    case rest_route::orders_post: return "POST /v1/orders";
    case rest_route::order_get: return "GET /v1/orders/{id}";
    case rest_route::store_put: return "PUT /v1/stores/{id}";
    case rest_route::rider_history_get: return "GET /v1/riders/{id}/history";
    case rest_route::region_stats_get: return "GET /v1/regions/{cell}/stats";
    case rest_route::cells_get: return "GET /v1/cells";
    case rest_route::other: return "other";
  }
  return "other";
}

std::string node_metrics::rest_histograms() const {
  std::ostringstream os;
  os << "# HELP courier_rest_latency_us A /v1/ REST request read to its response handed "
        "to the connection, by route.\n"
        "# TYPE courier_rest_latency_us histogram\n";
  for (std::size_t i = 0; i < rest_routes; ++i) {
    if (rest_latency_[i].count() == 0)
      continue;
    std::string label =
        "route=\"" + std::string{rest_route_name(static_cast<rest_route>(i))} + "\"";
    rest_latency_[i].write(os, "courier_rest_latency_us", label);
  }
  return os.str();
}

std::string node_metrics::mailbox_metrics() const {
  std::ostringstream os;
  os << "# HELP courier_gateway_mailbox_depth Messages waiting in the gateway actor's "
        "mailbox (last sample).\n"
        "# TYPE courier_gateway_mailbox_depth gauge\n"
        "courier_gateway_mailbox_depth "
     << mailbox_last_.load(std::memory_order_relaxed) << "\n"
     << "# HELP courier_gateway_mailbox_depth_samples The gateway actor's mailbox depth, "
        "sampled every second.\n"
        "# TYPE courier_gateway_mailbox_depth_samples histogram\n";
  mailbox_.write(os, "courier_gateway_mailbox_depth_samples");
  return os.str();
}

} // namespace courier::node
