#include "tools/sim/store_agent.hpp"

namespace courier::sim {

namespace {
store_params params_from(const sim_config& cfg) {
  store_params p;
  p.reject_rate = cfg.store_reject_rate;
  return p;
}

/// The order id after the "<kind>:" prefix of a ref, or "" if none.
std::string order_of(const std::string& ref) {
  auto colon = ref.find(':');
  return colon == std::string::npos ? std::string() : ref.substr(colon + 1);
}
} // namespace

store_agent::store_agent(sim_context& ctx, const store_site& site, std::uint64_t seed)
    : agent(ctx, msg::role::store, site.id.str()), model_(params_from(ctx.cfg), seed),
      timer_(strand_) {}

void store_agent::on_stop() {
  timer_.cancel();
}

void store_agent::on_new_order(const msg::new_order& n) {
  ctx_.stats.new_orders.fetch_add(1, std::memory_order_relaxed);
  if (ctx_.ledger)
    ctx_.ledger->new_order(n.order_id, id_);
  switch (model_.on_new_order(n.order_id, ctx_.sim_now())) {
    case new_order_outcome::scheduled:
      arm_timer();
      return;
    case new_order_outcome::known:
      return; // a snapshot or a re-sent push: the kitchen has it
    case new_order_outcome::full:
      // Say no rather than queue forever.
      send(msg::reject_order{n.order_id, "busy"}, "reject:" + n.order_id.str());
      return;
    case new_order_outcome::declined:
      send(msg::reject_order{n.order_id, "out of stock"}, "reject:" + n.order_id.str());
      return;
  }
}

void store_agent::arm_timer() {
  auto due = model_.next_due();
  if (!due || (armed_for_ >= 0 && armed_for_ <= *due))
    return; // nothing to do, or the timer already fires early enough
  armed_for_ = *due;
  auto wait_ms = std::max<std::int64_t>(0, ctx_.clock.to_wall(*due - ctx_.sim_now()));
  auto self = std::static_pointer_cast<store_agent>(shared_from_this());
  timer_.expires_after(std::chrono::milliseconds(wait_ms));
  timer_.async_wait([self](boost::system::error_code ec) {
    if (ec || self->stopped())
      return;
    self->armed_for_ = -1;
    self->run_due();
  });
}

void store_agent::run_due() {
  for (auto& a : model_.take_due(ctx_.sim_now())) {
    auto now = ctx_.now_us();
    switch (a.kind) {
    case store_action_kind::accept:
      ctx_.orders.command_sent(a.order_id, msg::order_status::accepted, now);
      send(msg::accept_order{a.order_id, a.prep_minutes}, "accept:" + a.order_id.str());
      break;
    case store_action_kind::cooking:
      ctx_.orders.command_sent(a.order_id, msg::order_status::cooking, now);
      send(msg::cooking{a.order_id}, "cooking:" + a.order_id.str());
      break;
    case store_action_kind::ready:
      ctx_.orders.command_sent(a.order_id, msg::order_status::ready, now);
      send(msg::ready{a.order_id}, "ready:" + a.order_id.str());
      break;
    }
    ctx_.stats.store_commands.fetch_add(1, std::memory_order_relaxed);
  }
  arm_timer();
}

void store_agent::on_server_message(msg::envelope& m) {
  if (auto* n = std::get_if<msg::new_order>(&m.body))
    return on_new_order(*n);
  if (std::holds_alternative<msg::ok_reply>(m.body)) {
    if (m.ref.rfind("ready:", 0) == 0)
      ctx_.orders.mark_ready(core::order_id{order_of(m.ref)});
    return;
  }
  // order_status and rider_arriving for our orders: nothing to decide.
  ctx_.stats.push_other.fetch_add(1, std::memory_order_relaxed);
}

void store_agent::on_error_reply(const std::string& ref, const msg::error_reply&) {
  // A refused step (order cancelled, not ours, stale): stop working on it.
  auto order = order_of(ref);
  if (!order.empty())
    model_.forget(core::order_id{order});
}

} // namespace courier::sim
