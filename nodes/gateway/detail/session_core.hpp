#pragma once
/// \file
/// The thread-safe half of a session (private; no Asio). Foreign threads
/// push and close under a small mutex; the IO half (a connection, living on
/// its strand) is reached through `io_link`, which it detaches under the
/// same mutex before it dies, so a push never touches a dead connection or
/// a destroyed io_context. Pushes only post a wake-up when none is pending,
/// so memory is bounded by the outbox, not by queued handlers.

#include "nodes/gateway/detail/outbox.hpp"
#include "nodes/gateway/session.hpp"
#include "nodes/gateway/stats.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace courier::gateway::detail {

/// Implemented by a connection: schedule a pump on its strand. Called with
/// the session mutex held; must only post, never run IO inline.
class io_link {
public:
  virtual void wake() = 0;

protected:
  ~io_link() = default;
};

/// What the IO side should do once the frames poll() took are written.
struct io_work {
  bool close = false;        ///< nothing left to write and close requested
  std::string reason;        ///< the close reason, if close
};

/// The session handle given to the node wiring.
class session_core final : public session {
public:
  struct limits {
    std::size_t frame_bytes_max;
    std::size_t pending_bytes_max;
  };

  session_core(std::uint64_t id, courier::gateway::transport t, std::string remote,
               limits lim, std::shared_ptr<gateway_stats> stats);

  // session
  std::uint64_t id() const noexcept override { return id_; }
  courier::gateway::transport transport() const noexcept override { return transport_; }
  const std::string& remote_address() const noexcept override { return remote_; }
  using session::push;
  push_result push(const shared_frame& f, const delivery& d) override;
  void close(std::string reason) override;
  bool closing() const override;
  void heartbeating() override;

  /// Whether heartbeating() was called (any thread).
  bool heartbeats() const noexcept { return heartbeats_.load(std::memory_order_relaxed); }

  // IO side, called on the connection's strand.
  /// Connects the IO half; pushes wake it from now on.
  void attach(io_link* link);
  /// Acknowledges a wake-up (the next push or close posts a new one, so a
  /// close reaches the strand even while a write is stuck); returns whether
  /// the session is closing.
  bool take_wake();
  /// Moves up to `frames_max` queued frames, oldest first, to the end of
  /// `next` (the caller's buffer, reused from write to write); the close
  /// order once nothing is left to write.
  io_work poll(std::vector<shared_frame>& next, std::size_t frames_max);
  /// Disconnects the IO half for good: later pushes return closed.
  void detach();

private:
  enum class state : std::uint8_t { open, closing, closed };
  void wake_locked();

  const std::uint64_t id_;
  const courier::gateway::transport transport_;
  const std::string remote_;
  const std::size_t frame_bytes_max_;
  const std::shared_ptr<gateway_stats> stats_;

  mutable std::mutex m_;
  outbox outbox_;
  io_link* link_ = nullptr;
  bool wake_pending_ = false;
  state state_ = state::open;
  std::string close_reason_;
  std::atomic<bool> heartbeats_{false};
};

} // namespace courier::gateway::detail
