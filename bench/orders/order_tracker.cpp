#include "bench/orders/order_tracker.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::bench {

namespace {
double ms_between(std::int64_t from_us, std::int64_t to_us) {
  return static_cast<double>(to_us - from_us) / 1000.0;
}
bool in(std::int64_t t, std::int64_t from_us, std::int64_t to_us) {
  return t != 0 && t >= from_us && t < to_us;
}
} // namespace

order_tracker::order_tracker(std::size_t orders_max) : orders_(orders_max) {}

void order_tracker::on_sent(std::size_t n, std::int64_t at_us) {
  std::lock_guard lock(mutex_);
  COURIER_ASSERT(n < orders_.size());
  orders_[n].sent_us = at_us;
  sent_ = std::max(sent_, n + 1);
}

void order_tracker::on_placed(std::size_t n, const std::string& order_id, std::int64_t at_us) {
  std::lock_guard lock(mutex_);
  if (n >= orders_.size() || orders_[n].placed_us != 0)
    return; // not ours, or a duplicate reply
  orders_[n].placed_us = at_us;
  number_of_.emplace(order_id, n);
  if (auto it = early_accepts_.find(order_id); it != early_accepts_.end()) {
    orders_[n].accepted_us = it->second;
    early_accepts_.erase(it);
  }
}

void order_tracker::on_failed(std::size_t n) {
  std::lock_guard lock(mutex_);
  if (n < orders_.size())
    orders_[n].failed = true;
}

void order_tracker::on_accepted(const std::string& order_id, std::int64_t at_us) {
  std::lock_guard lock(mutex_);
  auto it = number_of_.find(order_id);
  if (it == number_of_.end()) {
    early_accepts_.emplace(order_id, at_us);
    return;
  }
  auto& t = orders_[it->second];
  if (t.accepted_us == 0)
    t.accepted_us = at_us;
}

bool order_tracker::settled(std::int64_t from_us, std::int64_t to_us) const {
  std::lock_guard lock(mutex_);
  for (std::size_t n = 0; n < sent_; ++n) {
    const auto& t = orders_[n];
    if (in(t.sent_us, from_us, to_us) && t.accepted_us == 0 && !t.failed)
      return false;
  }
  return true;
}

order_window order_tracker::window(std::int64_t from_us, std::int64_t to_us) const {
  std::lock_guard lock(mutex_);
  order_window w;
  sim::latency_histogram to_placed, to_accepted;
  for (std::size_t n = 0; n < sent_; ++n) {
    const auto& t = orders_[n];
    w.placed += in(t.placed_us, from_us, to_us) ? 1 : 0;
    w.accepted += in(t.accepted_us, from_us, to_us) ? 1 : 0;
    if (!in(t.sent_us, from_us, to_us))
      continue;
    w.sent += 1;
    if (t.placed_us != 0)
      to_placed.add(ms_between(t.sent_us, t.placed_us));
    if (t.accepted_us != 0)
      to_accepted.add(ms_between(t.sent_us, t.accepted_us));
    else if (t.failed)
      w.failed += 1;
    else
      w.unfinished += 1;
  }
  w.to_placed = to_placed.summarize();
  w.to_accepted = to_accepted.summarize();
  return w;
}

} // namespace courier::bench
