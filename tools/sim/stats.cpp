#include "tools/sim/stats.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace courier::sim {
namespace {

constexpr std::size_t errc_count = 11;
static_assert(static_cast<std::size_t>(core::errc::internal) + 1 == errc_count);

std::string errors_text(const counter_values& c) {
  std::ostringstream os;
  bool any = false;
  for (std::size_t i = 1; i < errc_count; ++i) {
    if (c.errors[i] == 0)
      continue;
    os << (any ? " " : "") << core::to_string(static_cast<core::errc>(i)) << '=' << c.errors[i];
    any = true;
  }
  return any ? os.str() : "none";
}

const char* metric_text(metric m) noexcept {
  switch (m) {
#define COURIER_SIM_CASE(name, text)                                           \
  case metric::name:                                                           \
    return text;
    COURIER_SIM_LATENCIES(COURIER_SIM_CASE)
#undef COURIER_SIM_CASE
  case metric::count_:
    break;
  }
  return "?";
}

} // namespace

const char* metric_name(metric m) noexcept {
  switch (m) {
#define COURIER_SIM_CASE(name, text)                                           \
  case metric::name:                                                           \
    return #name;
    COURIER_SIM_LATENCIES(COURIER_SIM_CASE)
#undef COURIER_SIM_CASE
  case metric::count_:
    break;
  }
  return "?";
}

std::uint64_t sim_stats::count_error(core::errc code) noexcept {
  auto i = static_cast<std::size_t>(code);
  if (i >= errc_count)
    return 0;
  return errors_[i].fetch_add(1, std::memory_order_relaxed);
}

std::array<latency_histogram, metric_count> sim_stats::fresh_window() {
  std::array<latency_histogram, metric_count> w;
  for (auto& h : w)
    h = latency_histogram{window_samples_max};
  return w;
}

void sim_stats::add(metric m, double ms) {
  std::lock_guard lock(mutex_);
  histograms_[static_cast<std::size_t>(m)].add(ms);
  window_[static_cast<std::size_t>(m)].add(ms);
}

std::array<latency_summary, metric_count> sim_stats::take_window() {
  std::array<latency_summary, metric_count> out;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < metric_count; ++i)
    out[i] = window_[i].summarize();
  window_ = fresh_window();
  return out;
}

void sim_stats::position_sent(const core::rider_id& rider, std::int64_t time_ms,
                              std::int64_t sent_us) {
  std::lock_guard lock(mutex_);
  matcher_.on_sent(rider, time_ms, sent_us);
}

void sim_stats::position_received(const core::rider_id& rider, std::int64_t at_ms,
                                  std::int64_t recv_us) {
  std::lock_guard lock(mutex_);
  auto m = matcher_.find(rider, at_ms);
  if (!m) {
    unmatched_positions.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  exact_matches_ += m->exact ? 1 : 0;
  auto ms = static_cast<double>(recv_us - m->sent_us) / 1000.0;
  histograms_[static_cast<std::size_t>(metric::position_to_push)].add(ms);
  window_[static_cast<std::size_t>(metric::position_to_push)].add(ms);
}

void sim_stats::reset_latencies() {
  std::lock_guard lock(mutex_);
  for (auto& h : histograms_)
    h = latency_histogram{};
  window_ = fresh_window();
  exact_matches_ = 0;
}

counter_values sim_stats::counters() const {
  counter_values c;
#define COURIER_SIM_LOAD(name) c.name = name.load(std::memory_order_relaxed);
  COURIER_SIM_COUNTERS(COURIER_SIM_LOAD)
#undef COURIER_SIM_LOAD
  for (std::size_t i = 0; i < errc_count; ++i)
    c.errors[i] = errors_[i].load(std::memory_order_relaxed);
  return c;
}

sim_report sim_stats::report(double elapsed_s, std::uint64_t seed, std::string transport) const {
  sim_report r;
  r.counters = counters();
  r.elapsed_s = elapsed_s;
  r.seed = seed;
  r.transport = std::move(transport);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < metric_count; ++i)
    r.latencies[i] = histograms_[i].summarize();
  r.exact_position_matches = exact_matches_;
  return r;
}

std::string progress_line(const counter_values& c, double elapsed_s,
                          const std::array<latency_summary, metric_count>* window) {
  std::ostringstream os;
  os << "t=" << static_cast<long long>(elapsed_s) << "s"
     << " orders sent=" << c.orders_sent << " placed=" << c.orders_placed
     << " accepted=" << c.orders_accepted << " assigned=" << c.orders_assigned
     << " delivered=" << c.orders_delivered << " failed=" << c.orders_failed
     << " shed=" << c.orders_shed << " | positions=" << c.positions_sent
     << " acks=" << c.acks << " | pushes status=" << c.push_order_status
     << " pos=" << c.push_rider_position << " nearby=" << c.push_rider_nearby
     << " | offers=" << c.offers << " | conns=" << c.welcomes << " lost=" << c.disconnects
     << " | errors " << errors_text(c);
  if (window) {
    os << " | p99_ms";
    for (std::size_t i = 0; i < metric_count; ++i) {
      os << ' ' << metric_name(static_cast<metric>(i)) << '=';
      const auto& w = (*window)[i];
      if (w.count == 0)
        os << '-';
      else
        os << w.p99_ms;
    }
  }
  return os.str();
}

std::string summary_text(const sim_report& r) {
  const auto& c = r.counters;
  std::ostringstream os;
  os << "courier-sim summary (seed " << r.seed << ", transport " << r.transport << ", "
     << static_cast<long long>(r.elapsed_s) << " s)\n";
#define COURIER_SIM_LINE(name) os << "  " #name " " << c.name << '\n';
  COURIER_SIM_COUNTERS(COURIER_SIM_LINE)
#undef COURIER_SIM_LINE
  os << "  errors " << errors_text(c) << '\n';
  os << "latency (ms)                 count      p50      p90      p99      max\n";
  for (std::size_t i = 0; i < metric_count; ++i) {
    const auto& l = r.latencies[i];
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %8llu %8.1f %8.1f %8.1f %8.1f\n",
                  metric_name(static_cast<metric>(i)),
                  static_cast<unsigned long long>(l.count), l.p50_ms, l.p90_ms, l.p99_ms,
                  l.max_ms);
    os << line;
  }
  os << "  (position_to_push: " << r.exact_position_matches
     << " matched at_ms == time_ms exactly, the rest by the rider's latest earlier send)\n";
  for (std::size_t i = 0; i < metric_count; ++i)
    os << "  " << metric_name(static_cast<metric>(i)) << ": "
       << metric_text(static_cast<metric>(i)) << '\n';
  return os.str();
}

std::string summary_json(const sim_report& r) {
  const auto& c = r.counters;
  nlohmann::json j;
  j["seed"] = r.seed;
  j["transport"] = r.transport;
  j["elapsed_s"] = r.elapsed_s;
#define COURIER_SIM_JSON(name) j["counters"][#name] = c.name;
  COURIER_SIM_COUNTERS(COURIER_SIM_JSON)
#undef COURIER_SIM_JSON
  j["errors"] = nlohmann::json::object();
  for (std::size_t i = 1; i < errc_count; ++i)
    if (c.errors[i] != 0)
      j["errors"][std::string(core::to_string(static_cast<core::errc>(i)))] = c.errors[i];
  for (std::size_t i = 0; i < metric_count; ++i) {
    const auto& l = r.latencies[i];
    j["latency_ms"][metric_name(static_cast<metric>(i))] = {
        {"count", l.count}, {"p50", l.p50_ms}, {"p90", l.p90_ms},
        {"p99", l.p99_ms},  {"max", l.max_ms}, {"mean", l.mean_ms}};
  }
  j["exact_position_matches"] = r.exact_position_matches;
  return j.dump(2);
}

} // namespace courier::sim
