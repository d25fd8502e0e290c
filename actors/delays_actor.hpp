#pragma once
/// \file
/// delays:all: the board of orders that passed their delay alert (30 min
/// after placement by default) and are not finished.
///
/// Handles (protocol.hpp): delay_update -> msg::ok_reply (an order raised
/// its alert, changed status while late, or finished: removed);
/// delayed_orders_query -> msg::delayed_orders, most delayed first, with
/// age_s from services->clock.
///
/// Durable: every change is journaled before it is acknowledged, with a
/// snapshot every delays_snapshot_every events so recovery reads a bounded
/// tail. Bounded: at most delays_max orders are listed; an order that is
/// late while the board is full is counted (dropped_total, logged in the
/// reply's absence) and not listed: the oldest entries are the most
/// important ones to keep, and 10,000 simultaneously late orders means the
/// operators have a bigger problem than this list.

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"

#include <memory>

namespace courier::actors {

/// Orders the board lists at most.
inline constexpr std::size_t delays_max = 10'000;
/// Events between two snapshots of the board.
inline constexpr std::size_t delays_snapshot_every = 256;

/// Spawns the delays entity of `ctx.self` (a router factory calls this).
caf::actor spawn_delays_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services);

} // namespace courier::actors
