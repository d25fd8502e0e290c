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
/// Each set/cancel is journaled before it is acknowledged. A due timer
/// asks its target reminder_fired{tag, due_ms} through the router
/// (activating it) and journals that it fired only once the target answered
/// (any answer: a void handler's empty one counts); a fire nobody confirms
/// is tried again after cfg.reminder_refire_after, doubling up to
/// reminder_refire_after_max, at most reminder_fire_attempts_max times
/// (then recorded as fired and reported to observe_reminder_given_up). A
/// crash before the record fires it again after recovery: targets
/// deduplicate by tag and ignore a fire that no longer matches. On recovery
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
///
/// Bounded storage: a shard snapshots its timers (cfg.reminder_snapshot_events_min,
/// domain.hpp) so its stream never nears the journal's events-since-snapshot
/// cap, and it holds at most reminders_per_shard_max timers whose encoding
/// fits one snapshot (reminder_bytes_per_shard_max).

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"
#include "core/limits.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace courier::actors {

/// Timers one shard holds; a set beyond it is `overloaded`.
inline constexpr std::size_t reminders_per_shard_max = 100'000;

/// Bytes of timers one shard holds (their snapshot encoding, about 40 bytes
/// plus the target's key and the tag each); a new timer beyond it is
/// `overloaded`. The snapshot must fit one journal snapshot record.
inline constexpr std::size_t reminder_bytes_per_shard_max =
    core::limits::journal_snapshot_bytes_max - 64 * 1024;

/// Fires awaiting their target's answer; a timer due beyond it waits a
/// second (re-armed).
inline constexpr std::size_t reminder_fires_in_flight_max = 1024;
/// How long one fire waits for its target's answer.
inline constexpr std::chrono::seconds reminder_fire_timeout{10};
/// Longest wait between two tries of an unconfirmed fire.
inline constexpr std::chrono::seconds reminder_refire_after_max{60};
/// Tries of one fire before it is recorded as fired anyway (about 12
/// minutes at the defaults).
inline constexpr std::uint32_t reminder_fire_attempts_max = 16;

/// Ticks (the shard's own wake-ups) armed at once. A shard arms one tick
/// for its earliest fire; another only for an earlier one.
inline constexpr std::size_t reminder_ticks_in_flight_max = 16;

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
