#include "storage/history.hpp"

namespace courier::storage {

std::string_view to_string(history_detail d) noexcept {
  return d == history_detail::raw ? "raw" : "minute";
}

std::optional<history_detail> history_detail_from_string(std::string_view text) noexcept {
  if (text == "raw")
    return history_detail::raw;
  if (text == "minute")
    return history_detail::minute;
  return std::nullopt;
}

std::string_view to_string(history_drop d) noexcept {
  switch (d) {
    case history_drop::late: return "late";
    case history_drop::future: return "future";
    case history_drop::riders: return "riders";
    case history_drop::disk_full: return "disk_full";
    case history_drop::segments: return "segments";
    case history_drop::write_error: return "write_error";
    case history_drop::out_of_order: return "out_of_order";
    case history_drop::invalid: return "invalid";
  }
  return "unknown";
}

core::result<core::unit_t> validate(const history_limits& l) {
  auto bad = [](const char* why) { return core::error{core::errc::bad_request, why}; };
  if (l.detail_spacing.count() <= 0 || l.flush_interval.count() <= 0)
    return bad("history: detail_spacing and flush_interval must be positive");
  if (l.detail_retention.count() <= 0 || l.detail_retention > l.aggregate_retention)
    return bad("history: 0 < detail_retention <= aggregate_retention");
  if (l.flush_interval + l.rider_idle >= l.seal_after)
    return bad("history: flush_interval + rider_idle must be below seal_after");
  if (l.run_samples_max == 0 || l.run_samples_max > 0xFFFF)
    return bad("history: run_samples_max in 1..65535");
  if (l.riders_max == 0 || l.buffer_samples_max == 0 || l.query_samples_max == 0 ||
      l.segment_riders_max == 0 || l.open_segments_max == 0 || l.hour_runs_max == 0 ||
      l.redis_keys_per_call_max == 0 || l.compact_riders_per_call == 0)
    return bad("history: every count bound must be positive");
  return core::unit;
}

history_stats& history_stats::operator+=(const history_stats& o) {
  points_in += o.points_in;
  points_thinned += o.points_thinned;
  for (std::size_t d = 0; d < history_details; ++d) {
    written[d] += o.written[d];
    pruned[d] += o.pruned[d];
    for (std::size_t r = 0; r < history_drop_reasons; ++r)
      dropped[d][r] += o.dropped[d][r];
  }
  segments_pruned += o.segments_pruned;
  write_failures += o.write_failures;
  torn_records += o.torn_records;
  torn_bytes += o.torn_bytes;
  index_rebuilds += o.index_rebuilds;
  compactions += o.compactions;
  queries += o.queries;
  query_errors += o.query_errors;
  query_us_max = query_us_max > o.query_us_max ? query_us_max : o.query_us_max;
  bytes += o.bytes;
  segments += o.segments;
  riders += o.riders;
  buffered += o.buffered;
  return *this;
}

std::uint64_t history_stats::dropped_total(history_detail d) const {
  std::uint64_t n = 0;
  for (auto v : dropped[static_cast<std::size_t>(d)])
    n += v;
  return n;
}

} // namespace courier::storage
