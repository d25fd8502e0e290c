#pragma once
/// \file
/// What the sim knows about each order across its clients (thread-safe):
/// when the customer placed it and when stores and riders sent each status
/// command (to measure status -> push latency), and whether the store said
/// ready (so a rider at the store knows when to pick up, as a real rider
/// would see it at the counter). Bounded: past orders_max, new orders are
/// not tracked (their latencies are not sampled; nothing else changes).

#include "core/ids.hpp"
#include "messages/domain.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace courier::sim {

/// The cross-client record of orders in flight.
class order_book {
public:
  explicit order_book(std::size_t orders_max);

  /// The customer's place_order for `order` left at `sent_us`.
  void placed(const core::order_id& order, std::int64_t sent_us);
  /// When place_order was sent, if known.
  std::optional<std::int64_t> place_sent_at(const core::order_id& order) const;

  /// A store or rider sent the command leading to `status` at `sent_us`.
  void command_sent(const core::order_id& order, msg::order_status status, std::int64_t sent_us);
  /// When the command leading to `status` was sent, if known.
  std::optional<std::int64_t> command_sent_at(const core::order_id& order,
                                              msg::order_status status) const;

  /// The first offer for `order` reached a rider: the accept_order send
  /// time, once per order (later offers return nullopt).
  std::optional<std::int64_t> first_offer(const core::order_id& order);

  /// The store's `ready` was accepted.
  void mark_ready(const core::order_id& order);
  bool is_ready(const core::order_id& order) const;

  /// The order is finished for the sim: drop its record.
  void forget(const core::order_id& order);
  std::size_t size() const;

private:
  static constexpr std::size_t status_count = 11;
  struct entry {
    std::int64_t place_sent_us = 0;
    std::array<std::int64_t, status_count> command_sent_us{};
    bool offered = false;
    bool ready = false;
  };
  /// The entry for `order`, created if there is room; nullptr otherwise.
  entry* touch(const core::order_id& order);
  const entry* find(const core::order_id& order) const;

  std::size_t orders_max_;
  mutable std::mutex mutex_;
  std::unordered_map<core::order_id, entry> orders_;
};

} // namespace courier::sim
