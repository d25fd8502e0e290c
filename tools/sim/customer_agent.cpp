#include "tools/sim/customer_agent.hpp"

#include <boost/asio/post.hpp>

namespace courier::sim {

namespace {
bool is_final(msg::order_status s) {
  return s == msg::order_status::delivered || s == msg::order_status::rejected ||
         s == msg::order_status::cancelled || s == msg::order_status::payment_failed;
}
/// At or past `accepted` on the main line.
bool at_least_accepted(msg::order_status s) {
  return s >= msg::order_status::accepted && s <= msg::order_status::delivered;
}
} // namespace

customer_agent::customer_agent(sim_context& ctx, core::customer_id id)
    : agent(ctx, msg::role::customer, id.str()), sweep_timer_(strand_),
      cancel_rng_(ctx.cfg.seed ^ 0x63616e63656cULL ^ std::hash<std::string>{}(id_)) {}

void customer_agent::place(order_spec spec, core::request_id request) {
  auto self = std::static_pointer_cast<customer_agent>(shared_from_this());
  boost::asio::post(strand_, [self, spec = std::move(spec), request = std::move(request)]() mutable {
    self->do_place(std::move(spec), std::move(request));
  });
}

void customer_agent::do_place(order_spec spec, core::request_id request) {
  if (stopped() || !ready() || orders_.size() >= customer_orders_max) {
    ctx_.stats.orders_shed.fetch_add(1, std::memory_order_relaxed);
    ctx_.outstanding.fetch_sub(1);
    return;
  }
  tracked t;
  t.spec = std::move(spec);
  t.sent_us = ctx_.now_us();
  t.placed_wall_ms = ctx_.elapsed_ms();
  send_place(request, t);
  orders_.emplace(std::move(request), std::move(t));
  ctx_.stats.orders_sent.fetch_add(1, std::memory_order_relaxed);
}

void customer_agent::send_place(const core::request_id& request, const tracked& t) {
  const auto& store = ctx_.city.stores[t.spec.store_index];
  msg::place_order p;
  p.request_id = request;
  p.store_id = store.id;
  p.items = t.spec.items;
  p.total = t.spec.total;
  p.dropoff = msg::lat_lng{t.spec.dropoff.lat, t.spec.dropoff.lng};
  // The ref is the request id: the reply or error names the order it is about.
  send(std::move(p), request.str());
}

void customer_agent::on_welcome() {
  // After a reconnect: place_order again for requests never answered (the
  // same request_id is idempotent), subscribe again to the rest.
  for (auto& [request, t] : orders_) {
    if (t.order_id)
      send(msg::subscribe{*t.order_id}, "sub:" + t.order_id->str());
    else
      send_place(request, t);
  }
  if (!sweeping_) {
    sweeping_ = true;
    sweep();
  }
}

void customer_agent::on_stop() {
  sweep_timer_.cancel();
}

void customer_agent::sweep() {
  auto now = ctx_.elapsed_ms();
  auto limit = static_cast<std::int64_t>(ctx_.cfg.order_timeout_s) * 1000;
  for (auto it = orders_.begin(); it != orders_.end();) {
    auto next = std::next(it);
    if (now - it->second.placed_wall_ms > limit) {
      ctx_.stats.orders_abandoned.fetch_add(1, std::memory_order_relaxed);
      if (it->second.order_id)
        send(msg::unsubscribe{*it->second.order_id}, "unsub");
      finish(it);
    }
    it = next;
  }
  auto self = std::static_pointer_cast<customer_agent>(shared_from_this());
  sweep_timer_.expires_after(std::chrono::milliseconds(customer_sweep_ms));
  sweep_timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec && !self->stopped())
      self->sweep();
  });
}

std::map<core::request_id, customer_agent::tracked>::iterator
customer_agent::find_order(const core::order_id& order) {
  auto b = by_order_.find(order);
  return b == by_order_.end() ? orders_.end() : orders_.find(b->second);
}

void customer_agent::finish(std::map<core::request_id, tracked>::iterator it) {
  if (it->second.order_id) {
    ctx_.orders.forget(*it->second.order_id);
    by_order_.erase(*it->second.order_id);
  }
  orders_.erase(it);
  ctx_.outstanding.fetch_sub(1);
}

void customer_agent::on_placed(const msg::order_placed& p) {
  auto it = orders_.find(p.request_id);
  if (it == orders_.end() || it->second.order_id)
    return; // a duplicate answer after a reconnect
  auto& t = it->second;
  t.order_id = p.order_id;
  by_order_[p.order_id] = p.request_id;
  ctx_.stats.orders_placed.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.add(metric::place_to_placed, static_cast<double>(ctx_.now_us() - t.sent_us) / 1000.0);
  ctx_.orders.placed(p.order_id, t.sent_us);
  if (ctx_.ledger)
    ctx_.ledger->placed(p.order_id, ctx_.city.stores[t.spec.store_index].id.str(), id_,
                        p.request_id.str());
  send(msg::subscribe{p.order_id}, "sub:" + p.order_id.str());
}

void customer_agent::on_rider_seen(const core::order_id& order) {
  auto it = find_order(order);
  if (it == orders_.end() || it->second.assigned)
    return;
  it->second.assigned = true;
  ctx_.stats.orders_assigned.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.add(metric::place_to_assigned,
                 static_cast<double>(ctx_.now_us() - it->second.sent_us) / 1000.0);
}

void customer_agent::on_status(const core::order_id& order, msg::order_status status,
                               bool from_push) {
  auto it = find_order(order);
  if (it == orders_.end())
    return;
  auto now = ctx_.now_us();
  if (from_push) {
    if (auto sent = ctx_.orders.command_sent_at(order, status))
      ctx_.stats.add(metric::status_to_push, static_cast<double>(now - *sent) / 1000.0);
  }
  auto& t = it->second;
  if (!t.accepted && at_least_accepted(status)) {
    t.accepted = true;
    ctx_.stats.orders_accepted.fetch_add(1, std::memory_order_relaxed);
    if (status == msg::order_status::accepted)
      ctx_.stats.add(metric::place_to_accepted, static_cast<double>(now - t.sent_us) / 1000.0);
    // Changed their mind once the store took it: the store's work and the
    // payment are undone (the order is voided, never captured).
    if (ctx_.cfg.cancel_rate > 0 && chance(cancel_rng_, ctx_.cfg.cancel_rate))
      send(msg::cancel{order}, "cancel:" + order.str());
  }
  if (!is_final(status))
    return;
  if (status == msg::order_status::delivered)
    ctx_.stats.orders_delivered.fetch_add(1, std::memory_order_relaxed);
  else
    ctx_.stats.orders_failed.fetch_add(1, std::memory_order_relaxed);
  send(msg::unsubscribe{order}, "unsub");
  finish(it);
}

void customer_agent::on_server_message(msg::envelope& m) {
  if (auto* p = std::get_if<msg::order_placed>(&m.body))
    return on_placed(*p);
  if (auto* s = std::get_if<msg::subscribed>(&m.body)) {
    if (ctx_.ledger)
      ctx_.ledger->status(s->order_id, s->snapshot.status, s->snapshot.version, true);
    if (s->snapshot.rider_id)
      on_rider_seen(s->order_id);
    return on_status(s->order_id, s->snapshot.status, false);
  }
  if (auto* s = std::get_if<msg::order_status_msg>(&m.body)) {
    ctx_.stats.push_order_status.fetch_add(1, std::memory_order_relaxed);
    if (ctx_.ledger)
      ctx_.ledger->status(s->order_id, s->status, s->version, false);
    return on_status(s->order_id, s->status, true);
  }
  if (auto* r = std::get_if<msg::rider_position>(&m.body)) {
    ctx_.stats.push_rider_position.fetch_add(1, std::memory_order_relaxed);
    ctx_.stats.position_received(r->rider_id, r->at_ms, ctx_.now_us());
    return on_rider_seen(r->order_id);
  }
  if (std::holds_alternative<msg::rider_nearby>(m.body)) {
    ctx_.stats.push_rider_nearby.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (std::holds_alternative<msg::ok_reply>(m.body))
    return; // unsubscribe answered
  ctx_.stats.push_other.fetch_add(1, std::memory_order_relaxed);
}

void customer_agent::on_error_reply(const std::string& ref, const msg::error_reply&) {
  // A refused place_order (out_of_area, not_found, rate_limited, ...): the
  // order never existed, stop tracking it. Subscribe errors keep the order
  // (statuses then stop arriving and the sweep abandons it).
  auto it = orders_.find(core::request_id{ref});
  if (it != orders_.end() && !it->second.order_id) {
    ctx_.stats.orders_failed.fetch_add(1, std::memory_order_relaxed);
    finish(it);
  }
}

} // namespace courier::sim
