#pragma once
/// \file
/// A rider client: availability, a position every 5 s of sim time, offers
/// accepted or rejected by its rider_model, and the picked_up -> delivering
/// -> delivered reports of the orders it takes.

#include "tools/sim/agent.hpp"
#include "tools/sim/rider_model.hpp"

#include <optional>

namespace courier::sim {

/// One simulated rider on one connection.
class rider_agent final : public agent {
public:
  rider_agent(sim_context& ctx, const rider_site& site, std::uint64_t seed);

private:
  void on_welcome() override;
  void on_server_message(msg::envelope& m) override;
  void on_error_reply(const std::string& ref, const msg::error_reply& e) override;
  void on_disconnect() override;
  void on_stop() override;

  void tick();
  void schedule_tick();
  void act_on_phase();
  void send_position();
  void on_offer(const msg::offer& o);
  void on_ok(const std::string& ref);
  void report(msg::order_status status);
  void give_up_order();

  rider_model model_;
  boost::asio::steady_timer tick_timer_;
  bool ticking_ = false;
  sim_ms last_tick_sim_ = 0;
  std::int64_t last_time_ms_ = 0;
  /// The offer we said yes to, until the server answers.
  std::optional<msg::offer> pending_accept_;
  /// A status report in flight: do not send the next one yet.
  bool status_in_flight_ = false;
};

} // namespace courier::sim
