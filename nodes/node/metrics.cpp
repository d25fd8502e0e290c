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

void node_metrics::dispatch_latency_ms(std::uint64_t ms) noexcept {
  std::size_t i = 0;
  while (i < dispatch_buckets_ms.size() && ms > dispatch_buckets_ms[i])
    ++i;
  dispatch_counts_[i].fetch_add(1, std::memory_order_relaxed);
  dispatch_sum_ms_.fetch_add(ms, std::memory_order_relaxed);
}

std::string node_metrics::dispatch_histogram() const {
  std::ostringstream os;
  os << "# HELP courier_dispatch_latency_ms Store accept to rider assigned.\n"
        "# TYPE courier_dispatch_latency_ms histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < dispatch_buckets_ms.size(); ++i) {
    cumulative += dispatch_counts_[i].load(std::memory_order_relaxed);
    os << "courier_dispatch_latency_ms_bucket{le=\"" << dispatch_buckets_ms[i]
       << "\"} " << cumulative << '\n';
  }
  cumulative += dispatch_counts_.back().load(std::memory_order_relaxed);
  os << "courier_dispatch_latency_ms_bucket{le=\"+Inf\"} " << cumulative << '\n'
     << "courier_dispatch_latency_ms_sum " << dispatch_sum_ms_.load() << '\n'
     << "courier_dispatch_latency_ms_count " << cumulative << '\n';
  return os.str();
}

} // namespace courier::node
