#pragma once
/// \file
/// One simulated store, without sockets: on new_order it accepts after a
/// short delay, starts cooking a little later, and is ready after the prep
/// time it announced. The socket shell (store_agent) asks what is due at a
/// sim time and sends it.

#include "core/ids.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_clock.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_set>
#include <vector>

namespace courier::sim {

/// Tunables of store behaviour (sim time).
struct store_params {
  sim_ms accept_delay_min_ms = 5'000;
  sim_ms accept_delay_max_ms = 30'000;
  sim_ms cooking_delay_ms = 60'000;   ///< after accepting
  std::uint32_t prep_minutes_min = 5; ///< announced in accept_order
  std::uint32_t prep_minutes_max = 15;
  std::size_t orders_max = 256;       ///< open orders per store
  double reject_rate = 0;             ///< probability the store says no to a new order
};

/// What a store does next.
enum class store_action_kind : std::uint8_t { accept, cooking, ready };

/// One due action for one order.
struct store_action {
  store_action_kind kind = store_action_kind::accept;
  core::order_id order_id;
  std::uint32_t prep_minutes = 0; ///< set for accept
};

/// What a store does with a `new_order` push.
enum class new_order_outcome : std::uint8_t {
  scheduled, ///< new to the kitchen: accept is due after the accept delay
  known,     ///< open or handled lately (a snapshot after a reconnect repeats it): nothing to do
  full,      ///< orders_max open orders: the store says no
  declined,  ///< the store says no by choice (store_params::reject_rate)
};

/// Order ids a store remembers after it handled them, so a re-sent
/// `new_order` is not cooked twice (or rejected as if the kitchen were full).
inline constexpr std::size_t store_handled_max = 1024;

/// A store's kitchen: a timeline of due actions, bounded by orders_max.
class store_model {
public:
  store_model(store_params params, std::uint64_t seed);

  /// A new_order for `order` arrived at `now`.
  new_order_outcome on_new_order(core::order_id order, sim_ms now);

  /// Removes and returns everything due at `now`, in time order; each
  /// action schedules the next (accept -> cooking -> ready -> done).
  std::vector<store_action> take_due(sim_ms now);

  /// When the earliest pending action is due, if any.
  std::optional<sim_ms> next_due() const;

  /// Drops an order (its request failed): nothing more is sent for it.
  void forget(const core::order_id& order);

  /// Open orders (accepted or waiting, not yet ready).
  std::size_t open_orders() const noexcept { return open_.size(); }

private:
  struct pending {
    store_action action;
    sim_ms ready_at = 0; ///< for cooking: when ready is due
  };

  store_params params_;
  rng_t rng_;
  std::multimap<sim_ms, pending> timeline_;
  std::unordered_set<core::order_id> open_;
  /// Orders that left open_ (ready or forgotten), oldest first, at most
  /// store_handled_max.
  std::deque<core::order_id> handled_order_;
  std::unordered_set<core::order_id> handled_;

  void handled(const core::order_id& order);
};

} // namespace courier::sim
