#pragma once
/// \file
/// IO-side internals shared by the listeners and connections (private;
/// Asio but no Beast). Threading: every connection lives on its own strand;
/// the only state touched from several threads is server_context's registry
/// (mutex), its counters (atomics) and session_core / responder_state (their
/// own mutexes).

#include <utility> // before Asio (Asio 1.74 in C++20 mode)

#include "nodes/gateway/detail/session_core.hpp"
#include "nodes/gateway/gateway.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace courier::gateway::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

class session_conn;

/// Sessions woken from foreign threads (actors pushing), handed to the IO
/// threads in batches: one post per batch instead of one per session, and
/// none at all while a push_batch is open on the pushing thread (it kicks
/// the queue when it ends). add() is called under the woken session's
/// mutex, so it only appends and maybe posts.
///
/// Driven (gateway_config::io_threads 0): on the thread that runs the IO
/// (io_loop_impl marks it) nothing is posted; the drain is owed and done by
/// the next io_loop::run() on that thread, before it could block.
class wake_queue : public std::enable_shared_from_this<wake_queue> {
public:
  wake_queue(net::io_context& ioc, bool driven) : ioc_(&ioc), driven_(driven) {}
  void add(std::shared_ptr<session_conn> c);
  /// Posts (or owes) a drain if sessions wait and none is posted.
  void kick();
  /// The io_context is going away: nothing is posted from now on.
  void close();
  /// Driven: the calling thread runs the IO from now on.
  void drive_from_this_thread();
  /// Driven, on the IO thread: runs the drain owed, if any; true if it ran.
  bool drain_owed();

private:
  void drain();
  /// Under m_: schedules a drain (a post, or owed on the driving thread).
  void schedule_locked();

  std::mutex m_;
  net::io_context* ioc_;
  const bool driven_;
  std::vector<std::shared_ptr<session_conn>> woken_; ///< bounded by the live sessions (a session is in it at most once: its own wake flag)
  bool posted_ = false; ///< a drain is posted or owed
  bool owed_ = false;   ///< the drain is owed by the driving thread, not posted
  bool closed_ = false;
};

/// Anything the gateway must be able to close at stop().
class connection {
public:
  virtual ~connection() = default;
  /// From stop(), any thread: start closing (posts to the strand).
  virtual void shutdown() = 0;
  /// From stop() after the IO threads were joined: finish without IO
  /// (detach from handles, report on_close).
  virtual void abandon() = 0;
};

/// What every connection of one gateway shares. Declared so that the
/// io_context is destroyed first (it destroys pending handlers, which may
/// own connections referring to the rest).
class server_context {
public:
  server_context(gateway_config c, session_handler& s, http_handler& h);
  ~server_context();

  /// Registers a live connection; false once stopping (the caller then
  /// closes itself).
  bool add(std::uint64_t id, std::shared_ptr<connection> c);
  void remove(std::uint64_t id);
  /// Marks stopping and returns the live connections.
  std::vector<std::shared_ptr<connection>> begin_stop();
  /// Waits until no connection is registered or `timeout` passed.
  void wait_empty(std::chrono::milliseconds timeout);
  /// Empties the registry, returning what was left.
  std::vector<std::shared_ptr<connection>> take_all();

  /// Reserves a slot under `max`; false (and refused counted) if full.
  bool reserve(std::atomic<std::size_t>& slots, std::size_t max);

  const gateway_config cfg;
  session_handler& sessions;
  http_handler& http;
  const std::shared_ptr<gateway_stats> stats;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::size_t> session_slots{0}; ///< WebSocket (from upgrade) + TCP
  std::atomic<std::size_t> http_slots{0};

private:
  std::mutex m_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> live_;

public:
  /// Holds only the io_context's address (it is constructed right after).
  const std::shared_ptr<wake_queue> wakes;
  net::io_context ioc; // last member: destroyed first
};

/// gateway::loop() with io_threads 0: the IO run on the embedding's thread.
class io_loop_impl final : public io_loop {
public:
  explicit io_loop_impl(server_context& ctx) : ctx_(ctx) {}
  status run(bool block) override;
  void wake() override;
  /// From gateway::stop(): run() says `closed` from now on; returns once no
  /// run() is in progress.
  void close();

private:
  server_context& ctx_;
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = true;
  int running_ = 0;
};

/// "address:port" of the peer, or "?" if the socket has none.
std::string remote_of(const tcp::socket& s);

/// Applies the per-session socket options (no delay, send buffer).
void tune_session_socket(const gateway_config& cfg, tcp::socket& s);

/// Entry points of the listeners (the socket runs on its own strand).
void start_http_connection(server_context& ctx, tcp::socket s);
void start_tcp_session(server_context& ctx, tcp::socket s);

/// The transport-independent half of a WebSocket or TCP session's IO:
/// the pump (one write in flight), the watchdog timer (first-frame, idle
/// and close deadlines), teardown. Runs on the connection's strand.
class session_conn : public connection,
                     public io_link,
                     public std::enable_shared_from_this<session_conn> {
public:
  session_conn(server_context& ctx, net::any_io_executor strand, transport t,
               std::string remote, bool idle_by_watchdog);

  void shutdown() override;
  void abandon() override;

protected:
  /// Registers; false if stopping (the connection is then torn down).
  bool enlist();
  /// The transport is ready: on_open, watchdog.
  void open();
  /// An inbound frame (dropped if the session is closing).
  void frame_in(frame f);
  /// Broken framing: counted, on_bad_framing, then close.
  void bad_framing(std::string reason);
  /// Completion of an asynchronous write (the rest of a batch).
  void write_done(const error_code& ec);
  /// Ends the connection once: cut, detach, on_close, unregister.
  void teardown();

  /// The bytes to write for current_ (and any control bytes), in order, as
  /// buffers into memory the transport keeps until finish_write().
  virtual void prepare_write(std::vector<net::const_buffer>& out) = 0;
  /// The prepared bytes are written (or the write failed).
  virtual void finish_write() {}
  /// The connected socket (writes go to it directly).
  virtual tcp::socket& socket() = 0;
  /// Frames one write may take.
  virtual std::size_t frames_per_write_max() const { return 1; }
  /// Transport bytes of its own to write (a WebSocket pong) even when no
  /// frame is queued: a write then goes with current_ empty.
  virtual bool control_pending() const { return false; }
  /// Starts a write now if none is in flight (after control_pending()
  /// became true).
  void kick() { pump(); }
  /// The peer showed it is alive without a frame (a WebSocket pong).
  void peer_active() {
    last_in_ = steady::now();
    pinged_ = false;
  }
  /// Asks the peer to show it is alive (a WebSocket ping); false if the
  /// transport has no such thing (TCP: the client heartbeats on its own).
  virtual bool send_ping() { return false; }
  /// Graceful close after the last write; ends in teardown().
  virtual void begin_close(const std::string& reason) = 0;
  /// Closes the socket now; pending operations fail.
  virtual void cut() = 0;

  server_context& ctx_;
  const net::any_io_executor strand_;
  const std::shared_ptr<session_core> core_;
  std::vector<shared_frame> current_; ///< the frames being written
  bool done_ = false;

private:
  friend class wake_queue;
  /// Runs on_wake on this session's executor (from a wake_queue drain).
  void run_wake();
  void wake() override;
  void on_wake();
  void pump();
  /// The earliest deadline the watchdog has to time now, if any.
  std::optional<steady::time_point> watchdog_deadline() const;
  void arm_watchdog();
  void cancel_watchdog();
  void on_watchdog(const error_code& ec);
  void count_written();
  void close_after_writes(const std::string& reason);

  std::vector<net::const_buffer> bufs_; ///< the batch being written
  /// Frames current_ keeps room for between writes.
  static constexpr std::size_t idle_frames_max = 8;

  net::steady_timer watchdog_;
  /// Whether the idle timeout applies: from the start (WebSocket), or once
  /// the client heartbeats (session::heartbeating()).
  bool idle_applies() const noexcept { return idle_by_watchdog_ || heartbeat_seen_; }

  const bool idle_by_watchdog_;
  bool heartbeat_seen_ = false; ///< core_->heartbeats() was seen on this strand
  bool pinged_ = false;         ///< a ping went out since the peer last spoke
  bool opened_ = false;
  bool writing_ = false;
  bool closing_io_ = false;
  bool got_frame_ = false;
  bool watchdog_armed_ = false; ///< a wait is pending that was not cancelled
  steady::time_point opened_at_{};
  steady::time_point last_in_{};
  std::optional<steady::time_point> close_deadline_;
};

} // namespace courier::gateway::detail
