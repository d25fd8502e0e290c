#include "actors/dispatch_state.hpp"

#include "core/assert.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace courier::actors {

namespace {

std::string num(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

double dbl(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

std::vector<std::string> split_tabs(const std::string& text) {
  std::vector<std::string> out(1);
  for (char c : text) {
    if (c == '\t')
      out.emplace_back();
    else
      out.back().push_back(c);
  }
  return out;
}

} // namespace

std::string dispatch_event::encode() const {
  switch (what) {
    case kind::start:
      return "start\t" + spec.order_id + "\t" + spec.store_id + "\t" +
             num(spec.store_lat) + "\t" + num(spec.store_lng) + "\t" +
             num(spec.dropoff_lat) + "\t" + num(spec.dropoff_lng) + "\t" +
             num(spec.radius_m);
    case kind::offer:
      return "offer\t" + offer.offer_id + "\t" + offer.rider_id + "\t" +
             std::to_string(offer.expires_ms) + "\t" + num(offer.distance_m);
    case kind::accepted:
      return "accepted\t" + offer_id;
    case kind::assigned:
      return "assigned\t" + offer_id;
    case kind::stopped:
      return "stopped";
    case kind::round:
      return "round\t" + std::to_string(round);
  }
  COURIER_ASSERT(false);
}

core::result<dispatch_event> dispatch_event::decode(const std::string& text) {
  auto f = split_tabs(text);
  dispatch_event ev;
  if (f[0] == "start" && f.size() == 8) {
    ev.what = kind::start;
    ev.spec = dispatch_spec{f[1], f[2], dbl(f[3]), dbl(f[4]), dbl(f[5]), dbl(f[6]), dbl(f[7])};
  } else if (f[0] == "offer" && f.size() == 5) {
    ev.what = kind::offer;
    ev.offer = dispatch_offer{f[1], f[2], std::strtoll(f[3].c_str(), nullptr, 10),
                              dbl(f[4]), false};
  } else if ((f[0] == "accepted" || f[0] == "assigned") && f.size() == 2) {
    ev.what = f[0] == "accepted" ? kind::accepted : kind::assigned;
    ev.offer_id = f[1];
  } else if (f[0] == "stopped" && f.size() == 1) {
    ev.what = kind::stopped;
  } else if (f[0] == "round" && f.size() == 2) {
    ev.what = kind::round;
    ev.round = static_cast<std::uint32_t>(std::strtoul(f[1].c_str(), nullptr, 10));
  } else {
    return core::make_error(core::errc::bad_request, "bad dispatch event: " + text);
  }
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
