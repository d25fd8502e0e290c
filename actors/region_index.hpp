#pragma once
/// \file
/// What a region entity (one H3 cell) knows, as plain classes without CAF:
/// - region_index: the riders in the cell by position, with a bounded
///   nearest-first search (dispatch's region_find_riders);
/// - order_stats: orders by status from region_order_delta, for live stats;
/// - split_children: the bookkeeping of a hot cell split into its children
///   (their reported rider counts, for the merge decision), see
///   region_actor.hpp for the protocol.
/// Plus the two geo helpers every rider-side entity shares: the region cell
/// of a point and the distance between two points (both delegate to geo/).

#include "core/clock.hpp"
#include "core/result.hpp"
#include "geo/cell.hpp"
#include "messages/domain.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace courier::actors {

/// The cell at `region_res` containing (lat,lng): the point is indexed once
/// at `index_res` (the finest resolution riders are tracked at) and the
/// region is its parent, so every entity derives the same region for a
/// point whatever resolution it needs (DESIGN: children are not exactly
/// inside their parent, so "index at region_res directly" could disagree).
core::result<geo::cell> region_cell_of(double lat, double lng, int index_res,
                                       int region_res);

/// Great-circle distance in metres (geo::distance_m).
double distance_between_m(double lat_a, double lng_a, double lat_b, double lng_b);

/// Whether a rider can take offers (offline riders are not indexed).
enum class rider_mode : std::uint8_t { available, busy };

/// How a rider's message reached a cell: straight from the rider (one
/// sender to one cell: in order) or forwarded by another cell (a second
/// path, which can be overtaken by the rider's own newer messages).
enum class arrival : std::uint8_t { direct, forwarded };

/// Leaves a cell remembers (rider -> seq) so a late forwarded update
/// cannot bring back a rider that left: at most this many ...
inline constexpr std::size_t region_tombstones_max = 4096;
/// ... for at most this long (a forward is a hop or two: milliseconds).
inline constexpr core::time_ms region_tombstone_ttl_ms = 30'000;

/// One rider as its region knows it.
struct indexed_rider {
  std::string rider_id;
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0; ///< the position's time (the rider's clock)
  rider_mode mode = rider_mode::available;
  /// When the region last heard of the rider, by the region's clock: what
  /// silence is measured by (a phone's clock may be off by minutes).
  core::time_ms heard_ms = 0;
  std::uint64_t seq = 0; ///< the rider's seq of this entry (region_rider_update)
  arrival how = arrival::direct; ///< how this entry's update came
};

/// One search result.
struct nearby_rider {
  std::string rider_id;
  double lat = 0.0;
  double lng = 0.0;
  double distance_m = 0.0;
};

/// A nearest-rider search: available riders whose position is at least as
/// recent as `fresh_since_ms`, within `radius_m` of (lat,lng), nearest
/// first, at most `limit`, skipping `exclude`.
struct rider_search {
  double lat = 0.0;
  double lng = 0.0;
  double radius_m = 0.0;
  std::uint32_t limit = 0;
  core::time_ms fresh_since_ms = 0;
  std::unordered_set<std::string> exclude;
};

/// Riders of one cell by id. Bounded: an update for a new rider beyond
/// `riders_max` is refused (and counted by the caller).
class region_index {
public:
  explicit region_index(std::size_t riders_max) : riders_max_(riders_max) {}

  enum class upsert_outcome { inserted, updated, full };

  /// Inserts or replaces a rider's entry.
  upsert_outcome upsert(const indexed_rider& r);
  /// Removes a rider; false if it was not here.
  bool remove(const std::string& rider_id);
  /// True if the rider is indexed.
  bool contains(const std::string& rider_id) const {
    return riders_.count(rider_id) > 0;
  }
  /// The rider's entry, or null.
  const indexed_rider* find(const std::string& rider_id) const;

  /// Whether an update of the rider at `seq` that came `how` is newer than
  /// what the cell holds: the rider's own messages always are (in order,
  /// and its seq may restart lower after a crash); a forwarded one is not
  /// if older than the entry or a leave remembered since `now_ms` minus
  /// region_tombstone_ttl_ms, nor if as old as an entry that came direct
  /// (the rider went direct after the forward was sent).
  bool is_newer(const std::string& rider_id, std::uint64_t seq, arrival how,
                core::time_ms now_ms) const;
  /// The rider left from its position `seq` on: removes its entry if older
  /// (or unconditionally if the leave came direct) and remembers the leave
  /// (bounded: region_tombstones_max, region_tombstone_ttl_ms). True if an
  /// entry was removed.
  bool leave(const std::string& rider_id, std::uint64_t seq, arrival how,
             core::time_ms now_ms);
  std::size_t tombstones() const noexcept { return tombstones_.size(); }
  void clear_tombstones();

  /// Nearest first, ties broken by rider id (deterministic).
  std::vector<nearby_rider> nearest(const rider_search& q) const;

  std::size_t size() const noexcept { return riders_.size(); }
  std::uint32_t available() const noexcept { return available_; }
  std::uint32_t busy() const noexcept { return static_cast<std::uint32_t>(size()) - available_; }
  /// Every entry, sorted by rider id (for handing riders over in a split).
  std::vector<indexed_rider> all() const;
  /// At most `n` entries, in no particular order (the live map).
  std::vector<indexed_rider> some(std::size_t n) const;
  /// Forgets riders and tombstones.
  void clear();

  /// Removes riders not heard from since `heard_before_ms`, looking at about
  /// `scan_max` entries (one sweep; the next call goes on where it stopped,
  /// so repeated calls cover every rider). Returns the ids removed.
  std::vector<std::string> prune_silent(core::time_ms heard_before_ms, std::size_t scan_max);

private:
  struct tombstone {
    std::uint64_t seq = 0;
    core::time_ms at_ms = 0;
  };
  void expire_tombstones(core::time_ms now_ms);

  std::size_t riders_max_;
  std::unordered_map<std::string, indexed_rider> riders_;
  std::uint32_t available_ = 0;
  std::size_t sweep_bucket_ = 0; ///< where the next prune_silent starts
  std::unordered_map<std::string, tombstone> tombstones_;
  /// Tombstones oldest first (rider, when); an entry whose rider has a
  /// newer tombstone (or none) is skipped when it reaches the front.
  std::deque<std::pair<std::string, core::time_ms>> tombstone_order_;
};

/// Where an order is: its store (what places it in a cell of a split
/// region) and its drop-off (what the live map draws).
struct order_place {
  double store_lat = 0.0;
  double store_lng = 0.0;
  double dropoff_lat = 0.0;
  double dropoff_lng = 0.0;
};

/// One active order as a cell holds it (handed between cells on a split
/// or a merge).
struct active_order {
  std::string order_id;
  msg::order_status status = msg::order_status::placed;
  order_place place;
};

/// Orders by status in a cell. Active orders are kept by id so a repeated
/// delta (at-least-once delivery) is not counted twice; finished ones
/// (delivered, rejected, cancelled, payment_failed) become cumulative
/// counters. Bounded by `orders_max` active orders.
class order_stats {
public:
  explicit order_stats(std::size_t orders_max) : orders_max_(orders_max) {}

  /// Applies "order entered `to`" (from `from` unless `is_new`) at
  /// `place`. False if ignored: a duplicate, an unknown order, or the
  /// bound reached.
  bool apply(const std::string& order_id, msg::order_status to, bool is_new,
             msg::order_status from, const order_place& place = {});
  /// Status spelling -> count (active by current status, finished cumulative).
  std::map<std::string, std::uint32_t> by_status() const;
  std::size_t active() const noexcept { return active_.size(); }
  /// Every active order, sorted by id.
  std::vector<active_order> active_orders() const;
  /// At most `n` active orders, in no particular order (the live map).
  std::vector<active_order> some(std::size_t n) const;
  /// Removes an active order (it moved to another cell); false if absent.
  bool remove(const std::string& order_id);
  /// The finished counters (status, count).
  const std::map<msg::order_status, std::uint32_t>& finished() const noexcept {
    return finished_;
  }
  /// Adds finished orders counted elsewhere (a merged child's).
  void add_finished(msg::order_status status, std::uint32_t count);
  void clear();

private:
  struct entry {
    msg::order_status status = msg::order_status::placed;
    order_place place;
  };
  std::size_t orders_max_;
  std::unordered_map<std::string, entry> active_;
  std::map<msg::order_status, std::uint32_t> finished_;
};

/// Bookkeeping of a split cell: its children and the rider counts each
/// last reported for its subtree (region_load), which is all the parent
/// needs to decide a merge; the riders themselves are the children's.
class split_children {
public:
  /// Starts a split into `children` (at most children_max), each assumed
  /// to hold what the parent handed it until it reports.
  void start(const std::vector<std::string>& children);
  /// The counts `child` handed down or reported; false if not a child.
  bool set_load(const std::string& child, std::uint32_t available, std::uint32_t busy,
                bool reported);
  /// True once every child has reported since start() (or forget_reports()).
  bool all_reported() const noexcept;
  /// Counts are no longer known (the parent recovered): wait for reports.
  void forget_reports();
  std::uint32_t available() const noexcept;
  std::uint32_t busy() const noexcept;
  std::size_t riders() const noexcept { return available() + busy(); }
  /// The children, sorted.
  std::vector<std::string> children() const;
  bool is_child(const std::string& cell) const { return loads_.count(cell) > 0; }
  void clear() { loads_.clear(); }

  /// Hysteresis: split above `split_riders`, merge below `merge_riders`.
  static bool should_split(std::size_t riders, std::uint32_t split_riders) {
    return riders > split_riders;
  }
  static bool should_merge(std::size_t riders, std::uint32_t merge_riders) {
    return riders < merge_riders;
  }

  /// Most children a cell can have (H3 aperture 7).
  static constexpr std::size_t children_max = 7;

private:
  struct load {
    std::uint32_t available = 0;
    std::uint32_t busy = 0;
    bool reported = false;
  };
  std::map<std::string, load> loads_;
};

} // namespace courier::actors
