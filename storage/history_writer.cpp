#include "storage/history_writer.hpp"

#include "core/assert.hpp"
#include "storage/history_format.hpp"

#include <algorithm>
#include <tuple>

namespace courier::storage {

history_writer::history_writer(std::unique_ptr<history_backend> backend, history_limits limits)
    : backend_(std::move(backend)), limits_(limits) {
  COURIER_ASSERT(backend_ != nullptr);
  COURIER_ASSERT(validate(limits_).ok());
  pending_.reserve(std::min<std::size_t>(limits_.buffer_samples_max, 4096));
}

void history_writer::drop(history_detail d, history_drop why) {
  stats_.dropped[static_cast<std::size_t>(d)][static_cast<std::size_t>(why)] += 1;
}

void history_writer::buffer(const std::string& rider, history_detail d,
                            const history_sample& s) {
  pending_.push_back(pending_sample{&rider, d, s});
}

void history_writer::close_minute(const std::string& rider, rider_state& r) {
  if (!r.minute_open)
    return;
  COURIER_ASSERT(r.minute_count > 0);
  buffer(rider, history_detail::minute,
         history_sample{r.minute_ms, r.lat_sum / r.minute_count, r.lng_sum / r.minute_count,
                        r.minute_count});
  r.minute_open = false;
  r.minute_count = 0;
  r.lat_sum = r.lng_sum = 0.0;
}

void history_writer::add(const history_point& p, core::time_ms now_ms) {
  stats_.points_in += 1;
  if (p.rider_id.empty() || p.rider_id.size() > history_rider_bytes_max ||
      !(p.lat >= -90.0 && p.lat <= 90.0 && p.lng >= -180.0 && p.lng <= 180.0))
    return drop(history_detail::raw, history_drop::invalid);
  if (p.at_ms > now_ms + limits_.future_max.count())
    return drop(history_detail::raw, history_drop::future);
  const core::time_ms hour_end = (history_hour_of(p.at_ms) + 1) * history_hour_ms;
  if (p.at_ms < 0 || hour_end + limits_.seal_after.count() <= now_ms)
    return drop(history_detail::raw, history_drop::late);
  auto it = riders_.find(p.rider_id);
  if (it == riders_.end()) {
    if (riders_.size() >= limits_.riders_max)
      return drop(history_detail::raw, history_drop::riders);
    it = riders_.emplace(p.rider_id, rider_state{}).first;
  }
  const std::string& key = it->first;
  auto& r = it->second;
  r.seen_ms = now_ms;
  const core::time_ms minute = history_floor_div(p.at_ms, history_minute_ms) * history_minute_ms;
  if (r.minute_open && minute > r.minute_ms)
    close_minute(key, r);
  if (!r.minute_open) {
    r.minute_open = true;
    r.minute_ms = minute;
  }
  if (minute == r.minute_ms) {
    r.minute_count += 1;
    r.lat_sum += p.lat;
    r.lng_sum += p.lng;
  } else {
    drop(history_detail::minute, history_drop::out_of_order);
  }
  if (r.has_raw && p.at_ms < r.last_raw_ms + limits_.detail_spacing.count()) {
    stats_.points_thinned += 1;
  } else {
    r.has_raw = true;
    r.last_raw_ms = p.at_ms;
    buffer(key, history_detail::raw, history_sample{p.at_ms, p.lat, p.lng, 1});
  }
  if (pending_.size() >= limits_.buffer_samples_max)
    flush(now_ms);
  COURIER_ASSERT(pending_.size() < limits_.buffer_samples_max + 2);
}

void history_writer::tick(core::time_ms now_ms) {
  if (!flushed_once_) {
    flushed_once_ = true;
    last_flush_ms_ = now_ms;
  }
  if (now_ms - last_flush_ms_ >= limits_.flush_interval.count())
    flush(now_ms);
  backend_->maintain(now_ms);
}

void history_writer::flush(core::time_ms now_ms) {
  for (auto& [rider, r] : riders_)
    if (r.minute_open && now_ms - r.seen_ms >= limits_.rider_idle.count())
      close_minute(rider, r);
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const pending_sample& a, const pending_sample& b) {
                     return std::tie(*a.rider, a.detail, a.sample.at_ms) <
                            std::tie(*b.rider, b.detail, b.sample.at_ms);
                   });
  std::vector<history_run> runs;
  for (auto& p : pending_) {
    const auto hour = history_hour_of(p.sample.at_ms);
    if (runs.empty() || runs.back().rider_id != *p.rider || runs.back().detail != p.detail ||
        runs.back().hour != hour)
      runs.push_back(history_run{*p.rider, p.detail, hour, {}});
    runs.back().samples.push_back(p.sample);
  }
  pending_.clear();
  if (!runs.empty())
    backend_->append(runs, now_ms);
  // Idle riders leave RAM only now: nothing buffered points at their keys.
  for (auto it = riders_.begin(); it != riders_.end();) {
    if (!it->second.minute_open && now_ms - it->second.seen_ms >= limits_.rider_idle.count())
      it = riders_.erase(it);
    else
      ++it;
  }
  flushed_once_ = true;
  last_flush_ms_ = now_ms;
  COURIER_ASSERT(pending_.empty());
}

void history_writer::close(core::time_ms now_ms) {
  for (auto& [rider, r] : riders_)
    close_minute(rider, r);
  flush(now_ms);
  backend_->sync();
}

void history_writer::buffered_of(const std::string& rider_id, history_detail d,
                                 core::time_ms from_ms, core::time_ms to_ms,
                                 std::vector<history_sample>& out) const {
  auto in_range = [&](core::time_ms t) { return t >= from_ms && t < to_ms; };
  for (auto& p : pending_)
    if (p.detail == d && in_range(p.sample.at_ms) && *p.rider == rider_id)
      out.push_back(p.sample);
  if (d != history_detail::minute)
    return;
  auto it = riders_.find(rider_id);
  if (it != riders_.end() && it->second.minute_open && in_range(it->second.minute_ms)) {
    auto& r = it->second;
    out.push_back(history_sample{r.minute_ms, r.lat_sum / r.minute_count,
                                 r.lng_sum / r.minute_count, r.minute_count});
  }
}

core::result<history_page> history_writer::query(const std::string& rider_id,
                                                 history_detail d, core::time_ms from_ms,
                                                 core::time_ms to_ms, core::time_ms now_ms) {
  stats_.queries += 1;
  history_page page;
  const core::time_ms oldest = now_ms - limits_.retention(d).count();
  if (from_ms < oldest) {
    from_ms = oldest;
    page.truncated = true;
  }
  to_ms = std::min(to_ms, now_ms + limits_.future_max.count() + 1);
  page.from_ms = from_ms;
  page.to_ms = std::max(from_ms, to_ms);
  if (from_ms >= to_ms)
    return page;
  auto stored = backend_->read(rider_id, d, from_ms, to_ms, limits_.query_samples_max);
  if (!stored) {
    stats_.query_errors += 1;
    return stored.err();
  }
  std::vector<history_sample> samples = std::move(stored->samples);
  std::vector<history_sample> buffered;
  buffered_of(rider_id, d, from_ms, to_ms, buffered);
  if (stored->truncated && !samples.empty()) {
    // The store stopped at its last sample: what is buffered past it may
    // have stored samples before it, so the answer ends there.
    auto last = samples.back().at_ms;
    buffered.erase(std::remove_if(buffered.begin(), buffered.end(),
                                  [&](const history_sample& s) { return s.at_ms > last; }),
                   buffered.end());
  }
  samples.insert(samples.end(), buffered.begin(), buffered.end());
  merge_history_samples(samples, d);
  page.truncated = page.truncated || stored->truncated;
  if (samples.size() > limits_.query_samples_max) {
    samples.resize(limits_.query_samples_max);
    page.truncated = true;
  }
  page.samples = std::move(samples);
  return page;
}

void history_writer::observe_query_us(std::uint64_t us) noexcept {
  stats_.query_us_max = std::max(stats_.query_us_max, us);
}

history_stats history_writer::stats() const {
  history_stats s = stats_;
  s += backend_->stats();
  s.riders = riders_.size();
  s.buffered = pending_.size();
  return s;
}

void merge_history_samples(std::vector<history_sample>& samples, history_detail d) {
  std::stable_sort(samples.begin(), samples.end(),
                   [](const history_sample& a, const history_sample& b) {
                     return a.at_ms < b.at_ms;
                   });
  std::size_t out = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (out > 0 && samples[out - 1].at_ms == samples[i].at_ms) {
      if (d == history_detail::minute) {
        auto& m = samples[out - 1];
        const double a = m.count, b = samples[i].count;
        m.lat = (m.lat * a + samples[i].lat * b) / (a + b);
        m.lng = (m.lng * a + samples[i].lng * b) / (a + b);
        m.count += samples[i].count;
      }
      continue;
    }
    samples[out++] = samples[i];
  }
  samples.resize(out);
}

} // namespace courier::storage
