#pragma once
/// \file
/// The shared state behind `responder` (private; no Asio). Same detach rule
/// as session_core: the HTTP connection unhooks itself under `m` before it
/// dies, so a late answer from an actor thread is dropped, never a crash.

#include "nodes/gateway/http.hpp"

#include <atomic>
#include <functional>
#include <mutex>

namespace courier::gateway::detail {

/// Implemented by an HTTP connection: post the response to its strand.
/// Called with responder_state::m held; must only post.
class http_link {
public:
  virtual void respond(http_response r) = 0;

protected:
  ~http_link() = default;
};

struct responder_state {
  explicit responder_state(http_link* l) : link(l) {}
  /// Answers 500 if no copy of the responder was ever called.
  ~responder_state();
  responder_state(const responder_state&) = delete;
  responder_state& operator=(const responder_state&) = delete;

  /// Hands `r` to the connection if it is still there.
  void deliver(http_response r);
  /// The connection is going away.
  void detach();

  std::mutex m;
  http_link* link;
  std::atomic<bool> used{false};
  /// Called once, when the request is answered (set before it can be).
  std::function<void()> on_answer;
};

} // namespace courier::gateway::detail
