// HTTP connections and WebSocket sessions on the same port (Beast).
#include "nodes/gateway/detail/http_read.hpp"
#include "nodes/gateway/detail/responder_state.hpp"
#include "nodes/gateway/detail/server.hpp"
#include "nodes/gateway/detail/ws_frames.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <optional>
#include <vector>

namespace courier::gateway::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

std::chrono::milliseconds ms(std::int64_t v) { return std::chrono::milliseconds{v}; }

/// A WebSocket session, created from an upgrade request read by http_conn.
/// Beast performs the upgrade; then the session frames messages itself
/// (detail/ws_frames.hpp) on the bare socket, so everything queued for it
/// goes out in one gathered write.
class ws_conn final : public session_conn {
public:
  ws_conn(server_context& ctx, net::any_io_executor strand, std::string remote,
          beast::tcp_stream stream, http::request<http::string_body> req)
      : session_conn(ctx, std::move(strand), transport::ws, std::move(remote),
                     /*idle_by_watchdog=*/true),
        ws_(std::in_place, std::move(stream)),
        req_(std::move(req)),
        reader_(ctx.cfg.frame_bytes_max) {}

  void start() {
    if (!enlist())
      return;
    tune_session_socket(ctx_.cfg, beast::get_lowest_layer(*ws_).socket());
    beast::get_lowest_layer(*ws_).expires_never(); // the handshake has its own timeout
    websocket::stream_base::timeout t;
    t.handshake_timeout = ms(ctx_.cfg.handshake_timeout_ms);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_->set_option(t);
    ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "courier");
    }));
    ws_->async_accept(req_, [self = self()](const error_code& ec) { self->on_accept(ec); });
  }

private:
  /// Frames in one gathered write (each adds two iovecs; IOV_MAX is 1024).
  static constexpr std::size_t frames_per_write = 64;
  /// Bytes asked of the socket per read.
  static constexpr std::size_t read_chunk_bytes = 16 * 1024;

  std::shared_ptr<ws_conn> self() {
    return std::static_pointer_cast<ws_conn>(shared_from_this());
  }

  void on_accept(const error_code& ec) {
    req_ = {};
    if (ec) {
      teardown();
      return;
    }
    sock_.emplace(beast::get_lowest_layer(*ws_).release_socket());
    ws_.reset(); // Beast's stream and its buffers are not needed any more
    error_code ignored;
    sock_->non_blocking(true, ignored); // writes are tried at once (session_conn::pump)
    open();
    read();
  }

  /// Waits until the socket is readable, then reads into the IO thread's
  /// buffer: an idle session holds no read buffer of its own.
  void read() {
    sock_->async_wait(tcp::socket::wait_read,
                      [self = self()](const error_code& ec) { self->on_readable(ec); });
  }

  void on_readable(const error_code& ec) {
    if (ec || done_) {
      teardown();
      return;
    }
    thread_local std::array<char, read_chunk_bytes> chunk;
    error_code rec;
    auto n = sock_->read_some(net::buffer(chunk), rec);
    if (rec == net::error::would_block || rec == net::error::try_again)
      return read();
    if (rec) { // including EOF
      teardown();
      return;
    }
    if (draining_)
      return read(); // after a protocol error: discard until the peer's EOF
    reader_.feed(std::string_view{chunk.data(), n});
    for (;;) {
      auto ev = reader_.next();
      using k = ws_event::kind;
      if (ev.what == k::none)
        break;
      if (ev.what == k::message) {
        frame_in(frame{ev.text ? frame_kind::text : frame_kind::binary, std::move(ev.payload)});
      } else if (ev.what == k::ping) {
        peer_active();
        queue_control(ws_opcode::pong, ev.payload);
      } else if (ev.what == k::pong) {
        peer_active();
      } else if (ev.what == k::close) {
        peer_closed_ = true;
        if (close_sent_) {
          teardown(); // the close handshake is complete
          return;
        }
        core_->close("client closed");
      } else { // error: the stream cannot be parsed any more
        failure_code_ = static_cast<ws_close_code>(ev.code);
        bad_framing(ev.reason);
        return; // stop reading; the close (and its deadline) ends it
      }
    }
    if (peer_closed_)
      return; // nothing more comes from a peer that closed
    read();
  }

  void queue_control(ws_opcode op, const std::string& payload) {
    if (control_out_.size() > 4 * (ws_control_bytes_max + 2))
      return; // a flood of pings: answering the last few is enough
    auto h = ws_frame_header(op, payload.size());
    control_out_.append(reinterpret_cast<const char*>(h.bytes.data()), h.size);
    control_out_ += payload;
    kick();
  }

  bool send_ping() override {
    queue_control(ws_opcode::ping, "");
    return true;
  }

  std::size_t frames_per_write_max() const override { return frames_per_write; }
  bool control_pending() const override { return !control_out_.empty(); }

  tcp::socket& socket() override { return *sock_; }

  void prepare_write(std::vector<net::const_buffer>& out) override {
    COURIER_ASSERT(current_.size() <= frames_per_write);
    writing_control_ = std::move(control_out_);
    control_out_.clear();
    if (!writing_control_.empty())
      out.push_back(net::buffer(writing_control_));
    // Headers go into one string reserved for all of them first, so it
    // never reallocates and the buffers into it stay valid while written.
    headers_.clear();
    headers_.reserve(current_.size() * sizeof(ws_header::bytes));
    for (auto& f : current_) {
      auto h = ws_frame_header(f.kind() == frame_kind::text ? ws_opcode::text : ws_opcode::binary,
                               f.size());
      auto at = headers_.size();
      headers_.append(reinterpret_cast<const char*>(h.bytes.data()), h.size);
      out.push_back(net::buffer(headers_.data() + at, h.size));
      out.push_back(net::buffer(f.data()));
    }
    COURIER_ASSERT(headers_.size() <= current_.size() * sizeof(ws_header::bytes));
  }

  void finish_write() override {
    writing_control_.clear();
    if (headers_.capacity() > idle_header_bytes_max)
      std::string{}.swap(headers_); // an idle session keeps no big buffers
    else
      headers_.clear();
  }

  void begin_close(const std::string& reason) override {
    auto code = ws_close_code::normal;
    if (failure_code_)
      code = *failure_code_;
    else if (reason == "slow consumer")
      code = ws_close_code::policy_error;
    else if (reason.rfind("bad framing", 0) == 0)
      code = ws_close_code::protocol_error;
    else if (reason == "server shutting down")
      code = ws_close_code::going_away;
    close_frame_ = ws_close_payload(code, reason);
    auto h = ws_frame_header(ws_opcode::close, close_frame_.size());
    close_frame_.insert(0, reinterpret_cast<const char*>(h.bytes.data()), h.size);
    close_sent_ = true;
    net::async_write(*sock_, net::buffer(close_frame_),
                     [self = self()](const error_code& ec, std::size_t) {
                       // Done when the peer's close arrives (or the close
                       // deadline passes); at once if it closed first.
                       if (ec || self->peer_closed_)
                         return self->teardown();
                       if (self->failure_code_) {
                         // Its stream cannot be parsed: half-close and read
                         // to EOF, so unread bytes do not reset the
                         // connection before the close frame is read.
                         error_code ignored;
                         self->sock_->shutdown(tcp::socket::shutdown_send, ignored);
                         self->draining_ = true;
                         self->read();
                       }
                     });
  }

  void cut() override {
    error_code ignored;
    auto& sock = sock_ ? *sock_ : beast::get_lowest_layer(*ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
  }

  /// Header bytes a session keeps allocated between writes.
  static constexpr std::size_t idle_header_bytes_max = 256;

  std::optional<websocket::stream<beast::tcp_stream>> ws_; ///< until the upgrade is done
  http::request<http::string_body> req_;
  std::optional<tcp::socket> sock_;          ///< after the upgrade
  ws_reader reader_;
  std::string control_out_;     ///< pongs to send
  std::string writing_control_; ///< the control bytes of the write in flight
  std::string headers_;         ///< frame headers of the write in flight
  std::string close_frame_;
  bool close_sent_ = false;
  bool peer_closed_ = false;
  bool draining_ = false; ///< reading only to see the peer's EOF
  std::optional<ws_close_code> failure_code_;
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
    limit_request_parser(*parser_, ctx_.cfg);
    stream_.expires_after(ms(ctx_.cfg.handshake_timeout_ms));
    http::async_read_header(stream_, buf_, *parser_,
                            [self = shared_from_this()](const error_code& ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(const error_code& ec) {
    if (done_)
      return;
    if (ec)
      return on_request(ec); // the same answers as a whole read's errors
    if (body_is_chunked(*parser_))
      return fail(411, "chunked request bodies are not accepted: send Content-Length");
    http::async_read(stream_, buf_, *parser_,
                     [self = shared_from_this()](const error_code& e, std::size_t) {
                       self->on_request(e);
                     });
  }

  void on_request(const error_code& ec) {
    if (done_)
      return;
    switch (classify_http_read(ec)) {
    case http_read_outcome::body_too_large:
      return fail(413, "request body too large");
    case http_read_outcome::header_too_large:
      return fail(431, "request header too large");
    case http_read_outcome::malformed:
      return fail(400, "malformed HTTP request");
    case http_read_outcome::closed:
      return teardown(); // EOF, reset, timeout
    case http_read_outcome::complete:
      break;
    }
    stream_.expires_never();
    auto req = parser_->release();
    parser_.reset();
    if (is_ws_upgrade(req))
      return upgrade(std::move(req));
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    auto r = to_http_request(req, remote_);
    auto state = std::make_shared<responder_state>(this);
    pending_ = state;
    ctx_.stats->http_requests.fetch_add(1, std::memory_order_relaxed);
    try {
      ctx_.http.on_request(std::move(r), responder{std::move(state)});
    } catch (const std::exception& e) {
      // A bad request must never end the node (an uncaught exception on an
      // IO thread would): the responder's copies die in the unwinding, and
      // the last one answers 500 unless the handler already answered.
      ctx_.stats->handler_exceptions.fetch_add(1, std::memory_order_relaxed);
      std::fprintf(stderr, "courier gateway: HTTP handler threw on %s: %s\n",
                   remote_.c_str(), e.what());
    }
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
