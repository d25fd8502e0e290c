#pragma once
/// \file
/// A customer client: places the orders the runner hands it, subscribes to
/// each, and measures what it is pushed (status changes, rider positions).

#include "tools/sim/agent.hpp"

#include <map>
#include <optional>

namespace courier::sim {

/// Orders one customer tracks at once; more are shed (counted).
inline constexpr std::size_t customer_orders_max = 64;
/// How often a customer looks for orders past --order-timeout-s, wall ms.
inline constexpr std::int64_t customer_sweep_ms = 5000;

/// One simulated customer on one connection.
class customer_agent final : public agent {
public:
  customer_agent(sim_context& ctx, core::customer_id id);

  /// Places `spec` as request `request`; safe from any thread (posted).
  void place(order_spec spec, core::request_id request);

private:
  /// One order from place_order to its end.
  struct tracked {
    order_spec spec;
    std::int64_t sent_us = 0;       ///< first place_order send
    std::int64_t placed_wall_ms = 0; ///< for the abandon timeout
    std::optional<core::order_id> order_id;
    bool accepted = false;
    bool assigned = false;
  };

  void on_welcome() override;
  void on_server_message(msg::envelope& m) override;
  void on_error_reply(const std::string& ref, const msg::error_reply& e) override;
  void on_stop() override;

  void do_place(order_spec spec, core::request_id request);
  void send_place(const core::request_id& request, const tracked& t);
  void on_placed(const msg::order_placed& p);
  void on_status(const core::order_id& order, msg::order_status status, bool from_push);
  void on_rider_seen(const core::order_id& order);
  void finish(std::map<core::request_id, tracked>::iterator it);
  std::map<core::request_id, tracked>::iterator find_order(const core::order_id& order);
  void sweep();

  std::map<core::request_id, tracked> orders_;
  std::map<core::order_id, core::request_id> by_order_;
  boost::asio::steady_timer sweep_timer_;
  rng_t cancel_rng_; ///< for --cancel-rate
  bool sweeping_ = false;
};

} // namespace courier::sim
