#include "tools/sim/latency.hpp"

#include "core/assert.hpp"

#include <algorithm>
#include <cmath>

namespace courier::sim {

latency_histogram::latency_histogram(std::size_t samples_max) : samples_max_(samples_max) {
  COURIER_ASSERT(samples_max > 0);
}

void latency_histogram::add(double ms) {
  if (!(ms >= 0))
    ms = 0; // clock granularity can make a same-host latency read as -0.x
  ++count_;
  sum_ += ms;
  max_ = std::max(max_, ms);
  if (samples_.size() < samples_max_) {
    samples_.push_back(ms);
    return;
  }
  auto j = std::uniform_int_distribution<std::uint64_t>(0, count_ - 1)(rng_);
  if (j < samples_max_)
    samples_[j] = ms;
}

latency_summary latency_histogram::summarize() const {
  latency_summary s;
  s.count = count_;
  if (count_ == 0)
    return s;
  std::vector<double> v = samples_;
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) {
    auto idx = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, idx == 0 ? 0 : idx - 1)];
  };
  s.p50_ms = rank(0.50);
  s.p90_ms = rank(0.90);
  s.p99_ms = rank(0.99);
  s.max_ms = max_;
  s.mean_ms = sum_ / static_cast<double>(count_);
  return s;
}

void position_matcher::on_sent(const core::rider_id& rider, std::int64_t time_ms,
                               std::int64_t sent_us) {
  auto it = riders_.find(rider);
  if (it == riders_.end()) {
    if (riders_.size() >= riders_max)
      return; // bounded: an unmatched push is counted by the caller
    it = riders_.emplace(rider, ring{}).first;
  }
  ring& r = it->second;
  r.slots[r.next] = {time_ms, sent_us};
  r.next = (r.next + 1) % positions_kept;
  r.size = std::min(r.size + 1, positions_kept);
}

std::optional<position_matcher::match>
position_matcher::find(const core::rider_id& rider, std::int64_t at_ms) const {
  auto it = riders_.find(rider);
  if (it == riders_.end())
    return std::nullopt;
  const ring& r = it->second;
  std::optional<match> best;
  std::int64_t best_time = 0;
  for (std::size_t i = 0; i < r.size; ++i) {
    auto [time_ms, sent_us] = r.slots[i];
    if (time_ms <= at_ms && (!best || time_ms > best_time)) {
      best = match{sent_us, time_ms == at_ms};
      best_time = time_ms;
    }
  }
  return best;
}

} // namespace courier::sim
