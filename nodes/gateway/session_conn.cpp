#include "nodes/gateway/detail/server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace courier::gateway {
namespace detail {

namespace {
std::chrono::milliseconds ms(std::int64_t v) { return std::chrono::milliseconds{v}; }

/// The open push_batch scopes of this thread and the queues they owe a kick.
struct open_batches {
  int depth = 0;
  std::vector<std::shared_ptr<wake_queue>> owed; ///< usually one: one gateway per node
};
thread_local open_batches tl_batches;
} // namespace

/// The wake_queue whose IO this thread runs (driven mode), if any.
thread_local const wake_queue* tl_driving = nullptr;

void wake_queue::schedule_locked() {
  posted_ = true;
  if (driven_ && tl_driving == this) {
    owed_ = true; // io_loop::run() on this thread drains it before it may block
    return;
  }
  net::post(*ioc_, [self = shared_from_this()] { self->drain(); });
}

void wake_queue::add(std::shared_ptr<session_conn> c) {
  std::lock_guard<std::mutex> guard{m_};
  if (closed_)
    return;
  woken_.push_back(std::move(c));
  if (posted_)
    return;
  if (tl_batches.depth > 0) {
    auto& owed = tl_batches.owed;
    if (std::find(owed.begin(), owed.end(), shared_from_this()) == owed.end())
      owed.push_back(shared_from_this());
    return;
  }
  schedule_locked();
}

void wake_queue::kick() {
  std::lock_guard<std::mutex> guard{m_};
  if (closed_ || posted_ || woken_.empty())
    return;
  schedule_locked();
}

void wake_queue::close() {
  std::lock_guard<std::mutex> guard{m_};
  closed_ = true;
  woken_.clear();
}

void wake_queue::drive_from_this_thread() { tl_driving = this; }

bool wake_queue::drain_owed() {
  {
    std::lock_guard<std::mutex> guard{m_};
    if (!owed_)
      return false;
    owed_ = false;
  }
  drain();
  return true;
}

void wake_queue::drain() {
  std::vector<std::shared_ptr<session_conn>> batch;
  {
    std::lock_guard<std::mutex> guard{m_};
    batch.swap(woken_);
    posted_ = false;
  }
  for (auto& c : batch)
    c->run_wake();
}

} // namespace detail

push_batch::push_batch() noexcept { ++detail::tl_batches.depth; }

push_batch::~push_batch() {
  auto& b = detail::tl_batches;
  if (--b.depth > 0)
    return;
  auto owed = std::move(b.owed);
  b.owed.clear();
  for (auto& q : owed)
    q->kick();
}

namespace detail {

session_conn::session_conn(server_context& ctx, net::any_io_executor strand,
                           transport t, std::string remote, bool idle_by_watchdog)
    : ctx_(ctx),
      strand_(std::move(strand)),
      core_(std::make_shared<session_core>(
          ctx.next_id.fetch_add(1), t, std::move(remote),
          session_core::limits{ctx.cfg.frame_bytes_max, ctx.cfg.pending_bytes_max},
          ctx.stats)),
      watchdog_(strand_),
      idle_by_watchdog_(idle_by_watchdog) {}

bool session_conn::enlist() {
  if (ctx_.add(core_->id(), shared_from_this()))
    return true;
  teardown();
  return false;
}

void session_conn::open() {
  COURIER_ASSERT(!opened_);
  if (done_)
    return;
  opened_ = true;
  opened_at_ = last_in_ = steady::now();
  core_->attach(this);
  ctx_.stats->sessions_open.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats->sessions_total.fetch_add(1, std::memory_order_relaxed);
  ctx_.sessions.on_open(core_);
  arm_watchdog();
}

void session_conn::frame_in(frame f) {
  if (done_ || core_->closing())
    return; // after close() the client's words no longer matter
  last_in_ = steady::now();
  pinged_ = false;
  if (!got_frame_) {
    got_frame_ = true;
    // The first-frame deadline is met. With no idle timeout and no close
    // pending the watchdog has nothing left to time: its wait would only
    // wake the IO thread once more per session for nothing, seconds later
    // (in a load test that landed in the measured window, issue #11).
    if (!watchdog_deadline())
      cancel_watchdog();
  }
  ctx_.stats->frames_in.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats->bytes_in.fetch_add(f.data.size(), std::memory_order_relaxed);
  ctx_.sessions.on_frame(core_, std::move(f));
}

void session_conn::bad_framing(std::string reason) {
  if (done_)
    return;
  ctx_.stats->bad_framing.fetch_add(1, std::memory_order_relaxed);
  ctx_.sessions.on_bad_framing(core_, reason);
  // The handler is expected to push an error and close; close anyway (a
  // no-op if it did), since the stream cannot be resynchronized.
  core_->close("bad framing: " + reason);
}

void session_conn::wake() {
  // Called under the session mutex from any thread: only queue.
  ctx_.wakes->add(shared_from_this());
}

void session_conn::run_wake() {
  // With one thread running the IO (its own, or the embedding's) the drain
  // runs on it: call directly. Otherwise inline when already on the
  // session's strand, posted to it if not.
  if (ctx_.cfg.io_threads <= 1)
    return on_wake();
  net::dispatch(strand_, [self = shared_from_this()] { self->on_wake(); });
}

void session_conn::on_wake() {
  if (done_)
    return;
  // At most one wake-up is ever queued: the flag is set by the post and
  // cleared here, whatever the write state.
  if (core_->take_wake() && !close_deadline_) {
    close_deadline_ = steady::now() + ms(ctx_.cfg.close_timeout_ms);
    arm_watchdog();
  }
  if (!heartbeat_seen_ && core_->heartbeats()) {
    heartbeat_seen_ = true;
    arm_watchdog(); // the idle deadline applies from now on
  }
  pump();
}

void session_conn::pump() {
  if (done_ || writing_ || closing_io_)
    return;
  for (;;) {
    COURIER_ASSERT(current_.empty());
    auto w = core_->poll(current_, frames_per_write_max());
    if (current_.empty() && !control_pending()) {
      if (w.close)
        return close_after_writes(w.reason);
      return;
    }
    bufs_.clear();
    prepare_write(bufs_);
    // Most writes fit the socket buffer at once: write now, without a
    // completion round trip through the io_context; only what does not
    // fit goes out asynchronously.
    auto total = net::buffer_size(bufs_);
    error_code ec;
    auto n = socket().write_some(bufs_, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      ec = {};
      n = 0;
    }
    if (ec) {
      finish_write();
      teardown();
      return;
    }
    if (n == total) {
      count_written();
      continue;
    }
    writing_ = true;
    auto rest = std::make_shared<std::vector<net::const_buffer>>();
    std::size_t skip = n;
    for (auto& b : bufs_) {
      if (skip >= b.size()) {
        skip -= b.size();
        continue;
      }
      rest->push_back(b + skip);
      skip = 0;
    }
    net::async_write(socket(), *rest,
                     [self = shared_from_this(), rest](const error_code& e, std::size_t) {
                       self->write_done(e);
                     });
    return;
  }
}

void session_conn::close_after_writes(const std::string& reason) {
  closing_io_ = true;
  if (!close_deadline_) {
    close_deadline_ = steady::now() + ms(ctx_.cfg.close_timeout_ms);
    arm_watchdog();
  }
  begin_close(reason);
}

void session_conn::count_written() {
  std::size_t bytes = 0;
  std::int64_t now_ns = 0; // read once per write, and only if it carried a push
  for (auto& f : current_) {
    bytes += f.size();
    if (f.pushed_ns() == 0)
      continue;
    if (now_ns == 0)
      now_ns = core::metrics_now_ns();
    ctx_.stats->push_latency_us.observe(
        static_cast<std::uint64_t>(std::max<std::int64_t>(now_ns - f.pushed_ns(), 0) / 1000));
  }
  ctx_.stats->frames_out.fetch_add(current_.size(), std::memory_order_relaxed);
  ctx_.stats->bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  // The frames' counts go now, not at the next write; the vector is kept
  // for the next write unless a burst grew it.
  if (current_.capacity() > idle_frames_max)
    std::vector<shared_frame>{}.swap(current_);
  else
    current_.clear();
  finish_write();
}

void session_conn::write_done(const error_code& ec) {
  writing_ = false;
  if (ec) {
    finish_write();
    teardown();
    return;
  }
  count_written();
  pump();
}

std::optional<steady::time_point> session_conn::watchdog_deadline() const {
  std::optional<steady::time_point> next = close_deadline_;
  auto consider = [&next](steady::time_point t) {
    if (!next || t < *next)
      next = t;
  };
  if (!close_deadline_) {
    if (!got_frame_ && ctx_.cfg.first_frame_timeout_ms > 0)
      consider(opened_at_ + ms(ctx_.cfg.first_frame_timeout_ms));
    if (idle_applies() && ctx_.cfg.idle_timeout_ms > 0) {
      consider(last_in_ + ms(ctx_.cfg.idle_timeout_ms));
      if (!pinged_)
        consider(last_in_ + ms(ctx_.cfg.idle_timeout_ms / 2));
    }
  }
  return next;
}

void session_conn::arm_watchdog() {
  if (done_)
    return;
  auto next = watchdog_deadline();
  if (!next)
    return;
  watchdog_.expires_at(*next); // cancels a pending wait (it sees aborted)
  watchdog_armed_ = true;
  watchdog_.async_wait(
      [self = shared_from_this()](const error_code& ec) { self->on_watchdog(ec); });
}

void session_conn::cancel_watchdog() {
  if (!watchdog_armed_)
    return;
  watchdog_armed_ = false;
  watchdog_.cancel();
}

void session_conn::on_watchdog(const error_code& ec) {
  if (ec || done_)
    return; // re-armed, cancelled or torn down
  watchdog_armed_ = false;
  ctx_.stats->watchdog_wakeups.fetch_add(1, std::memory_order_relaxed);
  auto now = steady::now();
  if (close_deadline_) {
    if (now >= *close_deadline_) {
      ctx_.stats->forced_closes.fetch_add(1, std::memory_order_relaxed);
      teardown(); // the client would not take our last frames or close frame
      return;
    }
  } else if (!got_frame_ && ctx_.cfg.first_frame_timeout_ms > 0 &&
             now >= opened_at_ + ms(ctx_.cfg.first_frame_timeout_ms)) {
    ctx_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
    core_->close("first frame timeout");
  } else if (idle_applies() && ctx_.cfg.idle_timeout_ms > 0) {
    if (now >= last_in_ + ms(ctx_.cfg.idle_timeout_ms)) {
      ctx_.stats->timeouts.fetch_add(1, std::memory_order_relaxed);
      core_->close("idle timeout");
    } else if (!pinged_ && now >= last_in_ + ms(ctx_.cfg.idle_timeout_ms / 2)) {
      // Half the idle time without a word: ask (a transport without pings
      // waits for the client's own heartbeat).
      pinged_ = true;
      if (send_ping())
        ctx_.stats->pings.fetch_add(1, std::memory_order_relaxed);
    }
  }
  arm_watchdog();
}

void session_conn::teardown() {
  if (done_)
    return;
  done_ = true;
  cut();
  cancel_watchdog();
  core_->detach();
  ctx_.session_slots.fetch_sub(1, std::memory_order_relaxed);
  if (opened_) {
    ctx_.stats->sessions_open.fetch_sub(1, std::memory_order_relaxed);
    ctx_.sessions.on_close(core_);
  }
  ctx_.remove(core_->id()); // may drop the registry's reference; callers hold one
}

void session_conn::shutdown() {
  net::post(strand_, [self = shared_from_this()] {
    if (!self->opened_)
      self->teardown(); // still in the handshake: nothing to say goodbye to
    else
      self->core_->close("server shutting down");
  });
}

void session_conn::abandon() {
  auto keep = shared_from_this();
  teardown();
}

} // namespace detail
} // namespace courier::gateway
