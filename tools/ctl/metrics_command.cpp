// courier-ctl metrics: one node's /metrics, optionally only the lines of
// some metric families (e.g. the journal's sizes for issue #13).
#include "tools/ctl/commands.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <istream>
#include <ostream>
#include <sstream>

namespace courier::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

/// How long one GET may take, connect included.
constexpr std::chrono::seconds metrics_timeout{10};
/// Largest /metrics body accepted (a node's is a few tens of KiB).
constexpr std::uint64_t metrics_body_bytes_max = 16 * 1024 * 1024;

struct node_address {
  std::string host;
  std::string port;
};

/// "http://HOST:PORT" or "HOST:PORT" (no path).
bool parse_node(const std::string& text, node_address& out) {
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

/// GET `target` from the node; the body, or an error text in `error`.
bool http_get(const node_address& node, const std::string& target, std::string& body,
              std::string& error) {
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver{io};
    beast::tcp_stream stream{io};
    stream.expires_after(metrics_timeout);
    stream.connect(resolver.resolve(node.host, node.port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, node.host);
    req.set(http::field::user_agent, "courier-ctl");
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(metrics_body_bytes_max);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    if (res.result() != http::status::ok) {
      error = "HTTP " + std::to_string(res.result_int()) + " from " + target;
      return false;
    }
    body = std::move(res.body());
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

int help(std::ostream& os, int code) {
  os << "usage: courier-ctl metrics [--node http://HOST:PORT] [--match PREFIX]...\n"
        "  prints the node's /metrics (Prometheus text); with --match, only the\n"
        "  families whose name starts with PREFIX (repeatable), e.g.\n"
        "  --match courier_journal for the journal's bytes, streams and compactions.\n"
        "  --node defaults to http://127.0.0.1:8080\n";
  return code;
}

} // namespace

int run_metrics_command(const args_t& args, std::istream&, std::ostream& out,
                        std::ostream& err) {
  std::string node_text = "http://127.0.0.1:8080";
  std::vector<std::string> prefixes;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help")
      return help(out, 0);
    if ((a == "--node" || a == "--match") && i + 1 < args.size()) {
      (a == "--node" ? node_text : prefixes.emplace_back()) = args[++i];
      continue;
    }
    err << "courier-ctl metrics: unexpected argument '" << a << "'\n";
    return help(err, 2);
  }
  node_address node;
  if (!parse_node(node_text, node)) {
    err << "courier-ctl metrics: --node must be http://HOST:PORT, got '" << node_text << "'\n";
    return 2;
  }
  std::string body, error;
  if (!http_get(node, "/metrics", body, error)) {
    err << "courier-ctl metrics: " << node_text << ": " << error << '\n';
    return 1;
  }
  std::istringstream lines{body};
  for (std::string line; std::getline(lines, line);) {
    if (prefixes.empty()) {
      out << line << '\n';
      continue;
    }
    // "# TYPE name kind" and "name{...} value" lines of a matching family.
    std::string name = line;
    const std::string type_tag = "# TYPE ";
    if (name.compare(0, type_tag.size(), type_tag) == 0)
      name = name.substr(type_tag.size());
    for (const auto& p : prefixes)
      if (name.compare(0, p.size(), p) == 0) {
        out << line << '\n';
        break;
      }
  }
  return 0;
}

} // namespace courier::tools
