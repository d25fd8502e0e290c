#pragma once
/// \file
/// The orders benchmark's bookkeeping: when each order was sent, placed
/// (the customer's order_placed) and accepted (the store's ok to its
/// accept_order), from any client thread; and the figures of one
/// measurement window. No sockets, no node: plain data under one mutex.

#include "tools/sim/latency.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace courier::bench {

/// What one window of a run measured.
struct order_window {
  std::uint64_t sent = 0;       ///< orders sent in the window
  std::uint64_t placed = 0;     ///< order_placed replies received in the window
  std::uint64_t accepted = 0;   ///< accept oks received in the window
  std::uint64_t failed = 0;     ///< orders sent in the window answered with an error
  std::uint64_t unfinished = 0; ///< orders sent in the window, neither accepted nor failed
  sim::latency_summary to_placed;   ///< place_order sent -> order_placed received
  sim::latency_summary to_accepted; ///< place_order sent -> store's accept ok received
};

/// Timestamps (steady clock, microseconds) of up to `orders_max` orders,
/// numbered 0.. by the pacer. Thread-safe.
class order_tracker {
public:
  explicit order_tracker(std::size_t orders_max);

  /// How many orders fit; the pacer stops there.
  std::size_t capacity() const noexcept { return orders_.size(); }
  /// Order `n` was handed to its customer's connection.
  void on_sent(std::size_t n, std::int64_t at_us);
  /// Order `n` got order_placed with `order_id`.
  void on_placed(std::size_t n, const std::string& order_id, std::int64_t at_us);
  /// Order `n` got an error (place refused, or its accept refused).
  void on_failed(std::size_t n);
  /// The store's accept of `order_id` was answered ok (the placed reply
  /// may still be on its way on the customer's connection).
  void on_accepted(const std::string& order_id, std::int64_t at_us);
  /// True once every order sent in [from_us, to_us) is accepted or failed.
  bool settled(std::int64_t from_us, std::int64_t to_us) const;
  /// The figures of the window [from_us, to_us): latencies of the orders
  /// sent in it, counts of replies received in it.
  order_window window(std::int64_t from_us, std::int64_t to_us) const;

private:
  /// One order's timestamps; 0 = not yet.
  struct times {
    std::int64_t sent_us = 0, placed_us = 0, accepted_us = 0;
    bool failed = false;
  };
  mutable std::mutex mutex_;
  std::vector<times> orders_;
  std::unordered_map<std::string, std::size_t> number_of_;
  /// Accepts that overtook their order_placed (different connections).
  std::unordered_map<std::string, std::int64_t> early_accepts_;
  std::size_t sent_ = 0; ///< orders 0..sent_-1 have been sent
};

} // namespace courier::bench
