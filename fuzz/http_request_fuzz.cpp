// HTTP requests on the gateway's port (REST calls and the WebSocket
// upgrade): the input is what a client sends on one connection. The first
// byte picks the size of the reads (1 byte .. 4 KiB); the rest is read with
// Beast's parser under the gateway's default bounds, the way http_conn
// does (http::read is the synchronous twin of its async_read), request
// after request while the connection is kept alive. Each complete request
// is routed (upgrade or handler) and converted; the handler's accessors
// are called as the REST handler does.
#include "fuzz/fuzz_check.hpp"
#include "nodes/gateway/detail/http_read.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

using namespace courier::gateway;
using namespace courier::gateway::detail;
namespace net = boost::asio;
namespace beast = boost::beast;

namespace {
/// A socket that returns the input in reads of at most `chunk` bytes, then EOF.
class byte_stream {
public:
  byte_stream(const std::uint8_t* data, std::size_t size, std::size_t chunk)
      : data_(data), size_(size), chunk_(chunk) {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    if (pos_ == size_) {
      ec = net::error::eof;
      return 0;
    }
    ec = {};
    auto n = net::buffer_copy(buffers, net::buffer(data_ + pos_, std::min(chunk_, size_ - pos_)));
    pos_ += n;
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    FUZZ_CHECK(!ec); // http::read uses the error_code form only
    return n;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const std::size_t chunk = std::size_t{1} << (data[0] % 13); // 1 .. 4096
  byte_stream stream{data + 1, size - 1, chunk};
  const gateway_config cfg{};
  beast::flat_buffer buf;
  for (;;) {
    std::optional<request_parser> parser;
    parser.emplace();
    limit_request_parser(*parser, cfg);
    beast::error_code ec;
    // As http_conn reads: the header, a chunked body refused (411), the body.
    beast::http::read_header(stream, buf, *parser, ec);
    if (!ec && body_is_chunked(*parser))
      return 0;
    if (!ec)
      beast::http::read(stream, buf, *parser, ec);
    auto outcome = classify_http_read(ec);
    if (outcome != http_read_outcome::complete)
      return 0; // an error answer or a plain close ends the connection
    auto req = parser->release();
    FUZZ_CHECK(req.body().size() <= cfg.http_body_bytes_max);
    if (is_ws_upgrade(req))
      return 0; // the stream goes to the WebSocket session
    const bool keep_alive = req.keep_alive();
    auto r = to_http_request(req, "127.0.0.1:1");
    FUZZ_CHECK(r.target.substr(0, r.path.size()) == r.path);
    FUZZ_CHECK(r.path.find('?') == std::string::npos);
    (void)r.header("Content-Type");
    if (auto token = r.bearer_token())
      FUZZ_CHECK(!token->empty() && token->front() != ' ' && token->back() != ' ');
    if (!keep_alive)
      return 0;
  }
}
