#pragma once
/// \file
/// The socket shell shared by every simulated client: connect, hello with a
/// token, count what arrives, reconnect with bounded exponential backoff.
/// Everything of one agent (its connection's callbacks and its timers) runs
/// on its own strand, so agent state needs no locks.

#include "tools/sim/client_conn.hpp"
#include "tools/sim/sim_context.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

namespace courier::sim {

/// First reconnect delay and its cap (doubling in between), wall ms.
inline constexpr std::int64_t reconnect_delay_min_ms = 250;
inline constexpr std::int64_t reconnect_delay_max_ms = 8000;
/// Reconnects per client over a whole run, welcomed or not: a node that
/// takes hello and then drops the connection must not keep us busy forever.
inline constexpr std::uint32_t reconnects_per_client_max = 100;

/// A simulated client: rider, store, customer or admin.
class agent : public conn_handler, public std::enable_shared_from_this<agent> {
public:
  agent(sim_context& ctx, msg::role role, std::string id);
  ~agent() override;

  /// Connects after `delay_ms` (the runner staggers the city's start).
  void start(std::int64_t delay_ms);
  /// Closes for good; safe from any thread (posted onto the strand).
  void stop();
  /// The strand all of this agent's work runs on.
  const strand_t& strand() const noexcept { return strand_; }
  const std::string& id() const noexcept { return id_; }

protected:
  /// hello succeeded (also after a reconnect).
  virtual void on_welcome() = 0;
  /// Any message but welcome and error.
  virtual void on_server_message(msg::envelope& m) = 0;
  /// An error reply (already counted by code).
  virtual void on_error_reply(const std::string& ref, const msg::error_reply& e) = 0;
  /// The connection was lost: requests in flight will not be answered.
  virtual void on_disconnect() {}
  /// Stopping: cancel timers.
  virtual void on_stop() {}

  /// Sends one message (with `ref` if not empty); false, counted as
  /// send_dropped, if the connection is not ready or its queue is full.
  bool send(msg::client_body body, std::string ref = {});
  /// True between welcome and the connection's loss.
  bool ready() const noexcept { return welcomed_; }
  bool stopped() const noexcept { return stopped_; }

  sim_context& ctx_;
  strand_t strand_;
  const std::string id_;

private:
  void connect();
  void schedule_reconnect();

  void on_open() override;
  void on_message(msg::envelope message) override;
  void on_bad_frame(const std::string& why) override;
  void on_closed(bool was_open, const std::string& why) override;

  msg::role role_;
  std::shared_ptr<client_conn> conn_;
  boost::asio::steady_timer retry_timer_;
  rng_t rng_;
  std::uint32_t failures_ = 0; ///< consecutive attempts without a welcome
  std::uint32_t reconnects_ = 0; ///< over the whole run
  std::uint32_t turn_ = 0;       ///< which of the node ports the next connect uses
  bool welcomed_ = false;
  bool stopped_ = false;
};

} // namespace courier::sim
