#include "tools/sim/client_conn.hpp"

#include "core/limits.hpp"
#include "messages/convert.hpp"
#include "messages/json.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <chrono>
#include <deque>

namespace courier::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

/// Queue, open/closed state and the exactly-once on_closed, shared by both
/// transports.
class conn_base : public client_conn, public std::enable_shared_from_this<conn_base> {
public:
  conn_base(strand_t strand, conn_target target, std::weak_ptr<conn_handler> handler)
      : strand_(strand), target_(std::move(target)), handler_(std::move(handler)),
        resolver_(strand) {}

  bool send(const msg::envelope& message) final {
    if (!open_ || finished_ || closing_ || outq_.size() >= conn_write_queue_max)
      return false;
    outq_.push_back(encode(message));
    if (!writing_)
      write_next();
    return true;
  }

protected:
  virtual std::string encode(const msg::envelope& message) const = 0;
  virtual void write_front() = 0;
  /// The write queue drained (no write in flight).
  virtual void on_idle() {}

  void write_next() {
    if (outq_.empty() || finished_) {
      writing_ = false;
      if (!finished_)
        on_idle();
      return;
    }
    writing_ = true;
    write_front();
  }

  void on_written(const error_code& ec) {
    // A write may complete after finish() (a read error meanwhile) emptied
    // the queue: popping then was a double free (a rare sim_client_test abort).
    if (finished_)
      return;
    if (ec)
      return finish("write: " + ec.message());
    outq_.pop_front();
    write_next();
  }

  void opened() {
    open_ = true;
    if (auto h = handler_.lock())
      h->on_open();
  }

  void deliver(core::result<msg::envelope> decoded) {
    auto h = handler_.lock();
    if (!h)
      return;
    if (decoded)
      h->on_message(std::move(decoded).value());
    else
      h->on_bad_frame(decoded.err().message);
  }

  /// Ends the connection once: tells the handler, drops the queue.
  void finish(const std::string& why) {
    if (finished_)
      return;
    finished_ = true;
    outq_.clear();
    writing_ = false;
    resolver_.cancel();
    teardown();
    if (auto h = handler_.lock())
      h->on_closed(open_, why);
  }

  /// Closes the socket (after finish); transport-specific.
  virtual void teardown() = 0;

  strand_t strand_;
  conn_target target_;
  std::weak_ptr<conn_handler> handler_;
  tcp::resolver resolver_;
  std::deque<std::string> outq_;
  bool writing_ = false;
  bool open_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

/// JSON over WebSocket (text frames).
class ws_conn final : public conn_base {
public:
  ws_conn(strand_t strand, conn_target target, std::weak_ptr<conn_handler> handler)
      : conn_base(strand, std::move(target), std::move(handler)), ws_(strand) {}

  void start() override {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [self](error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(ec, std::move(r));
                            });
  }

  void close() override {
    if (finished_)
      return;
    if (!open_)
      return finish("closed before open");
    if (closing_)
      return;
    closing_ = true;
    // One write op at a time: the close frame goes after the write in
    // flight; queued frames not yet started are dropped.
    while (outq_.size() > (writing_ ? 1u : 0u))
      outq_.pop_back();
    if (!writing_)
      send_close();
  }

private:
  std::string encode(const msg::envelope& m) const override { return msg::encode_json(m); }

  void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
    if (ec)
      return finish("resolve: " + ec.message());
    auto& layer = beast::get_lowest_layer(ws_);
    layer.expires_after(std::chrono::milliseconds(conn_connect_timeout_ms));
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    layer.async_connect(results, [self](error_code e, const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  void on_connect(const error_code& ec) {
    if (ec)
      return finish("connect: " + ec.message());
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    // The deadline above still covers the handshake.
    ws_.read_message_max(core::limits::frame_bytes_max);
    ws_.text(true);
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    ws_.async_handshake(target_.host + ":" + std::to_string(target_.port), target_.ws_path,
                        [self](error_code e) { self->on_handshake(e); });
  }

  void on_handshake(const error_code& ec) {
    if (ec)
      return finish("handshake: " + ec.message());
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    ws_.set_option(t);
    opened();
    read();
  }

  void read() {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    ws_.async_read(buffer_, [self](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (ec)
      return finish(ec == websocket::error::closed ? "closed by server" : "read: " + ec.message());
    std::string data = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    deliver(ws_.got_text() ? msg::decode_json(data) : msg::decode_binary(data.data(), data.size()));
    if (!finished_)
      read();
  }

  void send_close() {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    ws_.async_close(websocket::close_code::normal,
                    [self](error_code) { self->finish("closed by client"); });
  }

  void on_idle() override {
    if (closing_)
      send_close();
  }

  void write_front() override {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    ws_.async_write(asio::buffer(outq_.front()),
                    [self](error_code ec, std::size_t) { self->on_written(ec); });
  }

  void teardown() override {
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

/// Protobuf over raw TCP, each frame a 4-byte big-endian length first.
class tcp_conn final : public conn_base {
public:
  tcp_conn(strand_t strand, conn_target target, std::weak_ptr<conn_handler> handler)
      : conn_base(strand, std::move(target), std::move(handler)), socket_(strand),
        deadline_(strand) {}

  void start() override {
    auto self = std::static_pointer_cast<tcp_conn>(shared_from_this());
    deadline_.expires_after(std::chrono::milliseconds(conn_connect_timeout_ms));
    deadline_.async_wait([self](error_code ec) {
      if (!ec && !self->open_)
        self->finish("connect: timed out");
    });
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [self](error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(ec, std::move(r));
                            });
  }

  void close() override {
    if (finished_)
      return;
    // Let queued frames go out first? No: the sim closes only when stopping.
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    finish(open_ ? "closed by client" : "closed before open");
  }

private:
  std::string encode(const msg::envelope& m) const override {
    std::string body = msg::encode_binary(m);
    auto n = static_cast<std::uint32_t>(body.size());
    std::string frame;
    frame.reserve(4 + body.size());
    frame.push_back(static_cast<char>((n >> 24) & 0xff));
    frame.push_back(static_cast<char>((n >> 16) & 0xff));
    frame.push_back(static_cast<char>((n >> 8) & 0xff));
    frame.push_back(static_cast<char>(n & 0xff));
    frame += body;
    return frame;
  }

  void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
    if (ec)
      return finish("resolve: " + ec.message());
    auto self = std::static_pointer_cast<tcp_conn>(shared_from_this());
    asio::async_connect(socket_, results, [self](error_code e, const tcp::endpoint&) {
      if (e)
        return self->finish("connect: " + e.message());
      self->deadline_.cancel();
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->opened();
      self->read_header();
    });
  }

  void read_header() {
    auto self = std::static_pointer_cast<tcp_conn>(shared_from_this());
    asio::async_read(socket_, asio::buffer(header_), [self](error_code ec, std::size_t) {
      if (ec)
        return self->finish(ec == asio::error::eof ? "closed by server" : "read: " + ec.message());
      std::uint32_t n = (std::uint32_t(self->header_[0]) << 24) |
                        (std::uint32_t(self->header_[1]) << 16) |
                        (std::uint32_t(self->header_[2]) << 8) | std::uint32_t(self->header_[3]);
      if (n > core::limits::frame_bytes_max)
        return self->finish("frame of " + std::to_string(n) + " bytes is too large");
      self->body_.resize(n);
      self->read_body();
    });
  }

  void read_body() {
    auto self = std::static_pointer_cast<tcp_conn>(shared_from_this());
    asio::async_read(socket_, asio::buffer(body_), [self](error_code ec, std::size_t) {
      if (ec)
        return self->finish("read: " + ec.message());
      self->deliver(msg::decode_binary(self->body_.data(), self->body_.size()));
      if (!self->finished_)
        self->read_header();
    });
  }

  void write_front() override {
    auto self = std::static_pointer_cast<tcp_conn>(shared_from_this());
    asio::async_write(socket_, asio::buffer(outq_.front()),
                      [self](error_code ec, std::size_t) { self->on_written(ec); });
  }

  void teardown() override {
    error_code ignored;
    deadline_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  std::array<unsigned char, 4> header_{};
  std::string body_;
};

} // namespace

std::shared_ptr<client_conn> make_conn(strand_t strand, conn_target target,
                                       std::weak_ptr<conn_handler> handler) {
  if (target.transport == transport_kind::tcp)
    return std::make_shared<tcp_conn>(strand, std::move(target), std::move(handler));
  return std::make_shared<ws_conn>(strand, std::move(target), std::move(handler));
}

} // namespace courier::sim
