#pragma once
/// \file
/// The node's own counters for /metrics (the gateway transport and the
/// router/journal have theirs): messages in/out by protocol type, errors by
/// code. Relaxed atomics, updated from IO threads and actors alike.

#include "core/errc.hpp"
#include "messages/client.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <variant>

namespace courier::node {

/// The protocol type string of client_body alternative `i`.
std::string_view type_name_at(std::size_t i) noexcept;

class node_metrics {
public:
  static constexpr std::size_t types = std::variant_size_v<msg::client_body>;
  static constexpr std::size_t codes = static_cast<std::size_t>(core::errc::internal) + 1;

  void message_in(std::size_t type_index) noexcept { bump(in_, type_index); }
  void message_out(std::size_t type_index, std::uint64_t n = 1) noexcept {
    bump(out_, type_index, n);
  }
  void error(core::errc code) noexcept { bump(errors_, static_cast<std::size_t>(code)); }

  std::uint64_t in(std::size_t i) const noexcept { return in_[i].load(std::memory_order_relaxed); }
  std::uint64_t out(std::size_t i) const noexcept { return out_[i].load(std::memory_order_relaxed); }
  std::uint64_t errors(std::size_t i) const noexcept { return errors_[i].load(std::memory_order_relaxed); }

  /// Dispatch latency samples (accept -> rider assigned), milliseconds.
  void dispatch_latency_ms(std::uint64_t ms) noexcept;
  /// Prometheus histogram lines for the samples above.
  std::string dispatch_histogram() const;

  /// A capture (void_auth = false) or void (true) the order gave up on
  /// after its attempts: money an operator must look at.
  void payment_given_up(bool void_auth) noexcept { bump(given_up_, void_auth ? 1 : 0); }
  std::uint64_t payments_given_up(bool void_auth) const noexcept {
    return given_up_[void_auth ? 1 : 0].load(std::memory_order_relaxed);
  }

  /// A durable timer whose target never confirmed its fire
  /// (actors::reminder_fire_attempts_max tries).
  void reminder_given_up() noexcept { reminders_given_up_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t reminders_given_up() const noexcept {
    return reminders_given_up_.load(std::memory_order_relaxed);
  }

private:
  template <std::size_t N>
  static void bump(std::array<std::atomic<std::uint64_t>, N>& a, std::size_t i,
                   std::uint64_t n = 1) noexcept {
    if (i < N && n > 0)
      a[i].fetch_add(n, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, types> in_{};
  std::array<std::atomic<std::uint64_t>, types> out_{};
  std::array<std::atomic<std::uint64_t>, codes> errors_{};
  static constexpr std::array<std::uint64_t, 8> dispatch_buckets_ms{
      10, 50, 100, 250, 500, 1000, 2000, 5000};
  std::array<std::atomic<std::uint64_t>, 9> dispatch_counts_{};
  std::atomic<std::uint64_t> dispatch_sum_ms_{0};
  std::array<std::atomic<std::uint64_t>, 2> given_up_{}; ///< [capture, void]
  std::atomic<std::uint64_t> reminders_given_up_{0};
};

} // namespace courier::node
