#pragma once
/// \file
/// The node's own counters for /metrics (the gateway transport and the
/// router/journal have theirs): messages in/out by protocol type, errors by
/// code, request latency by type, the gateway actor's mailbox depth.
/// Relaxed atomics, updated from IO threads and actors alike.

#include "core/errc.hpp"
#include "core/histogram.hpp"
#include "messages/client.hpp"

#include <algorithm>
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
  void dispatch_latency_ms(std::uint64_t ms) noexcept { dispatch_.observe(ms); }
  /// Prometheus histogram lines for the samples above.
  std::string dispatch_histogram() const;

  /// A client request of type `type_index` (a client_body alternative) was
  /// answered `us` microseconds after its frame reached the node (the
  /// client handler on the IO thread -> reply or error queued on the session).
  void request_latency_us(std::size_t type_index, std::uint64_t us) noexcept {
    if (type_index < types)
      request_latency_[type_index].observe(us);
  }
  /// `courier_request_latency_us{type=...}`: one series per request type
  /// seen so far (a bounded set: the protocol's types).
  std::string request_histograms() const;

  /// The REST routes under /v1/ (the label of courier_rest_latency_us).
  enum class rest_route : std::uint8_t {
    orders_post, order_get, store_put, rider_history_get, region_stats_get, cells_get, other
  };
  static constexpr std::size_t rest_routes = 7;
  static std::string_view rest_route_name(rest_route r) noexcept;
  /// A /v1/ REST request was answered `us` microseconds after it was read
  /// (errors included: a refused token is answered too).
  void rest_latency_us(rest_route r, std::uint64_t us) noexcept {
    rest_latency_[static_cast<std::size_t>(r)].observe(us);
  }
  /// `courier_rest_latency_us{route=...}`, routes with samples only.
  std::string rest_histograms() const;

  /// A sample of the gateway actor's mailbox (messages waiting).
  void gateway_mailbox_depth(std::uint64_t n) noexcept {
    mailbox_last_.store(n, std::memory_order_relaxed);
    mailbox_.observe(n);
  }
  /// `courier_gateway_mailbox_depth` (last sample, gauge) and
  /// `courier_gateway_mailbox_depth_samples` (histogram of samples).
  std::string mailbox_metrics() const;

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

  /// Reminder shards this node reports on (shard keys 0..N-1; the domain
  /// runs 16).
  static constexpr std::size_t reminder_shards_max = 256;
  /// A reminder shard's load here (domain_services::observe_reminder_load);
  /// true when its timers just crossed `warn_at` upwards (log it once).
  bool reminder_load(std::size_t shard, std::uint64_t timers, std::uint64_t wakes,
                     std::uint64_t warn_at) noexcept {
    if (shard >= reminder_shards_max)
      return false;
    reminder_wakes_[shard].store(wakes, std::memory_order_relaxed);
    auto before = reminder_timers_[shard].exchange(timers, std::memory_order_relaxed);
    return before < warn_at && timers >= warn_at;
  }
  /// Timers and scheduled fire tries over the shards here, and the fullest
  /// shard's timers.
  struct reminder_totals {
    std::uint64_t timers = 0, wakes = 0, fullest = 0;
  };
  reminder_totals reminders() const noexcept {
    reminder_totals t;
    for (std::size_t i = 0; i < reminder_shards_max; ++i) {
      auto n = reminder_timers_[i].load(std::memory_order_relaxed);
      t.timers += n;
      t.wakes += reminder_wakes_[i].load(std::memory_order_relaxed);
      t.fullest = std::max(t.fullest, n);
    }
    return t;
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
  core::histogram<core::dispatch_ms_buckets> dispatch_;
  std::array<core::histogram<core::latency_us_buckets>, types> request_latency_{};
  std::array<core::histogram<core::latency_us_buckets>, rest_routes> rest_latency_{};
  std::atomic<std::uint64_t> mailbox_last_{0};
  core::histogram<core::depth_buckets> mailbox_;
  std::array<std::atomic<std::uint64_t>, 2> given_up_{}; ///< [capture, void]
  std::atomic<std::uint64_t> reminders_given_up_{0};
  std::array<std::atomic<std::uint64_t>, reminder_shards_max> reminder_timers_{};
  std::array<std::atomic<std::uint64_t>, reminder_shards_max> reminder_wakes_{};
};

} // namespace courier::node
