#include "nodes/gateway/detail/outbox.hpp"

#include "core/assert.hpp"

namespace courier::gateway::detail {

outbox::outbox(std::size_t pending_bytes_max, std::size_t overhead_bytes)
    : max_(pending_bytes_max), overhead_(overhead_bytes) {
  COURIER_ASSERT(pending_bytes_max > overhead_bytes);
}

void outbox::erase(entry_list::iterator it) {
  COURIER_ASSERT(bytes_ >= cost(it->f));
  bytes_ -= cost(it->f);
  if (it->coalescing) {
    latest_.erase(it->in_latest);
    by_key_.erase(it->key);
  }
  entries_.erase(it);
}

bool outbox::drop_oldest_latest() {
  if (latest_.empty())
    return false;
  erase(latest_.front());
  return true;
}

outbox_push outbox::push(const shared_frame& f, const delivery& d, std::size_t& dropped) {
  COURIER_ASSERT(f);
  auto result = outbox_push::queued;
  if (d.coalescing()) {
    if (auto old = by_key_.find(d.key()); old != by_key_.end()) {
      erase(old->second);
      result = outbox_push::replaced;
    }
  }
  auto need = cost(f);
  // Make room from coalescable frames only, oldest first.
  while (bytes_ + need > max_ && drop_oldest_latest())
    ++dropped;
  if (bytes_ + need > max_) {
    if (d.coalescing()) {
      ++dropped;
      return outbox_push::dropped;
    }
    return outbox_push::overflow;
  }
  auto it = entries_.insert(entries_.end(), entry{f, {}, {}, d.coalescing()});
  if (d.coalescing()) {
    it->key = d.key();
    it->in_latest = latest_.insert(latest_.end(), it);
    by_key_.emplace(d.key(), it);
  }
  bytes_ += need;
  COURIER_ASSERT(bytes_ <= max_);
  COURIER_ASSERT(by_key_.size() == latest_.size());
  return result;
}

std::optional<shared_frame> outbox::pop() {
  if (entries_.empty())
    return std::nullopt;
  auto it = entries_.begin();
  COURIER_ASSERT(bytes_ >= cost(it->f));
  bytes_ -= cost(it->f);
  auto f = std::move(it->f);
  if (it->coalescing) {
    latest_.erase(it->in_latest);
    by_key_.erase(it->key);
  }
  entries_.erase(it);
  return f;
}

void outbox::clear() {
  entries_.clear();
  latest_.clear();
  by_key_.clear();
  bytes_ = 0;
}

} // namespace courier::gateway::detail
