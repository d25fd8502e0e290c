#pragma once
/// \file
/// What the node wiring sees of a client connection: frames, delivery modes,
/// the thread-safe `session` handle and the `session_handler` it implements.
/// No Asio or Beast here: this header is cheap to include from actor code.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace courier::gateway {

/// WebSocket text (one JSON object) or binary (one protobuf Envelope); raw
/// TCP frames are always binary.
enum class frame_kind : std::uint8_t { text, binary };

/// One client message as it crossed the wire, payload not parsed. Inbound
/// frames come as this; an outbound one may be pushed as this too (it is
/// then wrapped in a shared_frame).
struct frame {
  frame_kind kind = frame_kind::binary;
  std::string data;
  /// For a push: core::metrics_now_ns() when the gateway actor handed it to
  /// the sessions; the write that sends it observes push latency from it
  /// (courier_push_latency_us). 0: not a push (replies, inbound frames).
  std::int64_t pushed_ns = 0;
};

/// An outbound frame whose bytes are immutable and shared: a fan-out encodes
/// a message once and every session it is pushed to (and every queue and
/// write it passes through) holds a count on the same bytes, not a copy.
/// Cheap to copy (one atomic increment); safe to share across threads.
class shared_frame {
public:
  /// No frame: only a placeholder to assign to (pushing it is a bug).
  shared_frame() noexcept = default;
  /// Takes `f`'s bytes without copying them (one allocation for the count).
  explicit shared_frame(frame f) : p_(std::make_shared<const frame>(std::move(f))) {}

  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Precondition for the accessors: a frame is held.
  frame_kind kind() const noexcept { return p_->kind; }
  const std::string& data() const noexcept { return p_->data; }
  std::size_t size() const noexcept { return p_->data.size(); }
  std::int64_t pushed_ns() const noexcept { return p_->pushed_ns; }

private:
  std::shared_ptr<const frame> p_;
};

/// How an outbound frame may be treated when the client reads slowly.
/// Build one per fan-out and pass it to every session: the key is stored
/// and hashed once, and each queued frame only holds a count on it.
class delivery {
public:
  /// Delivered in order, never dropped; if reliable frames alone exceed the
  /// session's pending-bytes bound, the session is closed ("slow consumer").
  static delivery reliable() noexcept { return delivery{}; }
  /// Coalescing: a pending, not yet written frame with the same key is
  /// replaced (the new frame goes to the back of the queue, so what the
  /// client receives is always a subsequence of what was pushed). Under
  /// memory pressure such frames are dropped before any reliable one.
  /// Example key: "rider_position:o-123".
  static delivery latest(std::string key);

  bool coalescing() const noexcept { return key_ != nullptr; }
  /// The coalescing key; "" for a reliable delivery.
  const std::string& key() const noexcept;
  /// std::hash of key(), computed once; 0 for a reliable delivery.
  std::size_t key_hash() const noexcept { return hash_; }
  /// Same key (both coalescing), by shared storage first, then by value.
  bool same_key(const delivery& other) const noexcept;

private:
  delivery() noexcept = default;
  std::shared_ptr<const std::string> key_; ///< null: reliable
  std::size_t hash_ = 0;
};

/// What became of a pushed frame.
enum class push_result : std::uint8_t {
  queued,    ///< accepted for delivery
  replaced,  ///< accepted; it replaced a pending frame with the same key
  dropped,   ///< a latest(key) frame that did not fit the pending-bytes bound
  closed,    ///< the session is closing or closed (or just closed as a slow consumer)
  too_large, ///< larger than frame_bytes_max: never sent
};

/// The transport a session arrived on.
enum class transport : std::uint8_t { ws, tcp };

/// "ws" or "tcp".
std::string_view to_string(transport t) noexcept;

/// One client connection (WebSocket or raw TCP), as seen by the node wiring.
///
/// Thread-safe: push() and close() may be called from any thread (actors),
/// also after the connection or the whole gateway is gone (they then return
/// push_result::closed / do nothing). A session is shared_ptr-managed; keep
/// a weak_ptr in long-lived tables so a dead client's session is freed.
class session {
public:
  virtual ~session() = default;

  /// Unique per gateway, never reused; > 0.
  virtual std::uint64_t id() const noexcept = 0;
  virtual courier::gateway::transport transport() const noexcept = 0;
  /// The peer, "address:port".
  virtual const std::string& remote_address() const noexcept = 0;

  /// Queues `f` for the client: the session holds a count on its bytes
  /// until they are written (or replaced, dropped, discarded). Never blocks
  /// and never grows memory past the session's pending-bytes bound (see
  /// delivery). `f` must hold a frame.
  virtual push_result push(const shared_frame& f, const delivery& d) = 0;
  /// Same, for a frame meant for this session only (a reply): wraps it.
  push_result push(frame f, const delivery& d) { return push(shared_frame{std::move(f)}, d); }

  /// Writes what is already queued, then closes (WebSocket: a close frame
  /// with `reason`, truncated to 123 bytes). Later pushes are discarded. A
  /// client that does not read is cut off after the close timeout.
  virtual void close(std::string reason) = 0;

  /// True once close() was called or the connection ended.
  virtual bool closing() const = 0;

  /// The client heartbeats (it sent the protocol's `ping`): from now on it
  /// is closed when silent for the idle timeout, whatever its transport.
  /// WebSocket sessions are held to it from the start (the transport pings
  /// them); a TCP client that never heartbeats is not, since PROTOCOL.md
  /// gives a listening TCP client nothing to send (the kernel's keepalive
  /// finds its dead peers instead).
  virtual void heartbeating() = 0;
};

using session_ptr = std::shared_ptr<session>;

/// While one is open on a thread, the IO wake-ups that pushes made on that
/// thread owe are held back and handed to the IO threads in one go when it
/// ends: a fan-out to N sessions then costs one cross-thread hand-off, not
/// N. Scopes nest (the outermost one hands off). Open one around a loop of
/// push() calls; never keep one open while waiting for anything.
class push_batch {
public:
  push_batch() noexcept;
  ~push_batch();
  push_batch(const push_batch&) = delete;
  push_batch& operator=(const push_batch&) = delete;
};

/// Implemented by the node wiring; receives the sessions' events.
///
/// All calls come from the gateway's IO threads (on_close may also come from
/// the thread calling gateway::stop(), after the IO threads ended). They must not block (no
/// waiting on actors, locks held by actors, disk or network): parse, hand
/// the message to an actor (anon_send) and return. Calls for one session are
/// never concurrent and come in order: on_open, then on_frame /
/// on_bad_framing, then on_close exactly once. Calls for different sessions
/// may run concurrently when the gateway has more than one IO thread.
class session_handler {
public:
  virtual ~session_handler() = default;
  /// A connection is established (WebSocket handshake done / TCP accepted).
  virtual void on_open(const session_ptr& s) = 0;
  /// One inbound frame (at most frame_bytes_max bytes).
  virtual void on_frame(const session_ptr& s, frame f) = 0;
  /// The framing itself is broken (oversize TCP length prefix, oversize or
  /// malformed WebSocket message). No more frames will be read; the handler
  /// may push an error, and the gateway then closes the session (queued
  /// frames are flushed first; a WebSocket then gets close code 1009 for
  /// an oversize message, 1002 for a broken frame).
  virtual void on_bad_framing(const session_ptr& s, std::string reason) = 0;
  /// The connection is gone; no more calls for `s` follow.
  virtual void on_close(const session_ptr& s) = 0;
};

} // namespace courier::gateway
