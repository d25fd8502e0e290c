#pragma once
/// \file
/// One order's dispatch as plain logic (no CAF): what was asked for, the
/// candidate riders of the current search (nearest first), the riders
/// already tried this round, and the one live offer. dispatch_actor is the
/// shell that searches regions, journals, sends offers and arms timers.
///
/// Journaled (dispatch_event): start, each offer made (before it is sent),
/// an accept (before the order is asked), the assignment, a stop, a new
/// round. An offer's close (reject, expiry, "not offered") is not
/// journaled: a later offer closes the earlier one, and an offer recovered
/// as pending is simply asked again (offer_request is idempotent at the
/// rider) or expired if its time has passed. The candidate list is soft.

#include "core/clock.hpp"
#include "core/result.hpp"

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace courier::actors {

/// What dispatch_start asked for.
struct dispatch_spec {
  std::string order_id;
  std::string store_id;
  double store_lat = 0.0;
  double store_lng = 0.0;
  double dropoff_lat = 0.0;
  double dropoff_lng = 0.0;
  double radius_m = 0.0;
};

/// A rider found by a search.
struct dispatch_candidate {
  std::string rider_id;
  double distance_m = 0.0;
};

/// The offer in flight.
struct dispatch_offer {
  std::string offer_id; ///< empty: none
  std::string rider_id;
  core::time_ms expires_ms = 0;
  double distance_m = 0.0;
  bool accepted = false; ///< the rider accepted; the order is being asked
};

/// A journaled change of a dispatch.
struct dispatch_event {
  enum class kind : std::uint8_t { start, offer, accepted, assigned, stopped, round };
  kind what = kind::start;
  dispatch_spec spec;    ///< start
  dispatch_offer offer;  ///< offer (offer_id, rider_id, expires_ms, distance_m)
  std::string offer_id;  ///< accepted, assigned
  std::uint32_t round = 0; ///< round

  std::string encode() const;
  static core::result<dispatch_event> decode(const std::string& text);
};

/// Where a dispatch is.
enum class dispatch_phase : std::uint8_t {
  idle,      ///< never started
  searching, ///< started, no offer in flight
  offering,  ///< an offer waits for its rider
  accepted,  ///< a rider accepted; waiting for the order's answer
  assigned,  ///< done: a rider is assigned
  stopped,   ///< done: order cancelled, rejected or refused the rider
};

class dispatch_state {
public:
  /// Applies a journaled event (live and on recovery).
  void apply(const dispatch_event& ev);

  dispatch_phase phase() const noexcept;
  bool finished() const noexcept {
    return phase() == dispatch_phase::assigned || phase() == dispatch_phase::stopped;
  }
  const dispatch_spec& spec() const noexcept { return spec_; }
  const dispatch_offer& offer() const noexcept { return offer_; }
  std::uint32_t offers_made() const noexcept { return offers_made_; }
  std::uint32_t offers_this_round() const noexcept { return offers_this_round_; }
  std::uint32_t round() const noexcept { return round_; }
  const std::string& assigned_rider() const noexcept { return assigned_rider_; }
  const std::string& assigned_offer_id() const noexcept { return assigned_offer_id_; }

  /// The id of the next offer: "<order>-<n>", unique per order because n
  /// counts journaled offers.
  std::string next_offer_id() const;

  /// True if `offer_id` from `rider_id` is the live, unexpired, not yet
  /// accepted offer at `now_ms`.
  bool is_live(const std::string& offer_id, const std::string& rider_id,
               core::time_ms now_ms) const;

  /// Closes the live offer (rejected, expired, not offered). Soft.
  void close_offer();

  /// Replaces the candidates with a fresh search result, dropping riders
  /// tried this round, nearest first (ties by id), at most `max`.
  void set_candidates(std::vector<dispatch_candidate> found, std::size_t max);
  /// Takes the nearest untried candidate; false if none is left.
  bool next_candidate(dispatch_candidate& out);
  std::size_t candidates_left() const noexcept { return candidates_.size(); }
  /// Riders offered this round (the search's exclude list).
  std::vector<std::string> tried() const;

private:
  dispatch_spec spec_;
  bool started_ = false;
  bool stopped_ = false;
  std::string assigned_rider_;
  std::string assigned_offer_id_;
  dispatch_offer offer_;
  std::uint32_t offers_made_ = 0;
  std::uint32_t offers_this_round_ = 0;
  std::uint32_t round_ = 0;
  std::unordered_set<std::string> tried_;
  std::vector<dispatch_candidate> candidates_; ///< nearest first
};

} // namespace courier::actors
