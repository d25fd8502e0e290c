#pragma once
/// \file
/// The admin client that sets the city up: upsert_store for every store,
/// a bounded window of requests in flight, then reports done.

#include "tools/sim/agent.hpp"

#include <functional>

namespace courier::sim {

/// upsert_store requests in flight at once during setup.
inline constexpr std::size_t admin_window_max = 128;
static_assert(admin_window_max < conn_write_queue_max);

/// Creates the city's stores on the node.
class admin_agent final : public agent {
public:
  /// `done(ok, failed)` runs on this agent's strand once every store is
  /// answered (again after a reconnect: setup restarts, upserts are idempotent).
  admin_agent(sim_context& ctx, std::function<void(std::size_t, std::size_t)> done);

private:
  void on_welcome() override;
  void on_server_message(msg::envelope& m) override;
  void on_error_reply(const std::string& ref, const msg::error_reply& e) override;

  void fill_window();
  void answered(const std::string& ref, bool ok);

  std::function<void(std::size_t, std::size_t)> done_;
  std::size_t next_ = 0, in_flight_ = 0, ok_ = 0, failed_ = 0;
  bool finished_ = false;
};

} // namespace courier::sim
