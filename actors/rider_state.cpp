#include "actors/rider_state.hpp"

#include "core/assert.hpp"

#include "journal.pb.h"

#include <algorithm>

namespace courier::actors {

namespace pb = courier::journal::v1;

static_assert(pb::RiderEvent::Kind_MAX ==
              1 + static_cast<int>(rider_event::kind::position_mark));

namespace {

void to_pb(const rider_event& ev, pb::RiderEvent& p) {
  p.set_what(static_cast<pb::RiderEvent::Kind>(static_cast<int>(ev.what) + 1));
  p.set_available(ev.available);
  auto* o = p.mutable_offer();
  o->set_offer_id(ev.offer.offer_id);
  o->set_order_id(ev.offer.order_id);
  o->set_store_lat(ev.offer.store_lat);
  o->set_store_lng(ev.offer.store_lng);
  o->set_dropoff_lat(ev.offer.dropoff_lat);
  o->set_dropoff_lng(ev.offer.dropoff_lng);
  o->set_distance_m(ev.offer.distance_m);
  o->set_expires_ms(ev.offer.expires_ms);
  if (ev.what == rider_event::kind::position_mark) { // other kinds stay as small as before
    auto* m = p.mutable_mark();
    m->set_seq(ev.mark.seq);
    m->set_cell(ev.mark.cell);
    m->set_lat(ev.mark.lat);
    m->set_lng(ev.mark.lng);
    m->set_at_ms(ev.mark.at_ms);
    m->set_marked_ms(ev.mark.marked_ms);
  }
}

core::result<rider_event> from_pb(const pb::RiderEvent& p) {
  if (p.what() < 1 || p.what() > pb::RiderEvent::Kind_MAX)
    return core::make_error(core::errc::internal,
                            "corrupt journal record: rider event kind missing or unknown");
  rider_event ev;
  ev.what = static_cast<rider_event::kind>(p.what() - 1);
  ev.available = p.available();
  const auto& o = p.offer();
  ev.offer = held_offer{o.offer_id(),    o.order_id(),    o.store_lat(),
                        o.store_lng(),   o.dropoff_lat(), o.dropoff_lng(),
                        o.distance_m(),  o.expires_ms()};
  const auto& m = p.mark();
  ev.mark = position_mark{m.seq(), m.cell(), m.lat(), m.lng(), m.at_ms(), m.marked_ms()};
  return ev;
}

} // namespace

std::string rider_event::encode() const {
  pb::RiderEvent p;
  to_pb(*this, p);
  return p.SerializeAsString();
}

core::result<rider_event> rider_event::decode(const std::string& text) {
  pb::RiderEvent p;
  if (!p.ParseFromString(text))
    return core::make_error(core::errc::internal,
                            "corrupt journal record: rider event does not parse");
  return from_pb(p);
}

std::string rider_event::encode_snapshot(const std::vector<rider_event>& events) {
  pb::RiderSnapshot p;
  for (auto& ev : events)
    to_pb(ev, *p.add_events());
  return p.SerializeAsString();
}

core::result<std::vector<rider_event>> rider_event::decode_snapshot(const std::string& bytes) {
  pb::RiderSnapshot p;
  if (!p.ParseFromString(bytes))
    return core::make_error(core::errc::internal,
                            "corrupt journal record: rider snapshot does not parse");
  std::vector<rider_event> out;
  out.reserve(static_cast<std::size_t>(p.events_size()));
  for (auto& e : p.events()) {
    auto ev = from_pb(e);
    if (!ev)
      return ev.err();
    out.push_back(std::move(*ev));
  }
  return out;
}

bool rider_logic::accept_position(std::uint64_t seq, double lat, double lng,
                                  core::time_ms at_ms) {
  if (seq <= last_seq_)
    return false;
  last_seq_ = seq;
  has_position_ = true;
  lat_ = lat;
  lng_ = lng;
  at_ms_ = at_ms;
  return true;
}

std::string rider_logic::move_to_cell(const std::string& cell) {
  if (cell == cell_)
    return {};
  auto left = std::move(cell_);
  cell_ = cell;
  cell_marked_ = false;
  return left;
}

rider_logic::mark_reason rider_logic::mark_due(core::time_ms now_ms,
                                               std::chrono::milliseconds interval) const noexcept {
  if (!unmarked())
    return mark_reason::none;
  bool waited = now_ms - marked_ms_ >= interval.count();
  if (mark_failed_)
    return waited ? mark_reason::retry : mark_reason::none;
  if (!cell_marked_)
    return mark_reason::cell_changed;
  return waited ? mark_reason::interval : mark_reason::none;
}

position_mark rider_logic::mark(core::time_ms now_ms) const {
  return position_mark{last_seq_, cell_, lat_, lng_, at_ms_, now_ms};
}

void rider_logic::mark_failed(core::time_ms now_ms) noexcept {
  mark_failed_ = true;
  marked_ms_ = now_ms;
}

const held_offer& rider_logic::offer() const noexcept {
  static const held_offer none{};
  return offer_ ? *offer_ : none;
}

bool rider_logic::can_take_offer() const noexcept {
  return available_ && !has_offer() && !has_order();
}

rider_visibility rider_logic::visibility() const noexcept {
  if (has_order() || has_offer())
    return rider_visibility::busy;
  return available_ ? rider_visibility::available : rider_visibility::offline;
}

bool rider_logic::was_released(const std::string& order_id) const {
  return std::find(released_.begin(), released_.end(), order_id) != released_.end();
}

void rider_logic::apply_mark(const position_mark& m) {
  // Live, nothing runs between taking a mark and applying it (the write is
  // awaited), so it equals the state; replayed, it is the newest state known.
  if (m.seq >= last_seq_) {
    last_seq_ = m.seq;
    has_position_ = has_position_ || m.seq > 0;
    lat_ = m.lat;
    lng_ = m.lng;
    at_ms_ = m.at_ms;
    cell_ = m.cell;
  }
  marked_seq_ = std::max(marked_seq_, m.seq);
  marked_ms_ = m.marked_ms;
  cell_marked_ = cell_ == m.cell;
  mark_failed_ = false;
  COURIER_ASSERT(marked_seq_ <= last_seq_);
}

std::vector<rider_event> rider_logic::snapshot(core::time_ms now_ms) const {
  std::vector<rider_event> out;
  // Releases first: replayed later they could clear the order held now.
  for (auto& id : released_) {
    rider_event ev{rider_event::kind::released, false, {}};
    ev.offer.order_id = id;
    out.push_back(std::move(ev));
  }
  out.push_back(rider_event{rider_event::kind::availability, available_, {}});
  if (has_order()) {
    rider_event ev{rider_event::kind::assigned, false, {}};
    ev.offer.order_id = order_id_;
    ev.offer.offer_id = assigned_offer_id_;
    out.push_back(std::move(ev));
  }
  if (offer_)
    out.push_back(rider_event{rider_event::kind::offer_taken, false, *offer_});
  if (has_position() || !cell_.empty())
    out.push_back(rider_event{rider_event::kind::position_mark, false, {}, mark(now_ms)});
  return out;
}

void rider_logic::apply(const rider_event& ev) {
  switch (ev.what) {
    case rider_event::kind::availability:
      available_ = ev.available;
      break;
    case rider_event::kind::offer_taken:
      COURIER_ASSERT(!ev.offer.offer_id.empty());
      offer_ = std::make_unique<held_offer>(ev.offer);
      break;
    case rider_event::kind::offer_cleared:
      if (offer_ && offer_->offer_id == ev.offer.offer_id)
        offer_.reset();
      break;
    case rider_event::kind::assigned:
      COURIER_ASSERT(!ev.offer.order_id.empty());
      order_id_ = ev.offer.order_id;
      assigned_offer_id_ = ev.offer.offer_id;
      offer_.reset(); // the offer became the order
      break;
    case rider_event::kind::released:
      if (order_id_ == ev.offer.order_id) {
        order_id_.clear();
        assigned_offer_id_.clear();
      }
      if (!was_released(ev.offer.order_id)) {
        if (released_.size() >= released_remembered_max)
          released_.erase(released_.begin()); // at most 16 short strings move
        released_.push_back(ev.offer.order_id);
      }
      COURIER_ASSERT(released_.size() <= released_remembered_max);
      break;
    case rider_event::kind::position_mark:
      apply_mark(ev.mark);
      break;
  }
  // A rider never holds an order and an offer at once.
  COURIER_ASSERT(!(has_order() && has_offer()));
}

} // namespace courier::actors
