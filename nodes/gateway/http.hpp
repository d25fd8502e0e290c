#pragma once
/// \file
/// Plain HTTP as the node wiring sees it: a parsed request, a response, and
/// a `responder` that may answer later from any thread (after an actor
/// replied). No Beast here.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::gateway {

/// One HTTP request, fully read (body at most http_body_bytes_max).
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent: "/v1/orders/o-1?x=1"
  std::string path;    ///< target without the query: "/v1/orders/o-1"
  std::string query;   ///< after '?', "" if none
  std::vector<std::pair<std::string, std::string>> headers; ///< in arrival order
  std::string body;
  std::string remote_address; ///< "address:port"

  /// The first header named `name` (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  /// The token of `Authorization: Bearer <token>`, if present.
  std::optional<std::string_view> bearer_token() const;
};

/// One HTTP response.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// More headers (Cache-Control, Location, ...). Content-Length, Server and
  /// Connection are set by the gateway.
  std::vector<std::pair<std::string, std::string>> headers;
};

namespace detail {
struct responder_state;
} // namespace detail

/// Answers one HTTP request. Copyable; call it exactly once, from any thread,
/// now or later (a second call is a programmer error and asserts). If every
/// copy is destroyed without a call, the client gets 500. If the connection
/// or the gateway is gone by then, the call does nothing.
class responder {
public:
  explicit responder(std::shared_ptr<detail::responder_state> state);
  void operator()(http_response response) const;
  /// Calls `fn` once, when this request is answered, just before the
  /// response is handed to the connection (request latency metrics). Set
  /// it before the responder is called or copied to another thread.
  void on_answer(std::function<void()> fn);

private:
  std::shared_ptr<detail::responder_state> state_;
};

/// Implemented by the node wiring: every HTTP request that is not the
/// WebSocket upgrade at /v1/ws. Called on an IO thread; must not block.
/// Requests of one connection are handed over one at a time (the next is
/// read only after the previous one was answered).
class http_handler {
public:
  virtual ~http_handler() = default;
  virtual void on_request(http_request request, responder respond) = 0;
};

} // namespace courier::gateway
