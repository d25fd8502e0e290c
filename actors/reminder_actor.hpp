#pragma once
/// \file
/// reminder:<shard>: durable timers (Orleans-style reminders) that survive
/// passivation and node restarts.
///
/// Handles (protocol.hpp): reminder_set -> msg::ok_reply (idempotent per
/// (target, tag): a second set moves the due time), reminder_cancel ->
/// msg::ok_reply, reminder_wake -> msg::ok_reply (only activates the shard,
/// which re-arms on recovery).
///
/// Each set/cancel is journaled before it is acknowledged; a due timer
/// sends reminder_fired{tag, due_ms} to its target through the router
/// (activating it) and then journals that it fired. A crash between the two
/// fires it again after recovery: targets deduplicate by tag. On recovery
/// every timer is re-armed in actor-clock time from services->clock; one
/// that came due while the node was down fires right away. A shard that is
/// passivated asks the router (a delayed message) to wake it at its next
/// due time, so a passivated shard still fires on time.
///
/// Writes are batched by the shard itself: every order and dispatch writes
/// to one of a few shards, so a shard sees thousands of writes per second.
/// Requests are decided in arrival order against the timers as they will be
/// once earlier writes land, queued, and journaled up to
/// journal_events_per_append_max per append, one append in flight; each is
/// answered after the append holding it (or, for a repeat, every earlier
/// write of its timer) is durable. The shard keeps handling messages while
/// an append is in flight (no `await`: an awaiting actor skips its backlog,
/// and CAF walks the skipped messages again after every reply, quadratic in
/// the backlog; issue #11).

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"

#include <cstdint>
#include <memory>

namespace courier::actors {

/// Timers one shard holds; a set beyond it is `overloaded`.
inline constexpr std::size_t reminders_per_shard_max = 100'000;

/// Writes one shard accepts ahead of the journal; beyond it a set/cancel is
/// `overloaded` (the caller's outbox retries).
inline constexpr std::size_t reminder_writes_queued_max = 8'192;

/// The shard of `target`: a stable hash (FNV-1a 64 of "kind:key") modulo
/// `shards`, the same on every node and every run.
std::uint32_t reminder_shard_for(const cluster::entity_ref& target, std::uint32_t shards);

/// The reminder entity that owns `target`'s timers.
cluster::entity_ref reminder_ref_for(const cluster::entity_ref& target,
                                     std::uint32_t shards);

/// Spawns the reminder entity of `ctx.self` (a router factory calls this).
caf::actor spawn_reminder_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                                std::shared_ptr<const domain_services> services);

} // namespace courier::actors
