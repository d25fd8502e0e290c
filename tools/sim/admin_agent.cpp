#include "tools/sim/admin_agent.hpp"

#include <iostream>

namespace courier::sim {

admin_agent::admin_agent(sim_context& ctx, std::function<void(std::size_t, std::size_t)> done)
    : agent(ctx, msg::role::admin, "admin-sim"), done_(std::move(done)) {}

void admin_agent::on_welcome() {
  if (finished_)
    return;
  next_ = in_flight_ = ok_ = failed_ = 0;
  fill_window();
}

void admin_agent::fill_window() {
  const auto& stores = ctx_.city.stores;
  while (in_flight_ < admin_window_max && next_ < stores.size()) {
    const auto& s = stores[next_++];
    msg::upsert_store u{s.id, s.at.lat, s.at.lng, s.radius_m, true};
    if (!send(std::move(u), "store:" + s.id.str())) {
      ++failed_;
      continue;
    }
    ++in_flight_;
  }
  if (in_flight_ == 0 && next_ >= stores.size() && !finished_) {
    finished_ = true;
    done_(ok_, failed_);
  }
}

void admin_agent::answered(const std::string& ref, bool ok) {
  if (finished_ || ref.rfind("store:", 0) != 0 || in_flight_ == 0)
    return;
  --in_flight_;
  if (ok) {
    ++ok_;
    ctx_.stats.stores_upserted.fetch_add(1, std::memory_order_relaxed);
  } else {
    ++failed_;
  }
  fill_window();
}

void admin_agent::on_server_message(msg::envelope& m) {
  if (std::holds_alternative<msg::ok_reply>(m.body))
    return answered(m.ref, true);
  ctx_.stats.push_other.fetch_add(1, std::memory_order_relaxed);
}

void admin_agent::on_error_reply(const std::string& ref, const msg::error_reply& e) {
  if (ref.rfind("store:", 0) == 0 && failed_ < 3)
    std::cerr << "courier-sim: upsert " << ref << " failed: " << core::to_string(e.code) << " "
              << e.message << '\n';
  answered(ref, false);
}

} // namespace courier::sim
