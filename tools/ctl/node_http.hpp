#pragma once
/// \file
/// How courier-ctl talks to one node over HTTP (Beast, blocking, one request
/// per connection): its address from `--node`, and a GET with an optional
/// bearer token. Shared by the commands that ask a node (metrics, history).

#include <chrono>
#include <cstdint>
#include <string>

namespace courier::tools {

/// Where a node's HTTP server is.
struct node_address {
  std::string host;
  std::string port;
};

/// The default of `--node`.
inline constexpr const char* node_url_default = "http://127.0.0.1:8080";

/// Parses "http://HOST:PORT" or "HOST:PORT" (no path); false otherwise.
bool parse_node_address(const std::string& text, node_address& out);

/// A node's answer.
struct http_answer {
  int status = 0;
  std::string body;
};

/// GETs `target` (a path with its query) with `Authorization: Bearer
/// <token>` unless `token` is empty, within `timeout` (connect included),
/// accepting a body of at most `body_bytes_max`. False, with the reason in
/// `error`, when the node cannot be reached or the answer is malformed;
/// any HTTP status is an answer.
bool http_get(const node_address& node, const std::string& target, const std::string& token,
              std::chrono::milliseconds timeout, std::uint64_t body_bytes_max,
              http_answer& answer, std::string& error);

} // namespace courier::tools
