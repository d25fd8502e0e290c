#include "nodes/gateway/detail/outbox.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::gateway::detail {

namespace {
/// Index slots for `n` keys: a power of two at least twice n (linear
/// probing stays short below half full).
std::size_t index_slots_for(std::size_t n) {
  std::size_t slots = 8;
  while (slots < 2 * n)
    slots *= 2;
  return slots;
}
} // namespace

outbox::outbox(std::size_t pending_bytes_max, std::size_t overhead_bytes)
    : max_(pending_bytes_max), overhead_(overhead_bytes) {
  COURIER_ASSERT(pending_bytes_max > overhead_bytes);
}

void outbox::kill(std::size_t pos) {
  auto& e = q_[pos];
  COURIER_ASSERT(e.f);
  COURIER_ASSERT(bytes_ >= cost(e.f));
  bytes_ -= cost(e.f);
  if (e.how.coalescing())
    index_erase(pos);
  e.f = shared_frame{}; // the bytes go now, not when the slot is reclaimed
  e.how = delivery::reliable();
  --live_;
  ++tombstones_;
}

bool outbox::drop_oldest_latest() {
  for (scan_ = std::max(scan_, head_); scan_ < q_.size(); ++scan_) {
    if (q_[scan_].f && q_[scan_].how.coalescing()) {
      kill(scan_++);
      return true;
    }
  }
  return false;
}

outbox_push outbox::push(const shared_frame& f, const delivery& d, std::size_t& dropped) {
  COURIER_ASSERT(f);
  auto result = outbox_push::queued;
  if (d.coalescing()) {
    if (auto old = find(d); old != no_slot) {
      kill(old);
      result = outbox_push::replaced;
    }
  }
  auto need = cost(f);
  // Make room from coalescable frames only, oldest first.
  while (bytes_ + need > max_ && drop_oldest_latest())
    ++dropped;
  if (bytes_ + need > max_) {
    settle();
    if (d.coalescing()) {
      ++dropped;
      return outbox_push::dropped;
    }
    return outbox_push::overflow;
  }
  q_.push_back(entry{f, d});
  ++live_;
  bytes_ += need;
  index_appended(q_.size() - 1);
  settle();
  COURIER_ASSERT(bytes_ <= max_);
  return result;
}

std::optional<shared_frame> outbox::pop() {
  if (live_ == 0)
    return std::nullopt;
  auto& e = q_[head_];
  COURIER_ASSERT(e.f); // settle() keeps the front live
  COURIER_ASSERT(bytes_ >= cost(e.f));
  bytes_ -= cost(e.f);
  if (e.how.coalescing())
    index_erase(head_);
  auto f = std::move(e.f);
  e.f = shared_frame{};
  e.how = delivery::reliable();
  --live_;
  ++head_;
  settle();
  return f;
}

void outbox::clear() {
  q_ = {};
  index_ = {};
  head_ = live_ = tombstones_ = scan_ = indexed_ = bytes_ = 0;
}

void outbox::settle() {
  while (head_ < q_.size() && !q_[head_].f) {
    ++head_;
    --tombstones_;
  }
  if (live_ == 0) {
    COURIER_ASSERT(head_ == q_.size());
    COURIER_ASSERT(indexed_ == 0);
    COURIER_ASSERT(bytes_ == 0);
    if (q_.capacity() > idle_slots_max)
      q_ = {};
    else
      q_.clear(); // kept: the next push does not allocate
    index_ = {};
    head_ = tombstones_ = scan_ = 0;
    return;
  }
  // Slots before the head are dropped as soon as they are as many as the
  // live frames, so a queue held 1-2 deep (a key replaced while unread)
  // keeps a vector of a few slots, not one that grows to the bound.
  if (head_ >= live_ || dead_slots() > std::max(dead_slots_min, live_))
    compact();
  COURIER_ASSERT(live_ + dead_slots() == q_.size());
  COURIER_ASSERT(q_[head_].f);
}

void outbox::compact() {
  std::size_t w = 0;
  for (std::size_t r = head_; r < q_.size(); ++r) {
    if (!q_[r].f)
      continue;
    if (r != w)
      q_[w] = std::move(q_[r]);
    ++w;
  }
  COURIER_ASSERT(w == live_);
  q_.erase(q_.begin() + static_cast<std::ptrdiff_t>(w), q_.end());
  head_ = tombstones_ = scan_ = 0;
  // Positions moved: the index is refilled, sized for what is left, so a
  // drained burst does not keep a big index walked at every compaction.
  std::size_t keys = 0;
  for (auto& e : q_)
    keys += e.how.coalescing() ? 1 : 0;
  if (keys > 0 && q_.size() > scan_slots_max) {
    index_rebuild(index_slots_for(keys + 1));
  } else {
    index_ = {};
    indexed_ = keys;
  }
  COURIER_ASSERT(indexed_ == keys);
}

std::size_t outbox::find(const delivery& d) const {
  if (indexed_ == 0)
    return no_slot;
  if (index_.empty()) {
    COURIER_ASSERT(q_.size() - head_ <= scan_slots_max);
    for (auto pos = head_; pos < q_.size(); ++pos)
      if (q_[pos].how.same_key(d)) // a tombstone's delivery is reliable: no match
        return pos;
    return no_slot;
  }
  auto mask = index_.size() - 1;
  for (auto i = d.key_hash() & mask; index_[i] != no_slot; i = (i + 1) & mask)
    if (q_[index_[i]].how.same_key(d))
      return index_[i];
  return no_slot;
}

void outbox::index_appended(std::size_t pos) {
  COURIER_ASSERT(q_[pos].f);
  bool key = q_[pos].how.coalescing();
  if (index_.empty()) {
    indexed_ += key ? 1 : 0;
    // Past scan_slots_max a queue holding keys gets the index; the rebuild
    // counts `pos` too.
    if (indexed_ > 0 && q_.size() - head_ > scan_slots_max)
      index_rebuild(index_slots_for(indexed_ + 1));
    return;
  }
  if (!key)
    return;
  if (2 * (indexed_ + 1) > index_.size()) {
    index_rebuild(index_slots_for(indexed_ + 1)); // counts `pos` too
    return;
  }
  auto mask = index_.size() - 1;
  auto i = q_[pos].how.key_hash() & mask;
  while (index_[i] != no_slot)
    i = (i + 1) & mask;
  index_[i] = pos;
  ++indexed_;
}

void outbox::index_erase(std::size_t pos) {
  COURIER_ASSERT(indexed_ > 0);
  if (index_.empty()) {
    --indexed_; // a short queue: scanned, nothing to unlink
    return;
  }
  auto mask = index_.size() - 1;
  auto i = q_[pos].how.key_hash() & mask;
  while (index_[i] != pos) {
    COURIER_ASSERT(index_[i] != no_slot); // an indexed entry is in its probe run
    i = (i + 1) & mask;
  }
  // Backward-shift deletion: pull later members of the probe run into the
  // hole unless their home slot lies cyclically in (hole, j], so no run is
  // broken and no tombstones are needed in the index.
  for (auto j = i;;) {
    j = (j + 1) & mask;
    if (index_[j] == no_slot)
      break;
    auto home = q_[index_[j]].how.key_hash() & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = no_slot;
  --indexed_;
}

void outbox::index_rebuild(std::size_t slots) {
  COURIER_ASSERT(slots > 0 && (slots & (slots - 1)) == 0);
  if (index_.size() != slots)
    index_.assign(slots, no_slot);
  else
    std::fill(index_.begin(), index_.end(), no_slot);
  indexed_ = 0;
  auto mask = slots - 1;
  for (auto pos = head_; pos < q_.size(); ++pos) {
    auto& e = q_[pos];
    if (!e.f || !e.how.coalescing())
      continue;
    auto i = e.how.key_hash() & mask;
    while (index_[i] != no_slot)
      i = (i + 1) & mask;
    index_[i] = pos;
    ++indexed_;
  }
}

} // namespace courier::gateway::detail
