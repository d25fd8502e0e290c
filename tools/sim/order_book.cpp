#include "tools/sim/order_book.hpp"

#include "core/assert.hpp"

namespace courier::sim {

static_assert(static_cast<std::size_t>(msg::order_status::cancelled) + 1 == 11);

order_book::order_book(std::size_t orders_max) : orders_max_(orders_max) {
  COURIER_ASSERT(orders_max > 0);
}

order_book::entry* order_book::touch(const core::order_id& order) {
  auto it = orders_.find(order);
  if (it != orders_.end())
    return &it->second;
  if (orders_.size() >= orders_max_)
    return nullptr;
  return &orders_.emplace(order, entry{}).first->second;
}

const order_book::entry* order_book::find(const core::order_id& order) const {
  auto it = orders_.find(order);
  return it == orders_.end() ? nullptr : &it->second;
}

void order_book::placed(const core::order_id& order, std::int64_t sent_us) {
  std::lock_guard lock(mutex_);
  if (auto* e = touch(order))
    e->place_sent_us = sent_us;
}

std::optional<std::int64_t> order_book::place_sent_at(const core::order_id& order) const {
  std::lock_guard lock(mutex_);
  const auto* e = find(order);
  if (!e || e->place_sent_us == 0)
    return std::nullopt;
  return e->place_sent_us;
}

void order_book::command_sent(const core::order_id& order, msg::order_status status,
                              std::int64_t sent_us) {
  auto i = static_cast<std::size_t>(status);
  COURIER_ASSERT(i < status_count);
  std::lock_guard lock(mutex_);
  if (auto* e = touch(order))
    e->command_sent_us[i] = sent_us;
}

std::optional<std::int64_t> order_book::command_sent_at(const core::order_id& order,
                                                        msg::order_status status) const {
  auto i = static_cast<std::size_t>(status);
  COURIER_ASSERT(i < status_count);
  std::lock_guard lock(mutex_);
  const auto* e = find(order);
  if (!e || e->command_sent_us[i] == 0)
    return std::nullopt;
  return e->command_sent_us[i];
}

std::optional<std::int64_t> order_book::first_offer(const core::order_id& order) {
  std::lock_guard lock(mutex_);
  auto* e = touch(order);
  if (!e || e->offered)
    return std::nullopt;
  e->offered = true;
  auto t = e->command_sent_us[static_cast<std::size_t>(msg::order_status::accepted)];
  if (t == 0)
    return std::nullopt;
  return t;
}

void order_book::mark_ready(const core::order_id& order) {
  std::lock_guard lock(mutex_);
  if (auto* e = touch(order))
    e->ready = true;
}

bool order_book::is_ready(const core::order_id& order) const {
  std::lock_guard lock(mutex_);
  const auto* e = find(order);
  return e && e->ready;
}

void order_book::forget(const core::order_id& order) {
  std::lock_guard lock(mutex_);
  orders_.erase(order);
}

std::size_t order_book::size() const {
  std::lock_guard lock(mutex_);
  return orders_.size();
}

} // namespace courier::sim
