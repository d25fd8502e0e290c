#pragma once
/// \file
/// A scripted client connection for bench/entities: courier-sim's
/// client_conn with every event handed to callbacks on the connection's own
/// strand, so a script needs no locks and no waiting thread. Thousands run
/// at once on one io_context; each keeps itself alive until it is closed.

#include "tools/sim/client_conn.hpp"

#include <functional>
#include <memory>
#include <string>

namespace courier::bench {

/// One connection driven by callbacks.
class entity_session : public sim::conn_handler,
                       public std::enable_shared_from_this<entity_session> {
public:
  /// What the script does; every callback runs on the session's strand.
  struct hooks {
    std::function<void(entity_session&)> welcomed;
    std::function<void(entity_session&, msg::envelope&)> message;
    /// Exactly once; `welcomed_before` false if it never got to welcome.
    std::function<void(entity_session&, bool welcomed_before)> closed;
  };

  entity_session(boost::asio::io_context& io, sim::conn_target target, std::string token,
                 hooks h);

  /// Connects and says hello (any thread).
  void start();
  /// Queues one message; false if the connection refused it. Strand only.
  bool send(msg::client_body body, std::string ref = {});
  /// Closes. Strand only (callbacks are on it).
  void close();

private:
  void on_open() override;
  void on_message(msg::envelope message) override;
  void on_bad_frame(const std::string& why) override;
  void on_closed(bool was_open, const std::string& why) override;

  sim::strand_t strand_;
  sim::conn_target target_;
  std::string token_;
  hooks hooks_;
  std::shared_ptr<sim::client_conn> conn_;
  /// Holds the session alive from start() until on_closed (the connection
  /// only keeps a weak reference to its handler).
  std::shared_ptr<entity_session> keep_alive_;
  bool welcomed_ = false;
};

} // namespace courier::bench
