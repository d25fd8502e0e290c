#pragma once
/// \file
/// A client for scripted benchmarks: courier-sim's connection (client_conn)
/// driven from a plain thread. Sends are posted onto the connection's
/// strand; replies land in a bounded inbox the script waits on;
/// rider_position pushes skip the inbox and go straight to the stats, and a
/// hook may take any other message first (a benchmark that answers pushes
/// at line rate cannot afford a thread waiting on the inbox per client).

#include "tools/sim/client_conn.hpp"
#include "tools/sim/stats.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace courier::bench {

/// Messages kept for the script to wait on; older ones are dropped.
inline constexpr std::size_t inbox_max = 4096;

/// Sees an inbound message on the connection's strand before the inbox
/// does; returns true if it took the message (it then skips the inbox).
using message_hook = std::function<bool(msg::envelope&)>;

/// One scripted connection.
class bench_client : public sim::conn_handler,
                     public std::enable_shared_from_this<bench_client> {
public:
  bench_client(boost::asio::io_context& io, sim::conn_target target, std::string token,
               sim::sim_stats& stats);

  /// Connects and says hello; true once welcomed within `timeout`.
  bool open(std::chrono::milliseconds timeout);
  /// Installs (or, with an empty hook, removes) the message hook (any
  /// thread; takes effect on the strand, after messages already queued).
  void set_hook(message_hook hook);
  /// Queues one message (any thread).
  void send(msg::client_body body, std::string ref = {});
  /// Waits for (and removes) the first inbox message `pred` accepts.
  std::optional<msg::envelope> wait_for(const std::function<bool(const msg::envelope&)>& pred,
                                        std::chrono::milliseconds timeout);
  /// Closes (any thread).
  void close();

private:
  void on_open() override;
  void on_message(msg::envelope message) override;
  void on_bad_frame(const std::string& why) override;
  void on_closed(bool was_open, const std::string& why) override;

  sim::strand_t strand_;
  sim::conn_target target_;
  std::string token_;
  sim::sim_stats& stats_;
  std::shared_ptr<sim::client_conn> conn_;
  message_hook hook_; // used on the strand only
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<msg::envelope> inbox_;
  bool welcomed_ = false;
  bool closed_ = false;
};

} // namespace courier::bench
