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
