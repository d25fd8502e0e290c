#include "tools/sim/sim_context.hpp"

#include "nodes/auth/token.hpp"

namespace courier::sim {

namespace {
/// Tokens last a day longer than the run could (a run is at most 30 days).
constexpr std::int64_t token_ttl_s = 31 * 24 * 3600;
/// Orders the book tracks: a multiple of the outstanding bound, because
/// store/rider entries can outlive the customer's interest briefly.
constexpr std::size_t book_per_outstanding = 4;
} // namespace

sim_context::sim_context(boost::asio::io_context& io_context, const sim_config& config,
                         city_plan plan)
    : io(io_context), cfg(config), city(std::move(plan)),
      orders(static_cast<std::size_t>(config.outstanding_max) * book_per_outstanding),
      clock(config.speedup), started(std::chrono::steady_clock::now()) {}

std::int64_t sim_context::now_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t sim_context::epoch_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t sim_context::elapsed_ms() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - started)
      .count();
}

std::string sim_context::token_for(msg::role role, const std::string& id) const {
  auth::token_claims claims{std::string(msg::to_string(role)), id,
                            epoch_ms() / 1000 + token_ttl_s};
  return auth::sign_token(claims, cfg.secret);
}

conn_target sim_context::target(std::uint32_t turn) const {
  conn_target t;
  t.host = cfg.host;
  t.transport = cfg.transport;
  const auto& ports = cfg.transport == transport_kind::tcp ? cfg.tcp_ports : cfg.http_ports;
  t.port = ports[turn % ports.size()];
  return t;
}

} // namespace courier::sim
