#pragma once
/// \file
/// The pure half of reading one HTTP request (Beast, no sockets): the
/// parser's bounds, how a read ended, and what the request becomes: the
/// WebSocket upgrade at /v1/ws, or an http_request for the node's handler.
/// http_conn does the IO around these; the fuzz target calls them on bytes.

#include "nodes/gateway/gateway.hpp"
#include "nodes/gateway/http.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace courier::gateway::detail {

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;
using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// The only path where a WebSocket upgrade is accepted.
inline constexpr std::string_view ws_path = "/v1/ws";

/// Applies the gateway's bounds (http_body_bytes_max, http_header_bytes_max)
/// to a fresh parser.
void limit_request_parser(request_parser& parser, const gateway_config& cfg);

/// How reading one request ended.
enum class http_read_outcome {
  complete,        ///< a whole request: route it
  body_too_large,  ///< answer 413, close
  header_too_large,///< answer 431, close
  malformed,       ///< answer 400, close
  closed,          ///< EOF, reset, timeout: close without an answer
};

/// Classifies the error code of a finished read.
http_read_outcome classify_http_read(const boost::beast::error_code& ec);

/// After the header (read_header): true if the body comes chunked, which
/// the gateway answers 411 and closes. Beast re-parses a chunk header from
/// its start on every read that leaves it incomplete, so a long chunk
/// extension sent a byte at a time costs time quadratic in its length (the
/// http_request fuzz target timed out on one); our bodies are small JSON
/// and every client sends Content-Length.
bool body_is_chunked(const request_parser& parser);

/// True if `req` is a WebSocket upgrade request for ws_path.
bool is_ws_upgrade(const beast_request& req);

/// The request as the node's http_handler sees it (target split into path
/// and query; headers in arrival order). Moves the body out of `req`.
http_request to_http_request(beast_request& req, std::string remote_address);

} // namespace courier::gateway::detail
