#include "bench/fanout/bench_client.hpp"

#include "tools/sim/sim_context.hpp"

#include <boost/asio/post.hpp>

namespace courier::bench {

bench_client::bench_client(boost::asio::io_context& io, sim::conn_target target,
                           std::string token, sim::sim_stats& stats)
    : strand_(boost::asio::make_strand(io)), target_(std::move(target)),
      token_(std::move(token)), stats_(stats) {}

bool bench_client::open(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  boost::asio::post(strand_, [self] {
    self->conn_ = sim::make_conn(self->strand_, self->target_, self->weak_from_this());
    self->conn_->start();
  });
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return welcomed_ || closed_; }) && welcomed_;
}

void bench_client::set_hook(message_hook hook) {
  auto self = shared_from_this();
  boost::asio::post(strand_, [self, hook = std::move(hook)]() mutable {
    self->hook_ = std::move(hook);
  });
}

void bench_client::send(msg::client_body body, std::string ref) {
  auto self = shared_from_this();
  boost::asio::post(strand_, [self, body = std::move(body), ref = std::move(ref)]() mutable {
    if (!self->conn_ || !self->conn_->send(msg::envelope{std::move(ref), std::move(body)}))
      self->stats_.send_dropped.fetch_add(1, std::memory_order_relaxed);
  });
}

std::optional<msg::envelope>
bench_client::wait_for(const std::function<bool(const msg::envelope&)>& pred,
                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<msg::envelope> found;
  changed_.wait_for(lock, timeout, [&] {
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
      if (pred(*it)) {
        found = std::move(*it);
        inbox_.erase(it);
        return true;
      }
    return closed_;
  });
  return found;
}

void bench_client::close() {
  auto self = shared_from_this();
  boost::asio::post(strand_, [self] {
    if (self->conn_)
      self->conn_->close();
  });
}

void bench_client::on_open() {
  stats_.connects.fetch_add(1, std::memory_order_relaxed);
  conn_->send(msg::envelope{"hello", msg::hello{token_}});
}

void bench_client::on_message(msg::envelope m) {
  if (auto* r = std::get_if<msg::rider_position>(&m.body)) {
    stats_.push_rider_position.fetch_add(1, std::memory_order_relaxed);
    stats_.position_received(r->rider_id, r->at_ms, sim::sim_context::now_us());
    return;
  }
  if (std::holds_alternative<msg::ack>(m.body)) {
    stats_.acks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (auto* e = std::get_if<msg::error_reply>(&m.body))
    stats_.count_error(e->code);
  // The welcome always reaches the inbox: open() waits on it.
  if (hook_ && !std::holds_alternative<msg::welcome>(m.body) && hook_(m))
    return;
  std::lock_guard lock(mutex_);
  if (std::holds_alternative<msg::welcome>(m.body))
    welcomed_ = true;
  if (inbox_.size() >= inbox_max)
    inbox_.pop_front();
  inbox_.push_back(std::move(m));
  changed_.notify_all();
}

void bench_client::on_bad_frame(const std::string&) {
  stats_.decode_errors.fetch_add(1, std::memory_order_relaxed);
}

void bench_client::on_closed(bool, const std::string&) {
  std::lock_guard lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

} // namespace courier::bench
