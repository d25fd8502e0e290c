#include "tools/sim/rider_agent.hpp"

#include <algorithm>

namespace courier::sim {

namespace {
/// GPS accuracy the sim claims, metres.
constexpr double reported_accuracy_m = 5.0;

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// True if `ref` ("st:<status>:<order>") is about `order`.
bool about(const std::string& ref, const core::order_id& order) {
  const std::string tail = ":" + order.str();
  return ref.size() > tail.size() && ref.compare(ref.size() - tail.size(), tail.size(), tail) == 0;
}

rider_params params_from(const sim_config& cfg) {
  rider_params p;
  p.reject_rate = cfg.reject_rate;
  return p;
}
} // namespace

rider_agent::rider_agent(sim_context& ctx, const rider_site& site, std::uint64_t seed)
    : agent(ctx, msg::role::rider, site.id.str()),
      model_(site.start, site.roam_center, site.roam_radius_m, params_from(ctx.cfg), seed),
      tick_timer_(strand_) {}

void rider_agent::on_welcome() {
  if (model_.phase() == rider_phase::idle)
    send(msg::availability{true}, "avail");
  if (!ticking_) {
    ticking_ = true;
    last_tick_sim_ = ctx_.sim_now();
    tick(); // the first position right away: dispatch needs one
  }
}

void rider_agent::on_disconnect() {
  // Answers to requests in flight are lost with the connection.
  pending_accept_.reset();
  status_in_flight_ = false;
}

void rider_agent::on_stop() {
  tick_timer_.cancel();
}

void rider_agent::schedule_tick() {
  auto self = std::static_pointer_cast<rider_agent>(shared_from_this());
  tick_timer_.expires_after(
      std::chrono::milliseconds(ctx_.clock.to_wall(rider_position_interval_ms)));
  tick_timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec && !self->stopped())
      self->tick();
  });
}

void rider_agent::tick() {
  sim_ms now = ctx_.sim_now();
  auto event = model_.advance(std::max<sim_ms>(0, now - last_tick_sim_), now);
  last_tick_sim_ = now;
  if (ready()) {
    if (event == rider_event::arrived_at_dropoff && !status_in_flight_)
      report(msg::order_status::delivered);
    act_on_phase();
    send_position();
  }
  schedule_tick();
}

void rider_agent::act_on_phase() {
  if (status_in_flight_ || !model_.order())
    return;
  if (model_.phase() == rider_phase::at_store &&
      model_.should_pick_up(ctx_.orders.is_ready(*model_.order()), ctx_.sim_now()))
    report(msg::order_status::picked_up);
}

void rider_agent::send_position() {
  // time_ms is wall-clock epoch ms, strictly increasing per rider: then the
  // server's at_ms can be matched to this send (latency) on the same host.
  last_time_ms_ = std::max(ctx_.epoch_ms(), last_time_ms_ + 1);
  auto p = model_.where();
  msg::position pos;
  pos.seq = model_.next_seq();
  pos.lat = p.lat;
  pos.lng = p.lng;
  pos.time_ms = last_time_ms_;
  pos.accuracy_m = reported_accuracy_m;
  pos.speed_mps = model_.speed_mps(); // sim-time m/s: what the rider's GPS reads
  pos.heading_deg = model_.heading_deg();
  ctx_.stats.position_sent(core::rider_id{id_}, last_time_ms_, ctx_.now_us());
  if (send(std::move(pos)))
    ctx_.stats.positions_sent.fetch_add(1, std::memory_order_relaxed);
}

void rider_agent::on_offer(const msg::offer& o) {
  ctx_.stats.offers.fetch_add(1, std::memory_order_relaxed);
  if (auto accepted_at = ctx_.orders.first_offer(o.order_id))
    ctx_.stats.add(metric::store_accept_to_offer,
                   static_cast<double>(ctx_.now_us() - *accepted_at) / 1000.0);
  if (!pending_accept_ && model_.wants_offer()) {
    if (send(msg::accept_offer{o.offer_id}, "acc:" + o.order_id.str()))
      pending_accept_ = o;
    return;
  }
  if (send(msg::reject_offer{o.offer_id}, "rej:" + o.order_id.str()))
    ctx_.stats.offers_rejected.fetch_add(1, std::memory_order_relaxed);
}

void rider_agent::report(msg::order_status status) {
  const auto& order = *model_.order();
  ctx_.orders.command_sent(order, status, ctx_.now_us());
  std::string ref = "st:" + std::string(msg::to_string(status)) + ":" + order.str();
  if (send(msg::status_report{order, status}, std::move(ref))) {
    status_in_flight_ = true;
    ctx_.stats.rider_statuses.fetch_add(1, std::memory_order_relaxed);
  }
}

void rider_agent::give_up_order() {
  model_.unassign();
  status_in_flight_ = false;
  send(msg::availability{true}, "avail");
}

void rider_agent::on_ok(const std::string& ref) {
  if (starts_with(ref, "acc:")) {
    if (!pending_accept_ || ref != "acc:" + pending_accept_->order_id.str())
      return;
    auto o = std::move(*pending_accept_);
    pending_accept_.reset();
    if (model_.phase() != rider_phase::idle)
      return;
    ctx_.stats.offers_accepted.fetch_add(1, std::memory_order_relaxed);
    model_.assign(o.order_id, point{o.store.lat, o.store.lng},
                  point{o.dropoff.lat, o.dropoff.lng});
    return;
  }
  if (!starts_with(ref, "st:") || !model_.order())
    return;
  if (!about(ref, *model_.order()))
    return; // an answer about an order we no longer carry
  status_in_flight_ = false;
  if (starts_with(ref, "st:picked_up:")) {
    if (model_.phase() == rider_phase::at_store) {
      model_.picked_up();
      report(msg::order_status::delivering);
    }
  } else if (starts_with(ref, "st:delivered:")) {
    if (model_.phase() == rider_phase::to_dropoff) {
      model_.delivered();
      send(msg::availability{true}, "avail");
    }
  }
}

void rider_agent::on_server_message(msg::envelope& m) {
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, msg::ack>)
          ctx_.stats.acks.fetch_add(1, std::memory_order_relaxed);
        else if constexpr (std::is_same_v<T, msg::offer>)
          on_offer(body);
        else if constexpr (std::is_same_v<T, msg::ok_reply>)
          on_ok(m.ref);
        else
          ctx_.stats.push_other.fetch_add(1, std::memory_order_relaxed);
      },
      m.body);
}

void rider_agent::on_error_reply(const std::string& ref, const msg::error_reply&) {
  if (starts_with(ref, "acc:")) {
    pending_accept_.reset(); // taken by another rider, or expired
    return;
  }
  if (starts_with(ref, "st:") && model_.order() && about(ref, *model_.order()))
    give_up_order();
}

} // namespace courier::sim
