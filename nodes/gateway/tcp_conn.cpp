// Raw TCP sessions: 4-byte big-endian length prefix, then the payload.
#include "nodes/gateway/detail/server.hpp"
#include "nodes/gateway/detail/tcp_framing.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <memory>

namespace courier::gateway::detail {
namespace {

class tcp_conn final : public session_conn {
public:
  tcp_conn(server_context& ctx, tcp::socket s)
      : session_conn(ctx, s.get_executor(), transport::tcp, remote_of(s),
                     /*idle_by_watchdog=*/false), // until the client heartbeats
        sock_(std::move(s)) {}

  void start() {
    if (!enlist())
      return;
    tune_session_socket(ctx_.cfg, sock_);
    error_code ignored;
    sock_.non_blocking(true, ignored); // writes are tried at once (session_conn::pump)
    open();
    read_header();
  }

private:
  std::shared_ptr<tcp_conn> self() {
    return std::static_pointer_cast<tcp_conn>(shared_from_this());
  }

  void read_header() {
    net::async_read(sock_, net::buffer(in_header_),
                    [self = self()](const error_code& ec, std::size_t) {
                      self->on_header(ec);
                    });
  }

  void on_header(const error_code& ec) {
    if (ec) {
      teardown();
      return;
    }
    auto len = read_tcp_prefix(in_header_, ctx_.cfg.frame_bytes_max);
    if (!len.acceptable) {
      bad_framing("frame length " + std::to_string(len.payload_bytes) + " exceeds " +
                  std::to_string(ctx_.cfg.frame_bytes_max) + " bytes");
      drain(); // the stream cannot be parsed any more; wait for the peer's EOF
      return;
    }
    body_.resize(len.payload_bytes);
    net::async_read(sock_, net::buffer(body_),
                    [self = self()](const error_code& e, std::size_t) { self->on_body(e); });
  }

  void on_body(const error_code& ec) {
    if (ec) {
      teardown();
      return;
    }
    frame_in(frame{frame_kind::binary, std::move(body_)});
    body_ = std::string{};
    read_header();
  }

  void drain() {
    if (!scratch_) // only a connection that sent a bad frame pays for it
      scratch_ = std::make_unique<std::array<char, drain_bytes>>();
    sock_.async_read_some(net::buffer(*scratch_),
                          [self = self()](const error_code& ec, std::size_t) {
                            if (ec)
                              self->teardown();
                            else
                              self->drain();
                          });
  }

  /// Frames queued meanwhile go out in one gathered write (one syscall).
  std::size_t frames_per_write_max() const override { return frames_per_write; }
  tcp::socket& socket() override { return sock_; }

  void prepare_write(std::vector<net::const_buffer>& out) override {
    COURIER_ASSERT(!current_.empty() && current_.size() <= frames_per_write);
    for (std::size_t i = 0; i < current_.size(); ++i) {
      out_headers_[i] = make_tcp_prefix(current_[i].size());
      out.push_back(net::buffer(out_headers_[i]));
      out.push_back(net::buffer(current_[i].data()));
    }
  }

  void begin_close(const std::string&) override {
    // Everything queued is written: half-close, and let the read loop (or
    // drain) see the peer's EOF, so no RST discards our last frames.
    error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  void cut() override {
    error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
  }

  tcp::socket sock_;
  tcp_prefix in_header_{};
  /// Frames in one gathered write (each adds two iovecs; IOV_MAX is 1024).
  static constexpr std::size_t frames_per_write = 64;
  std::array<tcp_prefix, frames_per_write> out_headers_{};
  std::string body_;
  /// Where drain() discards what follows a bad frame. Allocated then: an
  /// inline array made every TCP session 4 KiB bigger than a WebSocket one
  /// (bench/fanout, issue #11).
  static constexpr std::size_t drain_bytes = 4096;
  std::unique_ptr<std::array<char, drain_bytes>> scratch_;
};

} // namespace

void start_tcp_session(server_context& ctx, tcp::socket s) {
  if (!ctx.reserve(ctx.session_slots, ctx.cfg.sessions_max)) {
    error_code ignored;
    s.close(ignored);
    return;
  }
  std::make_shared<tcp_conn>(ctx, std::move(s))->start();
}

} // namespace courier::gateway::detail
