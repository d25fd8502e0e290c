#include "actors/dispatch_state.hpp"

#include "core/assert.hpp"

#include "journal.pb.h"

#include <algorithm>

namespace courier::actors {

namespace pb = courier::journal::v1;

static_assert(pb::DispatchEvent::Kind_MAX == 1 + static_cast<int>(dispatch_event::kind::round));

std::string dispatch_event::encode() const {
  pb::DispatchEvent p;
  p.set_what(static_cast<pb::DispatchEvent::Kind>(static_cast<int>(what) + 1));
  auto* s = p.mutable_spec();
  s->set_order_id(spec.order_id);
  s->set_store_id(spec.store_id);
  s->set_store_lat(spec.store_lat);
  s->set_store_lng(spec.store_lng);
  s->set_dropoff_lat(spec.dropoff_lat);
  s->set_dropoff_lng(spec.dropoff_lng);
  s->set_radius_m(spec.radius_m);
  auto* o = p.mutable_offer();
  o->set_offer_id(offer.offer_id);
  o->set_rider_id(offer.rider_id);
  o->set_expires_ms(offer.expires_ms);
  o->set_distance_m(offer.distance_m);
  o->set_accepted(offer.accepted);
  p.set_offer_id(offer_id);
  p.set_round(round);
  return p.SerializeAsString();
}

core::result<dispatch_event> dispatch_event::decode(const std::string& text) {
  pb::DispatchEvent p;
  if (!p.ParseFromString(text))
    return core::make_error(core::errc::internal,
                            "corrupt journal record: dispatch event does not parse");
  if (p.what() < 1 || p.what() > pb::DispatchEvent::Kind_MAX)
    return core::make_error(core::errc::internal,
                            "corrupt journal record: dispatch event kind missing or unknown");
  dispatch_event ev;
  ev.what = static_cast<kind>(p.what() - 1);
  const auto& s = p.spec();
  ev.spec = dispatch_spec{s.order_id(),    s.store_id(),    s.store_lat(), s.store_lng(),
                          s.dropoff_lat(), s.dropoff_lng(), s.radius_m()};
  const auto& o = p.offer();
  ev.offer = dispatch_offer{o.offer_id(), o.rider_id(), o.expires_ms(), o.distance_m(),
                            o.accepted()};
  ev.offer_id = p.offer_id();
  ev.round = p.round();
  return ev;
}

void dispatch_state::apply(const dispatch_event& ev) {
  switch (ev.what) {
    case dispatch_event::kind::start:
      if (!started_) {
        started_ = true;
        spec_ = ev.spec;
      }
      break;
    case dispatch_event::kind::offer:
      COURIER_ASSERT(started_);
      offer_ = ev.offer;
      offer_.accepted = false;
      offers_made_ += 1;
      offers_this_round_ += 1;
      tried_.insert(ev.offer.rider_id);
      break;
    case dispatch_event::kind::accepted:
      if (offer_.offer_id == ev.offer_id)
        offer_.accepted = true;
      break;
    case dispatch_event::kind::assigned:
      COURIER_ASSERT(offer_.offer_id == ev.offer_id);
      assigned_rider_ = offer_.rider_id;
      assigned_offer_id_ = offer_.offer_id;
      offer_ = dispatch_offer{};
      break;
    case dispatch_event::kind::stopped:
      stopped_ = true;
      offer_ = dispatch_offer{};
      break;
    case dispatch_event::kind::round:
      round_ = ev.round;
      offers_this_round_ = 0;
      tried_.clear();
      candidates_.clear();
      break;
  }
  // Finished dispatches hold no offer.
  COURIER_ASSERT(!(assigned_rider_.size() > 0 && !offer_.offer_id.empty()));
}

dispatch_phase dispatch_state::phase() const noexcept {
  if (!started_)
    return dispatch_phase::idle;
  if (!assigned_rider_.empty())
    return dispatch_phase::assigned;
  if (stopped_)
    return dispatch_phase::stopped;
  if (offer_.offer_id.empty())
    return dispatch_phase::searching;
  return offer_.accepted ? dispatch_phase::accepted : dispatch_phase::offering;
}

std::string dispatch_state::next_offer_id() const {
  return spec_.order_id + "-" + std::to_string(offers_made_ + 1);
}

bool dispatch_state::is_live(const std::string& offer_id, const std::string& rider_id,
                             core::time_ms now_ms) const {
  return phase() == dispatch_phase::offering && offer_.offer_id == offer_id &&
         offer_.rider_id == rider_id && now_ms < offer_.expires_ms;
}

void dispatch_state::close_offer() {
  COURIER_ASSERT(phase() == dispatch_phase::offering);
  offer_ = dispatch_offer{};
}

void dispatch_state::set_candidates(std::vector<dispatch_candidate> found,
                                    std::size_t max) {
  found.erase(std::remove_if(found.begin(), found.end(),
                             [this](auto& c) { return tried_.count(c.rider_id) > 0; }),
              found.end());
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m
                                        : a.rider_id < b.rider_id;
  });
  // The same rider may come from two cells' answers (it moved between
  // them); keep its nearest entry only.
  std::unordered_set<std::string> seen;
  candidates_.clear();
  for (auto& c : found) {
    if (candidates_.size() >= max)
      break;
    if (seen.insert(c.rider_id).second)
      candidates_.push_back(std::move(c));
  }
}

bool dispatch_state::next_candidate(dispatch_candidate& out) {
  while (!candidates_.empty()) {
    auto c = std::move(candidates_.front());
    candidates_.erase(candidates_.begin());
    if (tried_.count(c.rider_id) == 0) {
      out = std::move(c);
      return true;
    }
  }
  return false;
}

std::vector<std::string> dispatch_state::tried() const {
  std::vector<std::string> out(tried_.begin(), tried_.end());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace courier::actors
