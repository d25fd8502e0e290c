#pragma once
/// \file
/// Named limits shared across layers. Each has its unit in its name; each
/// is enforced where data enters, and passing it is a counted, handled event
/// (reject, shed or coalesce), never silent growth. Tunables that operators
/// change live in the node config; these are the defaults and hard caps.

#include <cstddef>
#include <cstdint>

namespace courier::core::limits {

/// Largest client frame (PROTOCOL.md: TCP max 64 KiB; same for WebSocket).
inline constexpr std::size_t frame_bytes_max = 64 * 1024;
/// Largest journal event record.
inline constexpr std::size_t journal_record_bytes_max = 1024 * 1024;
/// Largest journal snapshot record. Larger than an event: an entity that
/// many others write to (a reminder shard holds up to ~200k timers) must
/// fit its whole state in one snapshot, or it could never bound its stream.
inline constexpr std::size_t journal_snapshot_bytes_max = 8 * 1024 * 1024;
/// Events in one journal append (one command produces a few at most).
inline constexpr std::size_t journal_events_per_append_max = 64;
/// Appends folded into one group commit (one fsync).
inline constexpr std::size_t journal_group_commit_max = 4096;
/// Live entity activations per node before LRU passivation.
inline constexpr std::size_t activations_max_default = 1'000'000;
/// Messages buffered for one entity while it passivates or hands off.
inline constexpr std::size_t entity_buffer_max = 1024;
/// Items in one order.
inline constexpr std::size_t order_items_max = 100;
/// Length of any client-supplied id or string field.
inline constexpr std::size_t id_chars_max = 128;

static_assert(journal_events_per_append_max <= journal_group_commit_max);
static_assert(frame_bytes_max < journal_record_bytes_max);
static_assert(journal_record_bytes_max <= journal_snapshot_bytes_max);

} // namespace courier::core::limits
