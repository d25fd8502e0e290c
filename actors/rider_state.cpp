#include "actors/rider_state.hpp"

#include "core/assert.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace courier::actors {

namespace {

std::string num(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

std::vector<std::string> split_tabs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '\t') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

core::error bad(const std::string& text) {
  return core::make_error(core::errc::bad_request, "bad rider event: " + text);
}

} // namespace

std::string rider_event::encode() const {
  const auto& o = offer;
  switch (what) {
    case kind::availability:
      return std::string{"avail\t"} + (available ? "1" : "0");
    case kind::offer_taken:
      return "offer\t" + o.offer_id + "\t" + o.order_id + "\t" + num(o.store_lat) +
             "\t" + num(o.store_lng) + "\t" + num(o.dropoff_lat) + "\t" +
             num(o.dropoff_lng) + "\t" + num(o.distance_m) + "\t" +
             std::to_string(o.expires_ms);
    case kind::offer_cleared:
      return "clear\t" + o.offer_id;
    case kind::assigned:
      return "assign\t" + o.order_id + "\t" + o.offer_id;
    case kind::released:
      return "release\t" + o.order_id;
  }
  COURIER_ASSERT(false);
}

core::result<rider_event> rider_event::decode(const std::string& text) {
  auto f = split_tabs(text);
  rider_event ev;
  if (f[0] == "avail" && f.size() == 2) {
    ev.what = kind::availability;
    ev.available = f[1] == "1";
  } else if (f[0] == "offer" && f.size() == 9) {
    ev.what = kind::offer_taken;
    ev.offer = held_offer{f[1],
                          f[2],
                          std::strtod(f[3].c_str(), nullptr),
                          std::strtod(f[4].c_str(), nullptr),
                          std::strtod(f[5].c_str(), nullptr),
                          std::strtod(f[6].c_str(), nullptr),
                          std::strtod(f[7].c_str(), nullptr),
                          std::strtoll(f[8].c_str(), nullptr, 10)};
  } else if (f[0] == "clear" && f.size() == 2) {
    ev.what = kind::offer_cleared;
    ev.offer.offer_id = f[1];
  } else if (f[0] == "assign" && f.size() == 3) {
    ev.what = kind::assigned;
    ev.offer.order_id = f[1];
    ev.offer.offer_id = f[2];
  } else if (f[0] == "release" && f.size() == 2) {
    ev.what = kind::released;
    ev.offer.order_id = f[1];
  } else {
    return bad(text);
  }
  return ev;
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
  return left;
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

void rider_logic::apply(const rider_event& ev) {
  switch (ev.what) {
    case rider_event::kind::availability:
      available_ = ev.available;
      break;
    case rider_event::kind::offer_taken:
      COURIER_ASSERT(!ev.offer.offer_id.empty());
      offer_ = ev.offer;
      break;
    case rider_event::kind::offer_cleared:
      if (offer_.offer_id == ev.offer.offer_id)
        offer_ = held_offer{};
      break;
    case rider_event::kind::assigned:
      COURIER_ASSERT(!ev.offer.order_id.empty());
      order_id_ = ev.offer.order_id;
      assigned_offer_id_ = ev.offer.offer_id;
      offer_ = held_offer{}; // the offer became the order
      break;
    case rider_event::kind::released:
      if (order_id_ == ev.offer.order_id) {
        order_id_.clear();
        assigned_offer_id_.clear();
      }
      if (!was_released(ev.offer.order_id)) {
        released_.push_back(ev.offer.order_id);
        if (released_.size() > released_remembered_max)
          released_.pop_front();
      }
      break;
  }
  // A rider never holds an order and an offer at once.
  COURIER_ASSERT(!(has_order() && has_offer()));
}

} // namespace courier::actors
