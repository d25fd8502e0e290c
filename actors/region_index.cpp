#include "actors/region_index.hpp"

#include "core/assert.hpp"
#include "geo/distance.hpp"
#include "geo/hierarchy.hpp"
#include "geo/indexing.hpp"

#include <algorithm>

namespace courier::actors {

core::result<geo::cell> region_cell_of(double lat, double lng, int index_res,
                                       int region_res) {
  COURIER_ASSERT(region_res <= index_res);
  auto fine = geo::lat_lng_to_cell(lat, lng, index_res);
  if (!fine)
    return fine.err();
  return geo::cell_to_parent(*fine, region_res);
}

double distance_between_m(double lat_a, double lng_a, double lat_b, double lng_b) {
  return geo::distance_m(geo::lat_lng{lat_a, lng_a}, geo::lat_lng{lat_b, lng_b});
}

namespace {

/// The keys of `riders` (an unordered_map whose values have `heard_ms`) not
/// heard from since `before_ms`, looking at about `scan_max` entries. A map
/// that small is scanned whole. A larger one is swept bucket by bucket from
/// `cursor`, which is left where the sweep stopped: a bucket index, not an
/// iterator, holds the place between calls, because erasing never rehashes
/// and an insert that rehashed meanwhile only moves the sweep elsewhere (a
/// full pass then takes a call or two more). A bucket is finished once
/// started, and an empty one counts as a look (a map that shrank keeps its
/// buckets).
template <class Map>
std::vector<std::string> silent_keys(const Map& riders, std::size_t& cursor,
                                     core::time_ms before_ms, std::size_t scan_max) {
  std::vector<std::string> out;
  if (riders.size() <= scan_max) {
    for (auto& [id, r] : riders)
      if (r.heard_ms < before_ms)
        out.push_back(id);
    return out;
  }
  auto buckets = riders.bucket_count();
  if (cursor >= buckets)
    cursor = 0;
  std::size_t looked = 0;
  for (std::size_t visited = 0; visited < buckets && looked < scan_max; ++visited) {
    for (auto it = riders.begin(cursor); it != riders.end(cursor); ++it) {
      ++looked;
      if (it->second.heard_ms < before_ms)
        out.push_back(it->first);
    }
    ++looked;
    cursor = (cursor + 1) % buckets;
  }
  return out;
}

} // namespace

// -- region_index -------------------------------------------------------------

region_index::upsert_outcome region_index::upsert(const indexed_rider& r) {
  auto it = riders_.find(r.rider_id);
  if (it == riders_.end()) {
    if (riders_.size() >= riders_max_)
      return upsert_outcome::full;
    riders_.emplace(r.rider_id, r);
    if (r.mode == rider_mode::available)
      ++available_;
    return upsert_outcome::inserted;
  }
  if (it->second.mode == rider_mode::available)
    --available_;
  it->second = r;
  if (r.mode == rider_mode::available)
    ++available_;
  COURIER_ASSERT(available_ <= riders_.size());
  return upsert_outcome::updated;
}

bool region_index::remove(const std::string& rider_id) {
  auto it = riders_.find(rider_id);
  if (it == riders_.end())
    return false;
  if (it->second.mode == rider_mode::available)
    --available_;
  riders_.erase(it);
  return true;
}

std::vector<nearby_rider> region_index::nearest(const rider_search& q) const {
  std::vector<nearby_rider> found;
  if (q.limit == 0)
    return found;
  auto closer = [](const nearby_rider& a, const nearby_rider& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m
                                        : a.rider_id < b.rider_id;
  };
  // A bounded max-heap of the best `limit` so far: O(n log limit).
  for (auto& [id, r] : riders_) {
    if (r.mode != rider_mode::available || r.at_ms < q.fresh_since_ms ||
        q.exclude.count(id) > 0)
      continue;
    auto d = distance_between_m(q.lat, q.lng, r.lat, r.lng);
    if (d > q.radius_m)
      continue;
    nearby_rider cand{id, r.lat, r.lng, d};
    if (found.size() < q.limit) {
      found.push_back(std::move(cand));
      std::push_heap(found.begin(), found.end(), closer);
    } else if (closer(cand, found.front())) {
      std::pop_heap(found.begin(), found.end(), closer);
      found.back() = std::move(cand);
      std::push_heap(found.begin(), found.end(), closer);
    }
  }
  std::sort_heap(found.begin(), found.end(), closer);
  COURIER_ASSERT(found.size() <= q.limit);
  return found;
}

std::vector<indexed_rider> region_index::all() const {
  std::vector<indexed_rider> out;
  out.reserve(riders_.size());
  for (auto& kv : riders_)
    out.push_back(kv.second);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.rider_id < b.rider_id; });
  return out;
}

void region_index::clear() {
  riders_.clear();
  available_ = 0;
}

std::vector<std::string> region_index::prune_silent(core::time_ms heard_before_ms,
                                                    std::size_t scan_max) {
  auto gone = silent_keys(riders_, sweep_bucket_, heard_before_ms, scan_max);
  for (auto& id : gone) {
    bool removed = remove(id);
    COURIER_ASSERT(removed);
  }
  COURIER_ASSERT(available_ <= riders_.size());
  return gone;
}

// -- order_stats --------------------------------------------------------------

namespace {
bool finished(msg::order_status s) {
  using st = msg::order_status;
  return s == st::delivered || s == st::rejected || s == st::cancelled ||
         s == st::payment_failed;
}
} // namespace

bool order_stats::apply(const std::string& order_id, msg::order_status to,
                        bool is_new, msg::order_status from) {
  auto it = active_.find(order_id);
  if (it == active_.end()) {
    // A repeated "new" after the order finished, or a move of an order we
    // never saw (stats started after it), is ignored rather than guessed.
    if (!is_new)
      return false;
    if (finished(to)) {
      finished_[to] += 1;
      return true;
    }
    if (active_.size() >= orders_max_)
      return false;
    active_.emplace(order_id, to);
    return true;
  }
  if (is_new || it->second != from)
    return false; // duplicate or stale delta: the current status wins
  if (finished(to)) {
    active_.erase(it);
    finished_[to] += 1;
  } else {
    it->second = to;
  }
  return true;
}

std::map<std::string, std::uint32_t> order_stats::by_status() const {
  std::map<std::string, std::uint32_t> out;
  for (auto& kv : active_)
    out[std::string{msg::to_string(kv.second)}] += 1;
  for (auto& kv : finished_)
    out[std::string{msg::to_string(kv.first)}] += kv.second;
  return out;
}

// -- split_directory ----------------------------------------------------------

split_directory::route split_directory::place(const std::string& rider_id,
                                              const std::string& child, rider_mode mode,
                                              core::time_ms heard_ms) {
  add_child(child);
  route r{child, {}};
  auto it = riders_.find(rider_id);
  if (it == riders_.end()) {
    riders_.emplace(rider_id, entry{child, mode, heard_ms});
  } else {
    if (it->second.child != child)
      r.left_child = it->second.child;
    if (it->second.mode == rider_mode::available)
      --available_;
    it->second = entry{child, mode, heard_ms};
  }
  if (mode == rider_mode::available)
    ++available_;
  COURIER_ASSERT(available_ <= riders_.size());
  return r;
}

std::string split_directory::remove(const std::string& rider_id) {
  auto it = riders_.find(rider_id);
  if (it == riders_.end())
    return {};
  auto child = it->second.child;
  if (it->second.mode == rider_mode::available)
    --available_;
  riders_.erase(it);
  return child;
}

void split_directory::restore(const std::string& rider_id, const std::string& child,
                              rider_mode mode, core::time_ms heard_ms) {
  place(rider_id, child, mode, heard_ms);
}

std::optional<core::time_ms> split_directory::heard_ms(const std::string& rider_id) const {
  auto it = riders_.find(rider_id);
  if (it == riders_.end())
    return std::nullopt;
  return it->second.heard_ms;
}

std::vector<std::pair<std::string, std::string>>
split_directory::prune_silent(core::time_ms heard_before_ms, std::size_t scan_max) {
  std::vector<std::pair<std::string, std::string>> gone;
  for (auto& id : silent_keys(riders_, sweep_bucket_, heard_before_ms, scan_max)) {
    auto child = remove(id);
    COURIER_ASSERT(!child.empty());
    gone.emplace_back(std::move(id), std::move(child));
  }
  COURIER_ASSERT(available_ <= riders_.size());
  return gone;
}

bool split_directory::add_child(const std::string& child) {
  auto pos = std::lower_bound(children_.begin(), children_.end(), child);
  if (pos != children_.end() && *pos == child)
    return false;
  COURIER_ASSERT(children_.size() < children_max);
  children_.insert(pos, child);
  return true;
}

void split_directory::clear() {
  riders_.clear();
  children_.clear();
  available_ = 0;
}

} // namespace courier::actors
