#include "bench/entities/entity_session.hpp"

#include <boost/asio/post.hpp>

namespace courier::bench {

entity_session::entity_session(boost::asio::io_context& io, sim::conn_target target,
                               std::string token, hooks h)
    : strand_(boost::asio::make_strand(io)), target_(std::move(target)),
      token_(std::move(token)), hooks_(std::move(h)) {}

void entity_session::start() {
  auto self = shared_from_this();
  boost::asio::post(strand_, [self] {
    self->keep_alive_ = self;
    self->conn_ = sim::make_conn(self->strand_, self->target_, self->weak_from_this());
    self->conn_->start();
  });
}

bool entity_session::send(msg::client_body body, std::string ref) {
  return conn_ && conn_->send(msg::envelope{std::move(ref), std::move(body)});
}

void entity_session::close() {
  if (conn_)
    conn_->close();
}

void entity_session::on_open() {
  conn_->send(msg::envelope{"hello", msg::hello{token_}});
}

void entity_session::on_message(msg::envelope m) {
  if (!welcomed_ && std::holds_alternative<msg::welcome>(m.body)) {
    welcomed_ = true;
    if (hooks_.welcomed)
      hooks_.welcomed(*this);
    return;
  }
  if (hooks_.message)
    hooks_.message(*this, m);
}

void entity_session::on_bad_frame(const std::string&) {}

void entity_session::on_closed(bool, const std::string&) {
  if (hooks_.closed)
    hooks_.closed(*this, welcomed_);
  hooks_ = {}; // scripts may capture shared state: let it go with the session
  keep_alive_.reset();
}

} // namespace courier::bench
