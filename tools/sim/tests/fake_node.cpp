#include "tools/sim/tests/fake_node.hpp"

#include "messages/convert.hpp"
#include "messages/json.hpp"
#include "nodes/auth/token.hpp"
#include "tools/sim/geo_walk.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <thread>

namespace courier::sim::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// One client connection, whatever its transport.
class fsession : public std::enable_shared_from_this<fsession> {
public:
  virtual ~fsession() = default;
  virtual void send(const msg::envelope& m) = 0;
  std::string role, id; // empty until hello
};

} // namespace

struct fake_node::impl {
  struct order {
    std::string customer, store, rider;
    msg::lat_lng store_at, dropoff;
    msg::order_status status = msg::order_status::placed;
    std::uint64_t version = 1;
    std::set<std::shared_ptr<fsession>> subscribers;
    bool nearby_sent = false;
  };

  std::string secret;
  asio::io_context io;
  tcp::acceptor ws_acceptor{io}, tcp_acceptor{io};
  std::thread thread;
  std::map<std::string, std::weak_ptr<fsession>> by_principal; // "role:id"
  std::map<std::string, msg::lat_lng> stores;
  std::set<std::string> available;       // rider ids
  std::map<std::string, std::string> rider_order;
  std::map<std::string, order> orders;
  std::map<std::string, std::string> by_request;
  int next_order = 0;

  void push_to(const std::string& principal, msg::client_body body) {
    if (auto it = by_principal.find(principal); it != by_principal.end())
      if (auto s = it->second.lock())
        s->send(msg::envelope{"", std::move(body)});
  }

  void set_status(const std::string& oid, msg::order_status st) {
    auto& o = orders[oid];
    o.status = st;
    ++o.version;
    msg::order_status_msg m{core::order_id{oid}, st, o.version, epoch_ms()};
    for (auto& s : o.subscribers)
      s->send(msg::envelope{"", m});
    push_to("store:" + o.store, m);
  }

  void offer_next(const std::string& oid) {
    auto& o = orders[oid];
    if (available.empty())
      return; // the test has enough riders
    auto rider = *available.begin();
    msg::offer of{core::offer_id{"of-" + oid}, core::order_id{oid}, o.store_at, o.dropoff, 100.0,
                  epoch_ms() + 15000};
    push_to("rider:" + rider, of);
  }

  /// Handles one decoded message; returns false to close the connection.
  bool handle(const std::shared_ptr<fsession>& s, msg::envelope in) {
    auto reply = [&](msg::client_body b) { s->send(msg::envelope{in.ref, std::move(b)}); };
    auto fail = [&](core::errc c, std::string text) {
      reply(msg::error_reply{c, std::move(text)});
    };
    if (s->role.empty()) {
      auto* h = std::get_if<msg::hello>(&in.body);
      auto claims = h ? auth::verify_token(h->token, secret, epoch_ms())
                      : core::result<auth::token_claims>(core::make_error(core::errc::unauthorized, "hello first"));
      if (!claims) {
        fail(core::errc::unauthorized, claims.err().message);
        return false;
      }
      s->role = claims->role;
      s->id = claims->id;
      by_principal[s->role + ":" + s->id] = s;
      reply(msg::welcome{*msg::role_from_string(s->role), s->id, epoch_ms()});
      return true;
    }
    std::visit([&](auto& b) { on(s, in.ref, b, reply, fail); }, in.body);
    return true;
  }

  template <class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, msg::upsert_store& b, R reply, F) {
    stores[b.store_id.str()] = msg::lat_lng{b.lat, b.lng};
    reply(msg::ok_reply{});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::availability& b, R reply, F) {
    if (b.available && !rider_order.count(s->id))
      available.insert(s->id);
    else
      available.erase(s->id);
    reply(msg::ok_reply{});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::position& b, R reply, F) {
    reply(msg::ack{b.seq});
    auto it = rider_order.find(s->id);
    if (it == rider_order.end())
      return;
    auto& o = orders[it->second];
    msg::rider_position rp{core::order_id{it->second}, core::rider_id{s->id}, b.lat, b.lng,
                           b.time_ms, 60};
    for (auto& sub : o.subscribers)
      sub->send(msg::envelope{"", rp});
    double d = distance_m(point{b.lat, b.lng}, point{o.dropoff.lat, o.dropoff.lng});
    if (d < 100 && !o.nearby_sent) {
      o.nearby_sent = true;
      for (auto& sub : o.subscribers)
        sub->send(msg::envelope{"", msg::rider_nearby{core::order_id{it->second}, d}});
    }
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::place_order& b, R reply,
          F fail) {
    auto st = stores.find(b.store_id.str());
    if (st == stores.end())
      return fail(core::errc::not_found, "no store");
    auto& oid = by_request[b.request_id.str()];
    if (oid.empty()) {
      oid = "o-" + std::to_string(++next_order);
      orders[oid] = order{s->id, b.store_id.str(), "", st->second, b.dropoff};
      set_status(oid, msg::order_status::paid);
      push_to("store:" + b.store_id.str(), msg::new_order{core::order_id{oid}, b.items, b.total});
    }
    reply(msg::order_placed{core::order_id{oid}, b.request_id});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::subscribe& b, R reply,
          F fail) {
    auto it = orders.find(b.order_id.str());
    if (it == orders.end() || it->second.customer != s->id)
      return fail(core::errc::forbidden, "not yours");
    it->second.subscribers.insert(s);
    msg::order_snapshot snap;
    snap.status = it->second.status;
    snap.version = it->second.version;
    if (!it->second.rider.empty())
      snap.rider_id = core::rider_id{it->second.rider};
    reply(msg::subscribed{b.order_id, snap});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::unsubscribe& b, R reply, F) {
    if (auto it = orders.find(b.order_id.str()); it != orders.end())
      it->second.subscribers.erase(s);
    reply(msg::ok_reply{});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, msg::accept_order& b, R reply, F) {
    set_status(b.order_id.str(), msg::order_status::accepted);
    reply(msg::ok_reply{orders[b.order_id.str()].version});
    offer_next(b.order_id.str());
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, msg::cooking& b, R reply, F) {
    set_status(b.order_id.str(), msg::order_status::cooking);
    reply(msg::ok_reply{orders[b.order_id.str()].version});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, msg::ready& b, R reply, F) {
    set_status(b.order_id.str(), msg::order_status::ready);
    reply(msg::ok_reply{orders[b.order_id.str()].version});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::accept_offer& b, R reply,
          F fail) {
    auto oid = b.offer_id.str().substr(3);
    auto it = orders.find(oid);
    if (it == orders.end() || !it->second.rider.empty())
      return fail(core::errc::conflict, "offer taken");
    it->second.rider = s->id;
    rider_order[s->id] = oid;
    available.erase(s->id);
    reply(msg::ok_reply{});
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, msg::reject_offer& b, R reply, F) {
    reply(msg::ok_reply{});
    offer_next(b.offer_id.str().substr(3));
  }
  template <class R, class F>
  void on(const std::shared_ptr<fsession>& s, const std::string&, msg::status_report& b, R reply,
          F fail) {
    auto it = orders.find(b.order_id.str());
    if (it == orders.end() || it->second.rider != s->id)
      return fail(core::errc::forbidden, "not your order");
    if (b.status == msg::order_status::picked_up && it->second.status != msg::order_status::ready)
      return fail(core::errc::conflict, "not ready");
    set_status(b.order_id.str(), b.status);
    if (b.status == msg::order_status::delivered)
      rider_order.erase(s->id);
    reply(msg::ok_reply{it->second.version});
  }
  template <class B, class R, class F>
  void on(const std::shared_ptr<fsession>&, const std::string&, B&, R, F fail) {
    fail(core::errc::bad_request, "the fake node does not do that");
  }

  void accept_ws();
  void accept_tcp();
};

namespace {

class ws_session final : public fsession {
public:
  ws_session(tcp::socket s, fake_node::impl& node) : ws_(std::move(s)), node_(node) {}
  void start() {
    auto self = std::static_pointer_cast<ws_session>(shared_from_this());
    ws_.async_accept([self](error_code ec) {
      if (!ec)
        self->read();
    });
  }
  void send(const msg::envelope& m) override {
    out_.push_back(msg::encode_json(m));
    if (out_.size() == 1)
      write();
  }

private:
  void read() {
    auto self = std::static_pointer_cast<ws_session>(shared_from_this());
    ws_.async_read(buf_, [self](error_code ec, std::size_t) {
      if (ec)
        return;
      auto text = beast::buffers_to_string(self->buf_.data());
      self->buf_.consume(self->buf_.size());
      auto m = msg::decode_json(text);
      if (!m) {
        self->send(msg::envelope{"", msg::error_reply{core::errc::bad_request, m.err().message}});
      } else if (!self->node_.handle(self, std::move(m).value())) {
        return; // unauthorized: stop reading; the error goes out, then we drop
      }
      self->read();
    });
  }
  void write() {
    auto self = std::static_pointer_cast<ws_session>(shared_from_this());
    ws_.text(true);
    ws_.async_write(asio::buffer(out_.front()), [self](error_code ec, std::size_t) {
      if (ec)
        return;
      self->out_.pop_front();
      if (!self->out_.empty())
        self->write();
    });
  }
  beast::websocket::stream<tcp::socket> ws_;
  fake_node::impl& node_;
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
};

class tcp_session final : public fsession {
public:
  tcp_session(tcp::socket s, fake_node::impl& node) : sock_(std::move(s)), node_(node) {}
  void start() { read_header(); }
  void send(const msg::envelope& m) override {
    auto body = msg::encode_binary(m);
    std::string f(4, '\0');
    auto n = static_cast<std::uint32_t>(body.size());
    for (int i = 0; i < 4; ++i)
      f[i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
    out_.push_back(f + body);
    if (out_.size() == 1)
      write();
  }

private:
  void read_header() {
    auto self = std::static_pointer_cast<tcp_session>(shared_from_this());
    asio::async_read(sock_, asio::buffer(hdr_), [self](error_code ec, std::size_t) {
      if (ec)
        return;
      std::uint32_t n = 0;
      for (auto b : self->hdr_)
        n = (n << 8) | b;
      self->body_.resize(n);
      asio::async_read(self->sock_, asio::buffer(self->body_), [self](error_code e, std::size_t) {
        if (e)
          return;
        auto m = msg::decode_binary(self->body_.data(), self->body_.size());
        if (m && !self->node_.handle(self, std::move(m).value()))
          return;
        self->read_header();
      });
    });
  }
  void write() {
    auto self = std::static_pointer_cast<tcp_session>(shared_from_this());
    asio::async_write(sock_, asio::buffer(out_.front()), [self](error_code ec, std::size_t) {
      if (ec)
        return;
      self->out_.pop_front();
      if (!self->out_.empty())
        self->write();
    });
  }
  tcp::socket sock_;
  fake_node::impl& node_;
  std::array<unsigned char, 4> hdr_{};
  std::string body_;
  std::deque<std::string> out_;
};

} // namespace

void fake_node::impl::accept_ws() {
  ws_acceptor.async_accept([this](error_code ec, tcp::socket s) {
    if (ec)
      return;
    std::make_shared<ws_session>(std::move(s), *this)->start();
    accept_ws();
  });
}

void fake_node::impl::accept_tcp() {
  tcp_acceptor.async_accept([this](error_code ec, tcp::socket s) {
    if (ec)
      return;
    std::make_shared<tcp_session>(std::move(s), *this)->start();
    accept_tcp();
  });
}

fake_node::fake_node(std::string secret) : impl_(std::make_unique<impl>()) {
  impl_->secret = std::move(secret);
  tcp::endpoint any{asio::ip::make_address("127.0.0.1"), 0};
  for (auto* a : {&impl_->ws_acceptor, &impl_->tcp_acceptor}) {
    a->open(any.protocol());
    a->bind(any);
    a->listen();
  }
  impl_->accept_ws();
  impl_->accept_tcp();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

fake_node::~fake_node() {
  asio::post(impl_->io, [this] { impl_->io.stop(); });
  impl_->thread.join();
}

std::uint16_t fake_node::ws_port() const {
  return impl_->ws_acceptor.local_endpoint().port();
}

std::uint16_t fake_node::tcp_port() const {
  return impl_->tcp_acceptor.local_endpoint().port();
}

} // namespace courier::sim::testing
