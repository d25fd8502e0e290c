#include "tools/ctl/node_http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace courier::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

bool parse_node_address(const std::string& text, node_address& out) {
  std::string rest = text;
  const std::string scheme = "http://";
  if (rest.compare(0, scheme.size(), scheme) == 0)
    rest = rest.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find('/') != std::string::npos)
    return false;
  out.host = rest.substr(0, colon);
  out.port = rest.substr(colon + 1);
  for (char c : out.port)
    if (c < '0' || c > '9')
      return false;
  return out.port.size() <= 5;
}

bool http_get(const node_address& node, const std::string& target, const std::string& token,
              std::chrono::milliseconds timeout, std::uint64_t body_bytes_max,
              http_answer& answer, std::string& error) {
  // Beast's blocking calls throw; a CLI turns that into a message and an exit code.
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver{io};
    beast::tcp_stream stream{io};
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(node.host, node.port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, node.host);
    req.set(http::field::user_agent, "courier-ctl");
    if (!token.empty())
      req.set(http::field::authorization, "Bearer " + token);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_bytes_max);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    answer.status = static_cast<int>(res.result_int());
    answer.body = std::move(res.body());
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

} // namespace courier::tools
