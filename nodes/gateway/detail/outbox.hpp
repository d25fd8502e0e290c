#pragma once
/// \file
/// A session's bounded outbound queue, pure logic (no locking, no Asio):
/// reliable frames in order, latest(key) frames coalesced by key, and a
/// pending-bytes bound enforced by dropping coalescable frames first.
/// session_core guards it with its mutex.

#include "nodes/gateway/session.hpp"

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

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
  /// `overhead_bytes` is charged per frame on top of its payload.
  outbox(std::size_t pending_bytes_max, std::size_t overhead_bytes);

  /// Queues `f` (which must hold a frame). Frames dropped to make room
  /// (coalescable only, oldest first) are added to `dropped`.
  outbox_push push(const shared_frame& f, const delivery& d, std::size_t& dropped);

  /// Removes and returns the oldest frame, if any.
  std::optional<shared_frame> pop();

  /// Discards everything queued.
  void clear();

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t pending_bytes() const noexcept { return bytes_; }

private:
  struct entry;
  using entry_list = std::list<entry>;
  using latest_list = std::list<entry_list::iterator>;
  struct entry {
    shared_frame f;
    std::string key;                 // "" for reliable frames
    latest_list::iterator in_latest; // valid only if coalescing
    bool coalescing = false;
  };

  std::size_t cost(const shared_frame& f) const noexcept { return f.size() + overhead_; }
  void erase(entry_list::iterator it);
  /// Drops the oldest coalescable frame; false if there is none.
  bool drop_oldest_latest();

  std::size_t max_;
  std::size_t overhead_;
  std::size_t bytes_ = 0;
  entry_list entries_;
  latest_list latest_; // coalescable entries, oldest first
  std::unordered_map<std::string, entry_list::iterator> by_key_;
};

} // namespace courier::gateway::detail
