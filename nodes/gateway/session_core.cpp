#include "nodes/gateway/detail/session_core.hpp"

#include "core/assert.hpp"
#include "nodes/gateway/gateway.hpp"

namespace courier::gateway::detail {

session_core::session_core(std::uint64_t id, courier::gateway::transport t,
                           std::string remote, limits lim,
                           std::shared_ptr<gateway_stats> stats)
    : id_(id),
      transport_(t),
      remote_(std::move(remote)),
      frame_bytes_max_(lim.frame_bytes_max),
      stats_(std::move(stats)),
      outbox_(lim.pending_bytes_max, frame_overhead_bytes) {
  COURIER_ASSERT(id_ > 0);
  COURIER_ASSERT(stats_ != nullptr);
}

void session_core::wake_locked() {
  if (link_ != nullptr && !wake_pending_) {
    wake_pending_ = true;
    link_->wake();
  }
}

push_result session_core::push(const shared_frame& f, const delivery& d) {
  COURIER_ASSERT(f);
  if (f.size() > frame_bytes_max_)
    return push_result::too_large;
  std::lock_guard<std::mutex> guard{m_};
  if (state_ != state::open)
    return push_result::closed;
  std::size_t dropped = 0;
  auto r = outbox_.push(f, d, dropped);
  if (dropped > 0)
    stats_->dropped.fetch_add(dropped, std::memory_order_relaxed);
  switch (r) {
    case outbox_push::queued:
      wake_locked();
      return push_result::queued;
    case outbox_push::replaced:
      stats_->coalesced.fetch_add(1, std::memory_order_relaxed);
      wake_locked();
      return push_result::replaced;
    case outbox_push::dropped:
      wake_locked();
      return push_result::dropped;
    case outbox_push::overflow:
      // Reliable frames alone exceed the bound: the client cannot keep up.
      // Its backlog is useless now; free it and cut the session.
      stats_->closed_slow.fetch_add(1, std::memory_order_relaxed);
      outbox_.clear();
      state_ = state::closing;
      close_reason_ = "slow consumer";
      wake_locked();
      return push_result::closed;
  }
  return push_result::closed;
}

void session_core::close(std::string reason) {
  std::lock_guard<std::mutex> guard{m_};
  if (state_ != state::open)
    return;
  state_ = state::closing;
  close_reason_ = std::move(reason);
  wake_locked();
}

bool session_core::closing() const {
  std::lock_guard<std::mutex> guard{m_};
  return state_ != state::open;
}

void session_core::heartbeating() {
  if (heartbeats_.exchange(true, std::memory_order_relaxed))
    return;
  std::lock_guard<std::mutex> guard{m_};
  wake_locked(); // the IO side re-arms its watchdog with the idle deadline
}

void session_core::attach(io_link* link) {
  std::lock_guard<std::mutex> guard{m_};
  COURIER_ASSERT(link_ == nullptr);
  link_ = link;
}

bool session_core::take_wake() {
  std::lock_guard<std::mutex> guard{m_};
  wake_pending_ = false;
  return state_ != state::open;
}

io_work session_core::poll(std::vector<shared_frame>& next, std::size_t frames_max) {
  COURIER_ASSERT(frames_max > 0);
  std::lock_guard<std::mutex> guard{m_};
  io_work w;
  if (!outbox_.empty())
    stats_->session_queue_depth.observe(outbox_.size());
  std::size_t taken = 0;
  for (; taken < frames_max; ++taken) {
    auto f = outbox_.pop();
    if (!f)
      break;
    next.push_back(std::move(*f));
  }
  if (taken == 0 && state_ == state::closing) {
    w.close = true;
    w.reason = close_reason_;
  }
  return w;
}

void session_core::detach() {
  std::lock_guard<std::mutex> guard{m_};
  link_ = nullptr;
  wake_pending_ = false;
  state_ = state::closed;
  outbox_.clear();
}

} // namespace courier::gateway::detail
