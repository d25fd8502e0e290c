#include "tools/sim/agent.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <iostream>

namespace courier::sim {

namespace asio = boost::asio;

namespace {
/// Error replies printed per code before they are only counted.
constexpr std::uint64_t errors_printed_per_code = 3;
} // namespace

agent::agent(sim_context& ctx, msg::role role, std::string id)
    : ctx_(ctx), strand_(asio::make_strand(ctx.io)), id_(std::move(id)), role_(role),
      retry_timer_(strand_), rng_(ctx.cfg.seed ^ std::hash<std::string>{}(id_)),
      turn_(static_cast<std::uint32_t>(std::hash<std::string>{}(id_))) {}

agent::~agent() = default;

void agent::start(std::int64_t delay_ms) {
  auto self = shared_from_this();
  // The timer belongs to this agent's strand, whoever calls start().
  asio::post(strand_, [self, delay_ms] {
    self->retry_timer_.expires_after(std::chrono::milliseconds(delay_ms));
    self->retry_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec && !self->stopped_)
        self->connect();
    });
  });
}

void agent::stop() {
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    if (self->stopped_)
      return;
    self->stopped_ = true;
    self->retry_timer_.cancel();
    self->on_stop();
    if (self->conn_)
      self->conn_->close();
  });
}

void agent::connect() {
  // Each attempt tries the next node's port: a client of a node that died
  // moves on instead of waiting for that node to come back.
  conn_ = make_conn(strand_, ctx_.target(turn_++), weak_from_this());
  conn_->start();
}

void agent::schedule_reconnect() {
  if (stopped_ || ctx_.stopping.load())
    return;
  if (failures_ >= ctx_.cfg.reconnect_max || reconnects_ >= reconnects_per_client_max) {
    ctx_.stats.gave_up.fetch_add(1, std::memory_order_relaxed);
    std::cerr << "courier-sim: " << id_ << " gave up after " << failures_
              << " reconnect attempts\n";
    return;
  }
  // Exponential backoff with +-25% jitter, so a node restart is not met by
  // every client in the same millisecond.
  std::int64_t base = std::min(reconnect_delay_max_ms, reconnect_delay_min_ms << std::min(failures_, 10u));
  auto delay = static_cast<std::int64_t>(static_cast<double>(base) * uniform(rng_, 0.75, 1.25));
  ++failures_;
  ++reconnects_;
  ctx_.stats.reconnects.fetch_add(1, std::memory_order_relaxed);
  auto self = shared_from_this();
  retry_timer_.expires_after(std::chrono::milliseconds(delay));
  retry_timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec && !self->stopped_)
      self->connect();
  });
}

bool agent::send(msg::client_body body, std::string ref) {
  if (!conn_ || stopped_ || !welcomed_) {
    ctx_.stats.send_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!conn_->send(msg::envelope{std::move(ref), std::move(body)})) {
    ctx_.stats.send_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void agent::on_open() {
  ctx_.stats.connects.fetch_add(1, std::memory_order_relaxed);
  // hello goes out before welcomed_, so it bypasses send().
  conn_->send(msg::envelope{"hello", msg::hello{ctx_.token_for(role_, id_)}});
}

void agent::on_message(msg::envelope message) {
  if (auto* w = std::get_if<msg::welcome>(&message.body)) {
    (void)w;
    welcomed_ = true;
    failures_ = 0;
    ctx_.stats.welcomes.fetch_add(1, std::memory_order_relaxed);
    on_welcome();
    return;
  }
  if (auto* e = std::get_if<msg::error_reply>(&message.body)) {
    // The first few of each code are printed: a code that floods usually
    // means the sim and the node disagree, and the message says how.
    if (ctx_.stats.count_error(e->code) < errors_printed_per_code)
      std::cerr << "courier-sim: " << id_ << ": error " << core::to_string(e->code) << " (ref '"
                << message.ref << "'): " << e->message << '\n';
    on_error_reply(message.ref, *e);
    return;
  }
  on_server_message(message);
}

void agent::on_bad_frame(const std::string& why) {
  auto n = ctx_.stats.decode_errors.fetch_add(1, std::memory_order_relaxed);
  if (n < 5) // the first few say what is wrong; the rest are counted
    std::cerr << "courier-sim: " << id_ << ": undecodable frame: " << why << '\n';
}

void agent::on_closed(bool was_open, const std::string& why) {
  bool had_welcome = welcomed_;
  welcomed_ = false;
  conn_.reset();
  if (stopped_)
    return; // our own close at the end of the run: not a loss
  if (was_open)
    ctx_.stats.disconnects.fetch_add(1, std::memory_order_relaxed);
  else
    ctx_.stats.connect_failures.fetch_add(1, std::memory_order_relaxed);
  if (!had_welcome && failures_ == 0 && ctx_.stats.connect_failures.load() <= 3)
    std::cerr << "courier-sim: " << id_ << ": " << why << '\n';
  on_disconnect();
  schedule_reconnect();
}

} // namespace courier::sim
