#pragma once
/// \file
/// A store client (a kitchen tablet): takes new_order pushes and, per its
/// store_model, sends accept_order, cooking and ready at sim-time delays.

#include "tools/sim/agent.hpp"
#include "tools/sim/store_model.hpp"

namespace courier::sim {

/// One simulated store on one connection.
class store_agent final : public agent {
public:
  store_agent(sim_context& ctx, const store_site& site, std::uint64_t seed);

private:
  void on_welcome() override {}
  void on_server_message(msg::envelope& m) override;
  void on_error_reply(const std::string& ref, const msg::error_reply& e) override;
  void on_stop() override;

  void on_new_order(const msg::new_order& n);
  void arm_timer();
  void run_due();

  store_model model_;
  boost::asio::steady_timer timer_;
  sim_ms armed_for_ = -1; ///< sim time the timer waits for; -1 = idle
};

} // namespace courier::sim
