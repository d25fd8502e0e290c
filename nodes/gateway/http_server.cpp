// HTTP connections and WebSocket sessions on the same port (Beast).
#include "nodes/gateway/detail/responder_state.hpp"
#include "nodes/gateway/detail/server.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <optional>

namespace courier::gateway::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

constexpr std::string_view ws_path = "/v1/ws";
constexpr std::size_t ws_close_reason_max = 123; // RFC 6455: 125 minus the code

std::chrono::milliseconds ms(std::int64_t v) { return std::chrono::milliseconds{v}; }

/// `text` cut to at most `max` bytes without splitting a UTF-8 sequence
/// (a close reason must be valid UTF-8).
std::string utf8_prefix(const std::string& text, std::size_t max) {
  if (text.size() <= max)
    return text;
  auto n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
    --n;
  return text.substr(0, n);
}

/// A WebSocket session, created from an upgrade request read by http_conn.
class ws_conn final : public session_conn {
public:
  ws_conn(server_context& ctx, net::any_io_executor strand, std::string remote,
          beast::tcp_stream stream, http::request<http::string_body> req)
      : session_conn(ctx, std::move(strand), transport::ws, std::move(remote),
                     /*idle_by_watchdog=*/false),
        ws_(std::move(stream)),
        req_(std::move(req)) {}

  void start() {
    if (!enlist())
      return;
    tune_session_socket(ctx_.cfg, beast::get_lowest_layer(ws_).socket());
    beast::get_lowest_layer(ws_).expires_never(); // websocket has its own timeouts
    websocket::stream_base::timeout t;
    t.handshake_timeout = ms(ctx_.cfg.handshake_timeout_ms);
    t.idle_timeout = ctx_.cfg.idle_timeout_ms > 0 ? ms(ctx_.cfg.idle_timeout_ms)
                                                  : websocket::stream_base::none();
    t.keep_alive_pings = ctx_.cfg.idle_timeout_ms > 0;
    ws_.set_option(t);
    ws_.read_message_max(ctx_.cfg.frame_bytes_max);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "courier");
    }));
    ws_.async_accept(req_, [self = self()](const error_code& ec) { self->on_accept(ec); });
  }

private:
  std::shared_ptr<ws_conn> self() {
    return std::static_pointer_cast<ws_conn>(shared_from_this());
  }

  void on_accept(const error_code& ec) {
    req_ = {};
    if (ec) {
      teardown();
      return;
    }
    open();
    read();
  }

  void read() {
    ws_.async_read(buf_, [self = self()](const error_code& ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(const error_code& ec) {
    if (ec == websocket::error::message_too_big) {
      bad_framing("message exceeds " + std::to_string(ctx_.cfg.frame_bytes_max) + " bytes");
      teardown(); // Beast has already failed the connection (close code 1009)
      return;
    }
    if (ec) {
      teardown();
      return;
    }
    auto kind = ws_.got_text() ? frame_kind::text : frame_kind::binary;
    frame_in(frame{kind, beast::buffers_to_string(buf_.data())});
    buf_.consume(buf_.size());
    read();
  }

  void start_write() override {
    ws_.text(current_.kind == frame_kind::text);
    ws_.async_write(net::buffer(current_.data),
                    [self = self()](const error_code& ec, std::size_t) {
                      self->write_done(ec);
                    });
  }

  void begin_close(const std::string& reason) override {
    websocket::close_reason cr{websocket::close_code::normal,
                               utf8_prefix(reason, ws_close_reason_max)};
    if (reason == "slow consumer")
      cr.code = websocket::close_code::policy_error;
    else if (reason.rfind("bad framing", 0) == 0)
      cr.code = websocket::close_code::protocol_error;
    else if (reason == "server shutting down")
      cr.code = websocket::close_code::going_away;
    ws_.async_close(cr, [self = self()](const error_code&) { self->teardown(); });
  }

  void cut() override {
    error_code ignored;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;
  http::request<http::string_body> req_;
  beast::flat_buffer buf_;
};

/// A plain HTTP connection (keep-alive, one request at a time); hands a
/// WebSocket upgrade at /v1/ws over to a ws_conn.
class http_conn final : public connection,
                        public http_link,
                        public std::enable_shared_from_this<http_conn> {
public:
  http_conn(server_context& ctx, tcp::socket s)
      : ctx_(ctx),
        id_(ctx.next_id.fetch_add(1)),
        strand_(s.get_executor()),
        remote_(remote_of(s)),
        stream_(std::move(s)) {}

  void start() {
    ctx_.stats->http_open.fetch_add(1, std::memory_order_relaxed);
    if (!ctx_.add(id_, shared_from_this())) {
      teardown();
      return;
    }
    read_request();
  }

  void shutdown() override {
    net::post(strand_, [self = shared_from_this()] { self->teardown(); });
  }

  void abandon() override {
    auto keep = shared_from_this();
    teardown();
  }

  void respond(http_response r) override {
    // Any thread, under the responder's mutex: only post.
    net::post(strand_, [self = shared_from_this(), r = std::move(r)]() mutable {
      self->write_response(std::move(r));
    });
  }

private:
  void read_request() {
    parser_.emplace();
    parser_->body_limit(ctx_.cfg.http_body_bytes_max);
    parser_->header_limit(static_cast<std::uint32_t>(ctx_.cfg.http_header_bytes_max));
    stream_.expires_after(ms(ctx_.cfg.handshake_timeout_ms));
    http::async_read(stream_, buf_, *parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(const error_code& ec) {
    if (done_)
      return;
    if (ec == http::error::body_limit)
      return fail(413, "request body too large");
    if (ec == http::error::header_limit)
      return fail(431, "request header too large");
    if (ec && ec.category() == error_code{http::error::bad_target}.category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
      return fail(400, "malformed HTTP request");
    if (ec)
      return teardown(); // EOF, reset, timeout
    stream_.expires_never();
    auto req = parser_->release();
    parser_.reset();
    auto target = std::string(req.target());
    auto path = target.substr(0, target.find('?'));
    if (websocket::is_upgrade(req) && path == ws_path)
      return upgrade(std::move(req));
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    http_request r;
    r.method = std::string(req.method_string());
    r.path = path;
    if (auto q = target.find('?'); q != std::string::npos)
      r.query = target.substr(q + 1);
    r.target = std::move(target);
    for (const auto& h : req)
      r.headers.emplace_back(std::string(h.name_string()), std::string(h.value()));
    r.body = std::move(req.body());
    r.remote_address = remote_;
    auto state = std::make_shared<responder_state>(this);
    pending_ = state;
    ctx_.stats->http_requests.fetch_add(1, std::memory_order_relaxed);
    ctx_.http.on_request(std::move(r), responder{std::move(state)});
  }

  /// Answers an error we found ourselves, then closes.
  void fail(int status, std::string_view message) {
    keep_alive_ = false;
    http_response r;
    r.status = status;
    r.body = std::string(R"({"type":"error","code":"bad_request","message":")") +
             std::string(message) + "\"}";
    write_response(std::move(r));
  }

  void upgrade(http::request<http::string_body> req) {
    if (!ctx_.reserve(ctx_.session_slots, ctx_.cfg.sessions_max)) {
      keep_alive_ = false;
      http_response r;
      r.status = 503;
      r.body = R"({"type":"error","code":"overloaded","message":"too many sessions"})";
      return write_response(std::move(r));
    }
    auto ws = std::make_shared<ws_conn>(ctx_, strand_, remote_, std::move(stream_),
                                        std::move(req));
    upgraded_ = true;
    teardown(); // the stream belongs to ws now
    ws->start();
  }

  void write_response(http_response r) {
    if (done_)
      return;
    res_ = {};
    res_.version(version_);
    res_.result(r.status >= 100 && r.status <= 999 ? static_cast<unsigned>(r.status) : 500u);
    res_.set(http::field::server, "courier");
    res_.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) {
      // Refuse header injection (a CR/LF would split the response).
      if (k.find_first_of("\r\n:") == std::string::npos &&
          v.find_first_of("\r\n") == std::string::npos && !k.empty())
        res_.set(k, v);
    }
    res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    stream_.expires_after(ms(ctx_.cfg.close_timeout_ms));
    http::async_write(stream_, res_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        self->on_written(ec);
                      });
  }

  void on_written(const error_code& ec) {
    res_ = {};
    if (ec || done_)
      return teardown();
    if (!keep_alive_) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return teardown();
    }
    read_request();
  }

  void teardown() {
    if (done_)
      return;
    done_ = true;
    if (!upgraded_) {
      error_code ignored;
      stream_.socket().close(ignored);
    }
    if (auto p = pending_.lock())
      p->detach();
    ctx_.http_slots.fetch_sub(1, std::memory_order_relaxed);
    ctx_.stats->http_open.fetch_sub(1, std::memory_order_relaxed);
    ctx_.remove(id_);
  }

  server_context& ctx_;
  const std::uint64_t id_;
  const net::any_io_executor strand_;
  const std::string remote_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::weak_ptr<responder_state> pending_; // weak: dropping every responder answers 500
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool upgraded_ = false;
  bool done_ = false;
};

} // namespace

void start_http_connection(server_context& ctx, tcp::socket s) {
  if (!ctx.reserve(ctx.http_slots, ctx.cfg.http_connections_max)) {
    error_code ignored;
    s.close(ignored);
    return;
  }
  std::make_shared<http_conn>(ctx, std::move(s))->start();
}

} // namespace courier::gateway::detail
