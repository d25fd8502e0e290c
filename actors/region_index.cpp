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
  tombstones_.erase(r.rider_id); // newer than the leave (is_newer said so)
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

const indexed_rider* region_index::find(const std::string& rider_id) const {
  auto it = riders_.find(rider_id);
  return it == riders_.end() ? nullptr : &it->second;
}

void region_index::expire_tombstones(core::time_ms now_ms) {
  // The queue may hold superseded entries (a rider that left twice); it is
  // held to twice the tombstone bound by dropping from its front.
  while (!tombstone_order_.empty()) {
    const auto& [id, at] = tombstone_order_.front();
    auto it = tombstones_.find(id);
    bool live = it != tombstones_.end() && it->second.at_ms == at;
    bool expired = now_ms - at > region_tombstone_ttl_ms;
    bool over = tombstones_.size() > region_tombstones_max ||
                tombstone_order_.size() > 2 * region_tombstones_max;
    if (live && !expired && !over)
      break;
    if (live)
      tombstones_.erase(it);
    tombstone_order_.pop_front();
  }
  COURIER_ASSERT(tombstones_.size() <= region_tombstones_max);
  COURIER_ASSERT(tombstone_order_.size() <= 2 * region_tombstones_max);
}

bool region_index::is_newer(const std::string& rider_id, std::uint64_t seq, arrival how,
                            core::time_ms now_ms) const {
  if (how == arrival::direct)
    return true;
  auto t = tombstones_.find(rider_id);
  if (t != tombstones_.end() && now_ms - t->second.at_ms <= region_tombstone_ttl_ms &&
      seq < t->second.seq)
    return false;
  auto it = riders_.find(rider_id);
  if (it == riders_.end())
    return true;
  if (seq < it->second.seq)
    return false;
  return seq > it->second.seq || it->second.how == arrival::forwarded;
}

bool region_index::leave(const std::string& rider_id, std::uint64_t seq, arrival how,
                         core::time_ms now_ms) {
  bool removed = false;
  auto it = riders_.find(rider_id);
  if (it != riders_.end() && (how == arrival::direct || it->second.seq < seq))
    removed = remove(rider_id);
  if (!contains(rider_id)) {
    auto& t = tombstones_[rider_id];
    t.seq = std::max(t.seq, seq);
    t.at_ms = now_ms;
    tombstone_order_.emplace_back(rider_id, now_ms);
  }
  expire_tombstones(now_ms);
  return removed;
}

void region_index::clear_tombstones() {
  tombstones_.clear();
  tombstone_order_.clear();
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

std::vector<indexed_rider> region_index::some(std::size_t n) const {
  std::vector<indexed_rider> out;
  for (auto& kv : riders_) {
    if (out.size() == n)
      break;
    out.push_back(kv.second);
  }
  return out;
}

void region_index::clear() {
  riders_.clear();
  available_ = 0;
  clear_tombstones();
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
bool is_finished(msg::order_status s) {
  using st = msg::order_status;
  return s == st::delivered || s == st::rejected || s == st::cancelled ||
         s == st::payment_failed;
}
} // namespace

bool order_stats::apply(const std::string& order_id, msg::order_status to,
                        bool is_new, msg::order_status from, const order_place& place) {
  auto it = active_.find(order_id);
  if (it == active_.end()) {
    // A repeated "new" after the order finished, or a move of an order we
    // never saw (stats started after it), is ignored rather than guessed.
    if (!is_new)
      return false;
    if (is_finished(to)) {
      finished_[to] += 1;
      return true;
    }
    if (active_.size() >= orders_max_)
      return false;
    active_.emplace(order_id, entry{to, place});
    return true;
  }
  if (is_new || it->second.status != from)
    return false; // duplicate or stale delta: the current status wins
  if (is_finished(to)) {
    active_.erase(it);
    finished_[to] += 1;
  } else {
    it->second.status = to;
  }
  return true;
}

std::map<std::string, std::uint32_t> order_stats::by_status() const {
  std::map<std::string, std::uint32_t> out;
  for (auto& kv : active_)
    out[std::string{msg::to_string(kv.second.status)}] += 1;
  for (auto& kv : finished_)
    out[std::string{msg::to_string(kv.first)}] += kv.second;
  return out;
}

std::vector<active_order> order_stats::active_orders() const {
  std::vector<active_order> out;
  out.reserve(active_.size());
  for (auto& [id, e] : active_)
    out.push_back(active_order{id, e.status, e.place});
  std::sort(out.begin(), out.end(),
            [](auto& a, auto& b) { return a.order_id < b.order_id; });
  return out;
}

std::vector<active_order> order_stats::some(std::size_t n) const {
  std::vector<active_order> out;
  for (auto& [id, e] : active_) {
    if (out.size() == n)
      break;
    out.push_back(active_order{id, e.status, e.place});
  }
  return out;
}

bool order_stats::remove(const std::string& order_id) { return active_.erase(order_id) > 0; }

void order_stats::add_finished(msg::order_status status, std::uint32_t count) {
  COURIER_ASSERT(is_finished(status));
  if (count > 0)
    finished_[status] += count;
}

void order_stats::clear() {
  active_.clear();
  finished_.clear();
}

// -- split_children -----------------------------------------------------------

void split_children::start(const std::vector<std::string>& children) {
  COURIER_ASSERT(children.size() <= children_max);
  loads_.clear();
  for (auto& c : children)
    loads_[c] = load{};
}

bool split_children::set_load(const std::string& child, std::uint32_t available,
                              std::uint32_t busy, bool reported) {
  auto it = loads_.find(child);
  if (it == loads_.end())
    return false;
  it->second.available = available;
  it->second.busy = busy;
  it->second.reported |= reported;
  return true;
}

bool split_children::all_reported() const noexcept {
  for (auto& kv : loads_)
    if (!kv.second.reported)
      return false;
  return !loads_.empty();
}

void split_children::forget_reports() {
  for (auto& kv : loads_)
    kv.second = load{};
}

std::uint32_t split_children::available() const noexcept {
  std::uint32_t n = 0;
  for (auto& kv : loads_)
    n += kv.second.available;
  return n;
}

std::uint32_t split_children::busy() const noexcept {
  std::uint32_t n = 0;
  for (auto& kv : loads_)
    n += kv.second.busy;
  return n;
}

std::vector<std::string> split_children::children() const {
  std::vector<std::string> out;
  for (auto& kv : loads_)
    out.push_back(kv.first);
  return out;
}

} // namespace courier::actors
