#include "tools/sim/rider_model.hpp"

#include "core/assert.hpp"

#include <cmath>

namespace courier::sim {

rider_model::rider_model(point start, point roam_center, double roam_radius_m,
                         rider_params params, std::uint64_t seed)
    : params_(params), rng_(seed), at_(start), roam_center_(roam_center),
      roam_radius_m_(roam_radius_m), heading_deg_(uniform(rng_, 0.0, 360.0)) {
  COURIER_ASSERT(params.travel_speed_mps > 0.0);
  COURIER_ASSERT(roam_radius_m > 0.0);
}

bool rider_model::wants_offer() {
  if (phase_ != rider_phase::idle)
    return false;
  return !chance(rng_, params_.reject_rate);
}

void rider_model::assign(core::order_id order, point store, point dropoff) {
  COURIER_ASSERT(phase_ == rider_phase::idle);
  order_ = std::move(order);
  store_ = store;
  dropoff_ = dropoff;
  phase_ = rider_phase::to_store;
}

void rider_model::unassign() {
  order_.reset();
  phase_ = rider_phase::idle;
}

void rider_model::walk_idle(double dt_s) {
  // Head back in when outside the roam disc, else wander.
  if (distance_m(at_, roam_center_) > roam_radius_m_)
    heading_deg_ = bearing_deg(at_, roam_center_);
  else
    heading_deg_ = std::fmod(heading_deg_ + uniform(rng_, -params_.heading_jitter_deg,
                                                    params_.heading_jitter_deg) + 360.0,
                             360.0);
  at_ = offset(at_, heading_deg_, params_.idle_speed_mps * dt_s);
  speed_mps_ = params_.idle_speed_mps;
}

rider_event rider_model::advance(sim_ms dt, sim_ms now) {
  COURIER_ASSERT(dt >= 0);
  double dt_s = static_cast<double>(dt) / 1000.0;
  switch (phase_) {
  case rider_phase::idle:
    walk_idle(dt_s);
    return rider_event::none;
  case rider_phase::at_store:
    speed_mps_ = 0.0;
    return rider_event::none;
  case rider_phase::to_store:
  case rider_phase::to_dropoff: {
    point target = phase_ == rider_phase::to_store ? store_ : dropoff_;
    if (distance_m(at_, target) > 0.5)
      heading_deg_ = bearing_deg(at_, target);
    point next = move_toward(at_, target, params_.travel_speed_mps * dt_s);
    speed_mps_ = dt_s > 0 ? distance_m(at_, next) / dt_s : 0.0;
    at_ = next;
    if (next.lat != target.lat || next.lng != target.lng)
      return rider_event::none;
    if (phase_ == rider_phase::to_store) {
      phase_ = rider_phase::at_store;
      arrived_at_store_ = now;
      return rider_event::arrived_at_store;
    }
    return rider_event::arrived_at_dropoff;
  }
  }
  return rider_event::none;
}

bool rider_model::should_pick_up(bool order_ready, sim_ms now) const {
  if (phase_ != rider_phase::at_store)
    return false;
  return order_ready || now - arrived_at_store_ >= params_.pickup_wait_max_ms;
}

void rider_model::picked_up() {
  COURIER_ASSERT(phase_ == rider_phase::at_store);
  phase_ = rider_phase::to_dropoff;
}

void rider_model::delivered() {
  COURIER_ASSERT(phase_ == rider_phase::to_dropoff);
  order_.reset();
  // Idle again where the drop-off was; walk_idle drifts back to the roam disc.
  phase_ = rider_phase::idle;
}

} // namespace courier::sim
