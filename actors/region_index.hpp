#pragma once
/// \file
/// What a region entity (one H3 cell) knows, as plain classes without CAF:
/// - region_index: the riders in the cell by position, with a bounded
///   nearest-first search (dispatch's region_find_riders);
/// - order_stats: orders by status from region_order_delta, for live stats;
/// - split_directory: the bookkeeping of a hot cell split into its children
///   (which child holds which rider), see region_actor.hpp for the protocol.
/// Plus the two geo helpers every rider-side entity shares: the region cell
/// of a point and the distance between two points (both delegate to geo/).

#include "core/clock.hpp"
#include "core/result.hpp"
#include "geo/cell.hpp"
#include "messages/domain.hpp"

#include <cstddef>
#include <cstdint>
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
  /// Nearest first, ties broken by rider id (deterministic).
  std::vector<nearby_rider> nearest(const rider_search& q) const;

  std::size_t size() const noexcept { return riders_.size(); }
  std::uint32_t available() const noexcept { return available_; }
  std::uint32_t busy() const noexcept { return static_cast<std::uint32_t>(size()) - available_; }
  /// Every entry, sorted by rider id (for handing riders over in a split).
  std::vector<indexed_rider> all() const;
  void clear();

  /// Removes riders not heard from since `heard_before_ms`, looking at about
  /// `scan_max` entries (one sweep; the next call goes on where it stopped,
  /// so repeated calls cover every rider). Returns the ids removed.
  std::vector<std::string> prune_silent(core::time_ms heard_before_ms, std::size_t scan_max);

private:
  std::size_t riders_max_;
  std::unordered_map<std::string, indexed_rider> riders_;
  std::uint32_t available_ = 0;
  std::size_t sweep_bucket_ = 0; ///< where the next prune_silent starts
};

/// Orders by status in a cell. Active orders are kept by id so a repeated
/// delta (at-least-once delivery) is not counted twice; finished ones
/// (delivered, rejected, cancelled, payment_failed) become cumulative
/// counters. Bounded by `orders_max` active orders.
class order_stats {
public:
  explicit order_stats(std::size_t orders_max) : orders_max_(orders_max) {}

  /// Applies "order entered `to`" (from `from` unless `is_new`). False if
  /// ignored: a duplicate, an unknown order, or the bound reached.
  bool apply(const std::string& order_id, msg::order_status to, bool is_new,
             msg::order_status from);
  /// Status spelling -> count (active by current status, finished cumulative).
  std::map<std::string, std::uint32_t> by_status() const;
  std::size_t active() const noexcept { return active_.size(); }

private:
  std::size_t orders_max_;
  std::unordered_map<std::string, msg::order_status> active_;
  std::map<msg::order_status, std::uint32_t> finished_;
};

/// Bookkeeping of a split cell: which child cell holds each of its riders
/// (and whether that rider is available), so the parent can route updates
/// and leaves, count riders for stats and the merge decision, and fan out
/// searches to exactly the children that hold riders. At most 7 children.
class split_directory {
public:
  /// Where a rider update must go.
  struct route {
    std::string child;      ///< child cell that gets the update
    std::string left_child; ///< non-empty: the rider left this child (send a leave)
  };

  /// The rider is now in `child` with `mode`, heard of at `heard_ms` (the
  /// parent's clock); returns the routing.
  route place(const std::string& rider_id, const std::string& child, rider_mode mode,
              core::time_ms heard_ms);
  /// The rider left the parent cell; returns the child that held it ("" if none).
  std::string remove(const std::string& rider_id);
  /// Restores an entry (after the parent recovers, from its children).
  void restore(const std::string& rider_id, const std::string& child, rider_mode mode,
               core::time_ms heard_ms);
  /// When the parent last heard of the rider; nullopt if it is not here.
  std::optional<core::time_ms> heard_ms(const std::string& rider_id) const;
  /// As region_index::prune_silent; returns (rider, child that held it).
  std::vector<std::pair<std::string, std::string>>
  prune_silent(core::time_ms heard_before_ms, std::size_t scan_max);

  std::size_t size() const noexcept { return riders_.size(); }
  std::uint32_t available() const noexcept { return available_; }
  std::uint32_t busy() const noexcept { return static_cast<std::uint32_t>(size()) - available_; }
  /// Children that ever held a rider since the split (sorted).
  const std::vector<std::string>& children() const noexcept { return children_; }
  /// Registers a child (true if it was new).
  bool add_child(const std::string& child);
  void clear();

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
  struct entry {
    std::string child;
    rider_mode mode = rider_mode::available;
    core::time_ms heard_ms = 0;
  };
  std::unordered_map<std::string, entry> riders_;
  std::vector<std::string> children_;
  std::uint32_t available_ = 0;
  std::size_t sweep_bucket_ = 0; ///< where the next prune_silent starts
};

} // namespace courier::actors
