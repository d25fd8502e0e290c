#pragma once
/// \file
/// A rider's state as plain logic (no CAF): position `seq` dedup, the
/// availability flag, the one offer and the one order a rider may hold, and
/// which region cell it is registered with. rider_actor is the shell that
/// journals, sends and pushes around it.
///
/// Durable vs soft: availability, the held offer and the assigned order are
/// journaled (events below, applied with `apply`). The position, its seq
/// and the region cell are soft state (positions arrive every few seconds,
/// and DESIGN.md says not to journal them one by one), checkpointed by a
/// position mark: on every cell change, at least every rider_mark_interval
/// while the seq advances, and before a graceful stop (passivation,
/// handoff). Recovery takes seq, cell and position from the last mark, so
/// a seq at or below it stays refused and the rider knows which region to
/// leave when it next crosses. The window: after a crash (not a graceful
/// stop), positions newer than the last mark may be accepted again; they
/// are the ones accepted less than rider_mark_interval after it (longer
/// only while mark writes fail: a failed mark is retried an interval later).

#include "core/clock.hpp"
#include "core/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace courier::actors {

/// The offer a rider holds (a copy of msg::offer's fields, kept CAF-free).
struct held_offer {
  std::string offer_id; ///< empty: none
  std::string order_id;
  double store_lat = 0.0;
  double store_lng = 0.0;
  double dropoff_lat = 0.0;
  double dropoff_lng = 0.0;
  double distance_m = 0.0;
  core::time_ms expires_ms = 0;
};

/// A checkpoint of a rider's soft position state (journal.proto's
/// PositionMark).
struct position_mark {
  std::uint64_t seq = 0; ///< the highest seq accepted
  std::string cell;      ///< the region cell the rider is registered with
  double lat = 0.0;
  double lng = 0.0;
  core::time_ms at_ms = 0;     ///< the position's time
  core::time_ms marked_ms = 0; ///< when the mark was taken (the entity's clock)
};

/// A journaled change of a rider.
struct rider_event {
  enum class kind : std::uint8_t {
    availability, ///< `available`
    offer_taken,  ///< `offer`
    offer_cleared,///< `offer.offer_id` (rejected, withdrawn, expired, conflict)
    assigned,     ///< `offer.order_id`, `offer.offer_id`
    released,     ///< `offer.order_id`
    position_mark,///< `mark` (last, so older records keep their kind values)
  };
  kind what = kind::availability;
  bool available = false;
  held_offer offer;
  position_mark mark;

  /// One journal record (courier.journal.v1.RiderEvent, journal.proto).
  std::string encode() const;
  /// Parses encode()'s output; `internal` for anything else.
  static core::result<rider_event> decode(const std::string& text);

  /// A journal snapshot (RiderSnapshot): events that rebuild a rider.
  static std::string encode_snapshot(const std::vector<rider_event>& events);
  /// Parses encode_snapshot()'s output; `internal` for anything else.
  static core::result<std::vector<rider_event>> decode_snapshot(const std::string& bytes);
};

/// How the region should see a rider.
enum class rider_visibility : std::uint8_t { available, busy, offline };

/// The rider's state machine (named rider_logic: protocol.hpp already has
/// the region-facing enum `rider_state`).
class rider_logic {
public:
  // -- positions (soft) --
  /// True if `seq` is new (greater than every accepted one); then it is
  /// recorded with the position. A stale or repeated seq changes nothing.
  bool accept_position(std::uint64_t seq, double lat, double lng, core::time_ms at_ms);
  std::uint64_t last_seq() const noexcept { return last_seq_; }
  bool has_position() const noexcept { return last_seq_ > 0 || has_position_; }
  double lat() const noexcept { return lat_; }
  double lng() const noexcept { return lng_; }
  core::time_ms position_at_ms() const noexcept { return at_ms_; }

  /// Records the region cell for the current position; returns the cell
  /// the rider left ("" if unchanged or none before; after a recovery, the
  /// last mark's cell is the one before).
  std::string move_to_cell(const std::string& cell);
  const std::string& cell() const noexcept { return cell_; }

  // -- position marks (the durable checkpoint of the soft state above) --
  /// Why a mark should be journaled now.
  enum class mark_reason : std::uint8_t {
    none,         ///< nothing to write
    cell_changed, ///< the rider is in a cell the last mark does not name
    interval,     ///< the seq advanced and the last mark is `interval` old
    retry,        ///< the last mark failed an `interval` ago
  };
  /// Whether the state at `now_ms` should be marked, and why (the actor
  /// journals mark(now_ms) unless none, then applies it or mark_failed).
  mark_reason mark_due(core::time_ms now_ms, std::chrono::milliseconds interval) const noexcept;
  /// True if seq or cell changed since the last mark (a graceful stop
  /// marks then, whatever the interval).
  bool unmarked() const noexcept { return last_seq_ > marked_seq_ || !cell_marked_; }
  /// The mark of the current state, taken at `now_ms`.
  position_mark mark(core::time_ms now_ms) const;
  /// A mark could not be journaled: the next try waits a whole interval
  /// (a journal outage must not get a write per position per rider).
  void mark_failed(core::time_ms now_ms) noexcept;

  // -- offers and orders (journaled) --
  /// Whether an offer may be taken now: available, no offer, no order.
  bool can_take_offer() const noexcept;
  /// The held offer; an empty one (no offer_id) when none is held.
  const held_offer& offer() const noexcept;
  bool has_offer() const noexcept { return offer_ != nullptr; }
  const std::string& order_id() const noexcept { return order_id_; }
  const std::string& assigned_offer_id() const noexcept { return assigned_offer_id_; }
  bool has_order() const noexcept { return !order_id_.empty(); }
  bool available() const noexcept { return available_; }
  rider_visibility visibility() const noexcept;
  /// True if `order_id` was released recently: a rider_assigned for it that
  /// arrives after its rider_released (two senders, no common order) must
  /// not bind the rider to a finished order.
  bool was_released(const std::string& order_id) const;

  /// Released order ids remembered for was_released.
  static constexpr std::size_t released_remembered_max = 16;

  /// Applies a journaled event (live, and when recovering). Events that no
  /// longer fit (clearing an offer not held) are no-ops, so replay is safe.
  void apply(const rider_event& ev);

  /// Events that rebuild this rider, applied in order to a fresh
  /// rider_logic (a journal snapshot): the remembered releases oldest
  /// first, availability, the order or the offer held, and the current
  /// position as a mark taken at `now_ms` (never older than the last one
  /// journaled, so recovery from it is at least as exact).
  std::vector<rider_event> snapshot(core::time_ms now_ms) const;

private:
  void apply_mark(const position_mark& m);

  std::uint64_t last_seq_ = 0;
  bool has_position_ = false;
  bool cell_marked_ = true;  ///< cell_ is the last mark's cell ("" needs no mark)
  bool mark_failed_ = false; ///< the last mark's write failed at marked_ms_
  std::uint64_t marked_seq_ = 0;
  core::time_ms marked_ms_ = 0; ///< the last mark (or failed try)
  double lat_ = 0.0;
  double lng_ = 0.0;
  core::time_ms at_ms_ = 0;
  std::string cell_;
  bool available_ = false;
  /// Null while no offer is held, which is most of a rider's life: the
  /// ~110 bytes of an offer are paid only by riders holding one (issue #11).
  std::unique_ptr<held_offer> offer_;
  std::string order_id_;
  std::string assigned_offer_id_;
  /// Newest last, at most released_remembered_max. A vector, not a deque:
  /// libstdc++'s deque allocates ~600 bytes as soon as it is constructed,
  /// and most live riders never have a released order (issue #11).
  std::vector<std::string> released_;
};

} // namespace courier::actors
