#include "tools/sim/store_model.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::sim {

store_model::store_model(store_params params, std::uint64_t seed)
    : params_(params), rng_(seed) {
  COURIER_ASSERT(params.accept_delay_min_ms <= params.accept_delay_max_ms);
  COURIER_ASSERT(params.prep_minutes_min <= params.prep_minutes_max);
  COURIER_ASSERT(params.orders_max > 0);
}

new_order_outcome store_model::on_new_order(core::order_id order, sim_ms now) {
  if (open_.count(order) != 0 || handled_.count(order) != 0)
    return new_order_outcome::known;
  if (open_.size() >= params_.orders_max)
    return new_order_outcome::full;
  if (params_.reject_rate > 0 && chance(rng_, params_.reject_rate)) {
    handled(order);
    return new_order_outcome::declined;
  }
  auto delay = std::uniform_int_distribution<sim_ms>(params_.accept_delay_min_ms,
                                                     params_.accept_delay_max_ms)(rng_);
  auto prep = std::uniform_int_distribution<std::uint32_t>(params_.prep_minutes_min,
                                                           params_.prep_minutes_max)(rng_);
  open_.insert(order);
  pending p{store_action{store_action_kind::accept, std::move(order), prep}, 0};
  timeline_.emplace(now + delay, std::move(p));
  COURIER_ASSERT(open_.size() <= params_.orders_max);
  return new_order_outcome::scheduled;
}

void store_model::handled(const core::order_id& order) {
  if (!handled_.insert(order).second)
    return;
  handled_order_.push_back(order);
  if (handled_order_.size() > store_handled_max) {
    handled_.erase(handled_order_.front());
    handled_order_.pop_front();
  }
}

std::vector<store_action> store_model::take_due(sim_ms now) {
  std::vector<store_action> out;
  while (!timeline_.empty() && timeline_.begin()->first <= now) {
    auto node = timeline_.extract(timeline_.begin());
    sim_ms due = node.key();
    pending& p = node.mapped();
    if (open_.count(p.action.order_id) == 0)
      continue; // forgotten
    switch (p.action.kind) {
    case store_action_kind::accept: {
      // Ready `prep` minutes after accepting; cooking starts in between.
      sim_ms ready_at = due + static_cast<sim_ms>(p.action.prep_minutes) * 60'000;
      sim_ms cook_at = std::min(due + params_.cooking_delay_ms, ready_at);
      timeline_.emplace(cook_at, pending{store_action{store_action_kind::cooking,
                                                      p.action.order_id, 0},
                                         ready_at});
      break;
    }
    case store_action_kind::cooking:
      timeline_.emplace(p.ready_at, pending{store_action{store_action_kind::ready,
                                                         p.action.order_id, 0},
                                            0});
      break;
    case store_action_kind::ready:
      open_.erase(p.action.order_id);
      handled(p.action.order_id);
      break;
    }
    out.push_back(std::move(p.action));
  }
  return out;
}

std::optional<sim_ms> store_model::next_due() const {
  if (timeline_.empty())
    return std::nullopt;
  return timeline_.begin()->first;
}

void store_model::forget(const core::order_id& order) {
  if (open_.erase(order) != 0)
    handled(order);
  // Timeline entries of a forgotten order are skipped in take_due; drop
  // them now too so the timeline stays within orders_max entries.
  for (auto it = timeline_.begin(); it != timeline_.end();) {
    if (it->second.action.order_id == order)
      it = timeline_.erase(it);
    else
      ++it;
  }
}

} // namespace courier::sim
