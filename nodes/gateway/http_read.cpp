#include "nodes/gateway/detail/http_read.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace courier::gateway::detail {

namespace http = boost::beast::http;

void limit_request_parser(request_parser& parser, const gateway_config& cfg) {
  parser.body_limit(cfg.http_body_bytes_max);
  parser.header_limit(static_cast<std::uint32_t>(cfg.http_header_bytes_max));
}

http_read_outcome classify_http_read(const boost::beast::error_code& ec) {
  if (!ec)
    return http_read_outcome::complete;
  if (ec == http::error::body_limit)
    return http_read_outcome::body_too_large;
  if (ec == http::error::header_limit)
    return http_read_outcome::header_too_large;
  if (ec.category() == boost::beast::error_code{http::error::bad_target}.category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message)
    return http_read_outcome::malformed;
  return http_read_outcome::closed;
}

bool body_is_chunked(const request_parser& parser) {
  return parser.is_header_done() && parser.chunked();
}

namespace {
std::string path_of(std::string_view target) {
  return std::string{target.substr(0, target.find('?'))};
}
} // namespace

bool is_ws_upgrade(const beast_request& req) {
  auto target = req.target();
  return boost::beast::websocket::is_upgrade(req) &&
         path_of(std::string_view{target.data(), target.size()}) == ws_path;
}

http_request to_http_request(beast_request& req, std::string remote_address) {
  http_request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.path = path_of(r.target);
  if (auto q = r.target.find('?'); q != std::string::npos)
    r.query = r.target.substr(q + 1);
  for (const auto& h : req)
    r.headers.emplace_back(std::string(h.name_string()), std::string(h.value()));
  r.body = std::move(req.body());
  r.remote_address = std::move(remote_address);
  return r;
}

} // namespace courier::gateway::detail
