// The gateway: config validation, listeners, IO threads, ordered stop.
#include "nodes/gateway/detail/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <thread>

namespace courier::gateway {

namespace detail {

server_context::server_context(gateway_config c, session_handler& s, http_handler& h)
    : cfg(std::move(c)),
      sessions(s),
      http(h),
      stats(std::make_shared<gateway_stats>()),
      wakes(std::make_shared<wake_queue>(ioc, cfg.io_threads == 0)),
      ioc(static_cast<int>(std::max<std::size_t>(cfg.io_threads, 1))) {}

server_context::~server_context() {
  wakes->close(); // before the io_context goes: no post may reach it after
}

bool server_context::add(std::uint64_t id, std::shared_ptr<connection> c) {
  std::lock_guard<std::mutex> guard{m_};
  if (stopping_)
    return false;
  auto inserted = live_.emplace(id, std::move(c)).second;
  COURIER_ASSERT(inserted);
  return true;
}

void server_context::remove(std::uint64_t id) {
  std::shared_ptr<connection> released; // destroyed outside the lock
  {
    std::lock_guard<std::mutex> guard{m_};
    auto it = live_.find(id);
    if (it == live_.end())
      return;
    released = std::move(it->second);
    live_.erase(it);
    if (live_.empty())
      cv_.notify_all();
  }
}

std::vector<std::shared_ptr<connection>> server_context::begin_stop() {
  std::lock_guard<std::mutex> guard{m_};
  stopping_ = true;
  std::vector<std::shared_ptr<connection>> out;
  out.reserve(live_.size());
  for (auto& [id, c] : live_)
    out.push_back(c);
  return out;
}

void server_context::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{m_};
  cv_.wait_for(lock, timeout, [this] { return live_.empty(); });
}

std::vector<std::shared_ptr<connection>> server_context::take_all() {
  std::lock_guard<std::mutex> guard{m_};
  std::vector<std::shared_ptr<connection>> out;
  for (auto& [id, c] : live_)
    out.push_back(std::move(c));
  live_.clear();
  return out;
}

bool server_context::reserve(std::atomic<std::size_t>& slots, std::size_t max) {
  if (slots.fetch_add(1) < max)
    return true;
  slots.fetch_sub(1);
  stats->refused.fetch_add(1, std::memory_order_relaxed);
  return false;
}

io_loop::status io_loop_impl::run(bool block) {
  {
    std::lock_guard<std::mutex> guard{m_};
    if (!open_)
      return status::closed;
    ++running_;
  }
  ctx_.wakes->drive_from_this_thread();
  // What actors on this thread pushed goes out first; then, if that was
  // all there was, wait for the sockets (or a wake()).
  bool drained = ctx_.wakes->drain_owed();
  std::size_t handlers = block && !drained ? ctx_.ioc.run_one() : ctx_.ioc.poll();
  {
    std::lock_guard<std::mutex> guard{m_};
    --running_;
    if (!open_)
      cv_.notify_all();
  }
  return drained || handlers > 0 ? status::ran : status::idle;
}

void io_loop_impl::wake() {
  std::lock_guard<std::mutex> guard{m_};
  if (open_)
    net::post(ctx_.ioc, [] {}); // a handler to run: a blocked run_one() returns
}

void io_loop_impl::close() {
  std::unique_lock<std::mutex> lock{m_};
  open_ = false;
  if (running_ > 0)
    net::post(ctx_.ioc, [] {});
  cv_.wait(lock, [this] { return running_ == 0; });
}

std::string remote_of(const tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec)
    return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void tune_session_socket(const gateway_config& cfg, tcp::socket& s) {
  error_code ignored;
  s.set_option(tcp::no_delay{true}, ignored);
  if (cfg.send_buffer_bytes > 0)
    s.set_option(net::socket_base::send_buffer_size{static_cast<int>(cfg.send_buffer_bytes)},
                 ignored);
  if (cfg.keepalive_idle_s > 0) {
    using idle = net::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>;
    using interval = net::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>;
    using probes = net::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPCNT>;
    s.set_option(net::socket_base::keep_alive{true}, ignored);
    s.set_option(idle{static_cast<int>(cfg.keepalive_idle_s)}, ignored);
    s.set_option(interval{static_cast<int>(cfg.keepalive_interval_s)}, ignored);
    s.set_option(probes{static_cast<int>(cfg.keepalive_probes)}, ignored);
  }
}

} // namespace detail

namespace {

namespace net = detail::net;
using detail::error_code;
using detail::tcp;

/// One accepting socket and its back-off timer, on one strand.
struct listener {
  explicit listener(net::io_context& ioc)
      : acceptor(net::make_strand(ioc)), retry(acceptor.get_executor()) {}
  tcp::acceptor acceptor;
  net::steady_timer retry;
};

/// Why `c` cannot work, or "" if it can.
std::string check_config(const gateway_config& c) {
  if (c.io_threads > 64)
    return "io_threads must be in [0, 64]";
  if (c.frame_bytes_max < 1 || c.frame_bytes_max > 0xFFFF'FFFFu)
    return "frame_bytes_max must be in [1, 2^32)";
  if (c.pending_bytes_max < c.frame_bytes_max + frame_overhead_bytes)
    return "pending_bytes_max must hold at least one frame_bytes_max frame";
  if (c.send_buffer_bytes > (1u << 30))
    return "send_buffer_bytes must be <= 1 GiB";
  if (c.keepalive_idle_s < 0 || c.keepalive_idle_s > 32'767 || c.keepalive_interval_s < 1 ||
      c.keepalive_interval_s > 32'767 || c.keepalive_probes < 1 || c.keepalive_probes > 127)
    return "keepalive: idle in [0, 32767] s, interval in [1, 32767] s, probes in [1, 127]";
  if (c.sessions_max < 1 || c.http_connections_max < 1)
    return "sessions_max and http_connections_max must be >= 1";
  if (c.http_body_bytes_max < 1 || c.http_header_bytes_max < 256)
    return "http_body_bytes_max must be >= 1 and http_header_bytes_max >= 256";
  if (c.handshake_timeout_ms < 1 || c.close_timeout_ms < 1 || c.stop_timeout_ms < 0 ||
      c.first_frame_timeout_ms < 0 || c.idle_timeout_ms < 0)
    return "timeouts must be >= 0 (handshake and close timeouts >= 1)";
  return "";
}

} // namespace

struct gateway::impl {
  enum class phase : std::uint8_t { idle, running, stopped };

  impl(gateway_config c, session_handler& s, http_handler& h)
      : ctx(std::move(c), s, h),
        http_listener(ctx.ioc),
        tcp_listener(ctx.ioc) {}

  /// Binds `a` to cfg.bind_address:port; "" or the reason it failed.
  std::string listen(tcp::acceptor& a, std::uint16_t port, const char* what) {
    error_code ec;
    auto address = net::ip::make_address(ctx.cfg.bind_address, ec);
    if (ec)
      return "bad bind_address '" + ctx.cfg.bind_address + "': " + ec.message();
    tcp::endpoint ep{address, port};
    a.open(ep.protocol(), ec);
    if (!ec)
      a.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      a.bind(ep, ec);
    if (!ec)
      a.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return std::string("cannot listen (") + what + ") on " + ctx.cfg.bind_address + ":" +
             std::to_string(port) + ": " + ec.message();
    return "";
  }

  /// The executor a new connection runs on: its own strand, or with a
  /// single thread running the IO the io_context itself (handlers never run
  /// concurrently there, and the drain of wake-ups then runs each session's
  /// pump inline).
  net::any_io_executor connection_executor() {
    if (ctx.cfg.io_threads <= 1)
      return ctx.ioc.get_executor();
    return net::make_strand(ctx.ioc);
  }

  /// Accept loop; each socket gets its own executor (see above).
  void accept(listener& l, void (*start)(detail::server_context&, tcp::socket)) {
    l.acceptor.async_accept(
        connection_executor(), [this, &l, start](const error_code& ec, tcp::socket s) {
          if (!l.acceptor.is_open() || ec == net::error::operation_aborted)
            return;
          if (!ec) {
            start(ctx, std::move(s));
            accept(l, start);
            return;
          }
          // EMFILE and friends: back off instead of spinning.
          l.retry.expires_after(std::chrono::milliseconds{50});
          l.retry.async_wait([this, &l, start](const error_code& e) {
            if (!e && l.acceptor.is_open())
              accept(l, start);
          });
        });
  }

  detail::server_context ctx;
  // After ctx: destroyed before its io_context.
  listener http_listener;
  listener tcp_listener;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::shared_ptr<detail::io_loop_impl> loop; ///< io_threads 0 only
  phase state = phase::idle;
};

gateway::gateway(gateway_config config, session_handler& sessions, http_handler& http)
    : impl_(std::make_unique<impl>(std::move(config), sessions, http)) {}

gateway::~gateway() { stop(); }

const gateway_stats& gateway::stats() const noexcept { return *impl_->ctx.stats; }

std::shared_ptr<io_loop> gateway::loop() const { return impl_->loop; }

core::result<bound_ports> gateway::start() {
  auto& im = *impl_;
  COURIER_ASSERT(im.state == impl::phase::idle);
  if (auto why = check_config(im.ctx.cfg); !why.empty())
    return core::make_error(core::errc::internal, "gateway config: " + why);
  auto& http_a = im.http_listener.acceptor;
  auto& tcp_a = im.tcp_listener.acceptor;
  if (auto why = im.listen(http_a, im.ctx.cfg.http_port, "http"); !why.empty())
    return core::make_error(core::errc::internal, "gateway: " + why);
  if (auto why = im.listen(tcp_a, im.ctx.cfg.tcp_port, "tcp"); !why.empty())
    return core::make_error(core::errc::internal, "gateway: " + why);
  bound_ports ports;
  error_code ec;
  ports.http = http_a.local_endpoint(ec).port();
  ports.tcp = tcp_a.local_endpoint(ec).port();
  im.accept(im.http_listener, &detail::start_http_connection);
  im.accept(im.tcp_listener, &detail::start_tcp_session);
  im.work.emplace(im.ctx.ioc.get_executor());
  if (im.ctx.cfg.io_threads == 0)
    im.loop = std::make_shared<detail::io_loop_impl>(im.ctx);
  for (std::size_t i = 0; i < im.ctx.cfg.io_threads; ++i)
    im.threads.emplace_back([&im] {
      if (im.ctx.cfg.on_io_thread_start)
        im.ctx.cfg.on_io_thread_start();
      im.ctx.ioc.run();
    });
  im.state = impl::phase::running;
  return ports;
}

void gateway::stop() {
  auto& im = *impl_;
  if (im.state != impl::phase::running) {
    im.state = impl::phase::stopped;
    return;
  }
  for (auto& t : im.threads)
    COURIER_ASSERT(t.get_id() != std::this_thread::get_id());
  // 1. No new connections; 2. everyone closes gracefully, for a while;
  // 3. the IO threads end; 4. the rest is finished here, without IO.
  auto live = im.ctx.begin_stop();
  for (auto* l : {&im.http_listener, &im.tcp_listener})
    net::post(l->acceptor.get_executor(), [l] {
      error_code ignored;
      l->acceptor.close(ignored);
      l->retry.cancel();
    });
  for (auto& c : live)
    c->shutdown();
  live.clear();
  im.ctx.wait_empty(std::chrono::milliseconds{im.ctx.cfg.stop_timeout_ms});
  if (im.loop)
    im.loop->close(); // from here on only this thread touches the io_context
  im.work.reset();
  im.ctx.ioc.stop();
  for (auto& t : im.threads)
    t.join();
  im.threads.clear();
  for (auto& c : im.ctx.take_all())
    c->abandon();
  im.state = impl::phase::stopped;
}

} // namespace courier::gateway
