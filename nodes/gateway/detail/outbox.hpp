#pragma once
/// \file
/// A session's bounded outbound queue, pure logic (no locking, no Asio):
/// reliable frames in order, latest(key) frames coalesced by key, and a
/// pending-bytes bound enforced by dropping coalescable frames first.
/// session_core guards it with its mutex.
///
/// Built for the fan-out path (issue #11): a push stores a count on the
/// shared frame and on the delivery's key, nothing is copied, and in the
/// steady state (a queue 0-2 frames deep) no push or pop allocates. Frames
/// sit in one vector, oldest first; a replaced or dropped frame leaves a
/// tombstone (its bytes are released at once) that pops skip. The vector
/// is compacted once the popped slots before its head are as many as the
/// live frames, or all dead slots exceed max(dead_slots_min, live frames):
/// each compaction moves no more frames than pushes or pops made dead
/// slots since the last, so every operation is O(1) amortized however
/// deep the queue is.

#include "nodes/gateway/session.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace courier::gateway::detail {

/// Outcome of outbox::push, finer than push_result.
enum class outbox_push : std::uint8_t {
  queued,
  replaced, ///< replaced a pending frame with the same key
  dropped,  ///< a latest(key) frame that did not fit
  overflow, ///< reliable frames alone exceed the bound; nothing was queued
};

/// FIFO of frames with coalescing and a byte bound.
class outbox {
public:
  /// Dead slots (tombstones and popped slots) the queue may hold besides
  /// one per live frame before it compacts.
  static constexpr std::size_t dead_slots_min = 8;
  /// Slots an empty queue keeps allocated; a burst's bigger buffers are
  /// freed when it drains.
  static constexpr std::size_t idle_slots_max = 16;
  /// Slots a queue may hold and still be searched by key without the
  /// index: the usual queue (0-2 frames) allocates no index at all.
  static constexpr std::size_t scan_slots_max = 8;
  static_assert(dead_slots_min < idle_slots_max,
                "a shallow queue and its tombstones fit the buffer kept between bursts");

  /// `overhead_bytes` is charged per frame on top of its payload.
  outbox(std::size_t pending_bytes_max, std::size_t overhead_bytes);

  /// Queues `f` (which must hold a frame). Frames dropped to make room
  /// (coalescable only, oldest first) are added to `dropped`, and so is
  /// `f` itself if it is a latest(key) frame that does not fit.
  outbox_push push(const shared_frame& f, const delivery& d, std::size_t& dropped);

  /// Removes and returns the oldest frame, if any.
  std::optional<shared_frame> pop();

  /// Discards everything queued and frees the buffers.
  void clear();

  bool empty() const noexcept { return live_ == 0; }
  /// Frames queued (tombstones not counted).
  std::size_t size() const noexcept { return live_; }
  std::size_t pending_bytes() const noexcept { return bytes_; }
  /// Slots held by frames already popped, replaced or dropped; at most
  /// max(dead_slots_min, size()) between calls.
  std::size_t dead_slots() const noexcept { return head_ + tombstones_; }

private:
  struct entry {
    shared_frame f; ///< empty: a tombstone, or already popped
    delivery how;
  };
  static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);

  std::size_t cost(const shared_frame& f) const noexcept { return f.size() + overhead_; }
  /// Turns the live entry at `pos` into a tombstone.
  void kill(std::size_t pos);
  /// Drops the oldest coalescable frame; false if there is none.
  bool drop_oldest_latest();
  /// Restores the invariants after removals: the front slot is live, an
  /// empty queue holds no slots, dead slots stay within their bound.
  void settle();
  void compact();

  // The key index: open addressing with linear probing over the positions
  // of live coalescable entries (the key itself lives once, in the entry's
  // delivery, with its hash precomputed). A short queue has none and is
  // scanned: index_ empty implies at most scan_slots_max pending slots or
  // no key at all.
  std::size_t find(const delivery& d) const;
  /// Accounts for the entry just appended at `pos` (reliable or not).
  void index_appended(std::size_t pos);
  void index_erase(std::size_t pos);
  /// Reallocates the index for `slots` (a power of two) and refills it
  /// with every live coalescable entry in q_.
  void index_rebuild(std::size_t slots);

  std::size_t max_;
  std::size_t overhead_;
  std::size_t bytes_ = 0;
  /// [0, head_) popped, [head_, end) pending frames and tombstones in push
  /// order; q_[head_] is live unless the queue is empty.
  std::vector<entry> q_;
  std::size_t head_ = 0;
  std::size_t live_ = 0;
  std::size_t tombstones_ = 0; ///< dead slots in [head_, end)
  /// No live coalescable entry lies before this position: dropping the
  /// oldest one resumes the scan here, so each slot is passed once.
  std::size_t scan_ = 0;
  std::vector<std::size_t> index_; ///< no_slot or a position in q_
  std::size_t indexed_ = 0;        ///< live coalescable entries
};

} // namespace courier::gateway::detail
