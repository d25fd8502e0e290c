#include "actors/location_history.hpp"

#include "core/assert.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <map>

namespace courier::actors {

namespace {

constexpr core::time_ms minute_ms = 60'000;
constexpr core::time_ms hour_ms = 3'600'000;

core::time_ms floor_to(core::time_ms t, core::time_ms unit) {
  return t >= 0 ? t - t % unit : t - (unit + t % unit) % unit;
}

std::string point_line(const history_point& p) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s\t%lld\t%.9f\t%.9f\n", p.rider_id.c_str(),
                static_cast<long long>(p.at_ms), p.lat, p.lng);
  return buf;
}

std::string minute_line(const std::string& rider, const history_minute& m) {
  char buf[180];
  std::snprintf(buf, sizeof buf, "%s\t%lld\t%u\t%.9f\t%.9f\n", rider.c_str(),
                static_cast<long long>(m.minute_ms), m.count, m.lat, m.lng);
  return buf;
}

/// Segment files of `dir`: (prefix, hour) -> name.
std::map<std::pair<std::string, std::int64_t>, std::string> segments(const std::string& dir) {
  std::map<std::pair<std::string, std::int64_t>, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return out;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    for (std::string prefix : {"detail-", "agg-"}) {
      if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + 4 &&
          name.compare(name.size() - 4, 4, ".tsv") == 0) {
        auto hour = std::strtoll(name.c_str() + prefix.size(), nullptr, 10);
        out[{prefix, hour}] = dir + "/" + name;
      }
    }
  }
  ::closedir(d);
  return out;
}

template <class Fn>
void for_each_line(const std::string& path, Fn fn) {
  auto* f = std::fopen(path.c_str(), "r");
  if (f == nullptr)
    return;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    std::vector<std::string> cols(1);
    for (char* c = buf; *c != 0 && *c != '\n'; ++c) {
      if (*c == '\t')
        cols.emplace_back();
      else
        cols.back().push_back(*c);
    }
    fn(cols);
  }
  std::fclose(f);
}

} // namespace

location_history::location_history(history_limits limits, std::string dir)
    : limits_(limits), dir_(std::move(dir)) {
  COURIER_ASSERT(limits_.detail_spacing.count() > 0);
  COURIER_ASSERT(limits_.detail_retention <= limits_.aggregate_retention);
  if (!dir_.empty())
    load_dir();
}

void location_history::add_locked(const history_point& p,
                                  std::vector<history_point>* detail_out) {
  auto it = tracks_.find(p.rider_id);
  if (it == tracks_.end()) {
    if (tracks_.size() >= limits_.riders_max) {
      stats_.refused += 1;
      return;
    }
    it = tracks_.emplace(p.rider_id, track{}).first;
  }
  auto& t = it->second;
  // Minute aggregate: a running mean of every point of the minute.
  auto minute = floor_to(p.at_ms, minute_ms);
  if (t.minutes.empty() || t.minutes.back().minute_ms < minute) {
    if (!t.minutes.empty() && !dir_.empty()) {
      auto& closed = t.minutes.back();
      append_file("agg-", floor_to(closed.minute_ms, hour_ms) / hour_ms,
                  minute_line(p.rider_id, closed));
    }
    t.minutes.push_back(history_minute{minute, 0, 0.0, 0.0});
    if (t.minutes.size() > limits_.minutes_per_rider_max()) {
      t.minutes.pop_front();
      stats_.shed += 1;
    }
  }
  if (t.minutes.back().minute_ms == minute) {
    auto& m = t.minutes.back();
    m.count += 1;
    m.lat += (p.lat - m.lat) / m.count;
    m.lng += (p.lng - m.lng) / m.count;
  }
  // Detail: one point per detail_spacing.
  if (!t.detail.empty() &&
      p.at_ms < t.detail.back().at_ms + limits_.detail_spacing.count()) {
    stats_.thinned += 1;
    return;
  }
  t.detail.push_back(p);
  stats_.written += 1;
  if (t.detail.size() > limits_.detail_per_rider_max()) {
    t.detail.pop_front();
    stats_.shed += 1;
  }
  if (detail_out != nullptr)
    detail_out->push_back(p);
}

void location_history::write(const std::vector<history_point>& batch) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<history_point> kept;
  for (auto& p : batch)
    add_locked(p, dir_.empty() ? nullptr : &kept);
  if (dir_.empty())
    return;
  std::map<std::int64_t, std::string> by_hour;
  for (auto& p : kept)
    by_hour[floor_to(p.at_ms, hour_ms) / hour_ms] += point_line(p);
  for (auto& [hour, lines] : by_hour)
    append_file("detail-", hour, lines);
}

void location_history::append_file(const std::string& prefix, std::int64_t hour,
                                   const std::string& lines) {
  auto path = dir_ + "/" + prefix + std::to_string(hour) + ".tsv";
  auto* f = std::fopen(path.c_str(), "a");
  if (f == nullptr || std::fwrite(lines.data(), 1, lines.size(), f) != lines.size())
    stats_.file_errors += 1;
  if (f != nullptr)
    std::fclose(f);
}

void location_history::load_dir() {
  for (auto& [key, path] : segments(dir_)) {
    bool detail = key.first == "detail-";
    for_each_line(path, [&](const std::vector<std::string>& c) {
      if (detail && c.size() == 4) {
        history_point p{c[0], std::strtod(c[2].c_str(), nullptr),
                        std::strtod(c[3].c_str(), nullptr),
                        std::strtoll(c[1].c_str(), nullptr, 10)};
        auto& t = tracks_[p.rider_id];
        if (t.detail.size() < limits_.detail_per_rider_max())
          t.detail.push_back(std::move(p));
      } else if (!detail && c.size() == 5) {
        auto& t = tracks_[c[0]];
        if (t.minutes.size() < limits_.minutes_per_rider_max())
          t.minutes.push_back(history_minute{
              std::strtoll(c[1].c_str(), nullptr, 10),
              static_cast<std::uint32_t>(std::strtoul(c[2].c_str(), nullptr, 10)),
              std::strtod(c[3].c_str(), nullptr), std::strtod(c[4].c_str(), nullptr)});
      }
    });
  }
}

std::vector<history_point> location_history::detail(const std::string& rider_id,
                                                    core::time_ms from_ms,
                                                    core::time_ms to_ms) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<history_point> out;
  auto it = tracks_.find(rider_id);
  if (it == tracks_.end())
    return out;
  for (auto& p : it->second.detail)
    if (p.at_ms >= from_ms && p.at_ms < to_ms && out.size() < limits_.query_points_max)
      out.push_back(p);
  return out;
}

std::vector<history_minute> location_history::minutes(const std::string& rider_id,
                                                      core::time_ms from_ms,
                                                      core::time_ms to_ms) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<history_minute> out;
  auto it = tracks_.find(rider_id);
  if (it == tracks_.end())
    return out;
  for (auto& m : it->second.minutes)
    if (m.minute_ms >= from_ms && m.minute_ms < to_ms &&
        out.size() < limits_.query_points_max)
      out.push_back(m);
  return out;
}

void location_history::prune(core::time_ms now_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto detail_cut = now_ms - limits_.detail_retention.count();
  auto minute_cut = now_ms - limits_.aggregate_retention.count();
  for (auto it = tracks_.begin(); it != tracks_.end();) {
    auto& t = it->second;
    while (!t.detail.empty() && t.detail.front().at_ms < detail_cut) {
      t.detail.pop_front();
      stats_.pruned += 1;
    }
    while (!t.minutes.empty() && t.minutes.front().minute_ms < minute_cut) {
      t.minutes.pop_front();
      stats_.pruned += 1;
    }
    it = t.detail.empty() && t.minutes.empty() ? tracks_.erase(it) : std::next(it);
  }
  if (dir_.empty())
    return;
  // A segment goes when its whole hour is out of the window.
  for (auto& [key, path] : segments(dir_)) {
    auto cut = key.first == "detail-" ? detail_cut : minute_cut;
    if ((key.second + 1) * hour_ms <= cut)
      std::remove(path.c_str());
  }
}

history_stats location_history::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats_;
}

std::size_t location_history::riders() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return tracks_.size();
}

} // namespace courier::actors
