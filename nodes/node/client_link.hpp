#pragma once
/// \file
/// How a client request travels from the gateway's IO threads to the
/// entities and back: a `client_call` (target entity, command, expected
/// reply kind) goes to the gateway actor, which asks the entity through the
/// router and hands the reply to the call's `reply_sink` (a WebSocket/TCP
/// session, or an HTTP responder).

#include "actors/protocol.hpp"
#include "cluster/entity_ref.hpp"
#include "core/errc.hpp"
#include "messages/client.hpp"
#include "nodes/gateway/session.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace courier::node {

class node_metrics;

/// The encoding of a session's frames: what its hello came in.
enum class encoding : std::uint8_t { json, proto };

/// One envelope as a frame in `enc`.
gateway::frame encode_frame(const msg::envelope& env, encoding enc);

/// Where the answer to one client request goes. Called from actor threads.
class reply_sink {
public:
  virtual ~reply_sink() = default;
  /// The reply (env.ref is already set).
  virtual void deliver(msg::envelope env) = 0;
  /// An order_view (REST GET /v1/orders/{id} only).
  virtual void deliver_view(const actors::order_view&) {
    fail(core::error{core::errc::internal, "unexpected reply"}, "");
  }
  virtual void fail(const core::error& err, const std::string& ref) = 0;
};

/// Which request a sink answers, for the request latency histogram.
struct request_timing {
  static constexpr std::size_t no_type = static_cast<std::size_t>(-1);
  std::size_t type_index = no_type; ///< client_body alternative; no_type: not timed
  std::int64_t started_ns = 0;      ///< core::metrics_now_ns() when its frame reached the handler
};

/// Replies to a WebSocket/TCP session; counts down its in-flight requests
/// and times the request (its first answer) by type.
class session_sink final : public reply_sink {
public:
  session_sink(std::weak_ptr<gateway::session> s, encoding enc,
               std::shared_ptr<std::atomic<std::uint32_t>> in_flight,
               node_metrics* metrics, request_timing timing = {});
  ~session_sink() override;
  void deliver(msg::envelope env) override;
  void fail(const core::error& err, const std::string& ref) override;

private:
  std::weak_ptr<gateway::session> session_;
  encoding enc_;
  std::shared_ptr<std::atomic<std::uint32_t>> in_flight_;
  node_metrics* metrics_;
  request_timing timing_;
};

/// What the entity answers with, so the gateway actor can match it.
enum class reply_kind : std::uint8_t {
  ok,             ///< msg::ok_reply
  order_placed,   ///< msg::order_placed
  ack,            ///< msg::ack
  subscribed,     ///< msg::order_snapshot, sent as subscribed{order_id, snapshot}
  topic_ok,       ///< msg::ok_reply to a subscribe_cmd on a store/rider/region topic
  radius_result,  ///< msg::radius_result
  delayed_orders, ///< msg::delayed_orders
  region_stats,   ///< msg::region_stats
  region_subscribed, ///< msg::region_stats to a subscribe_cmd on a region
  order_view,     ///< actors::order_view
  store_subscribed, ///< actors::store_snapshot to a store's subscribe_cmd: its open
                    ///< orders, pushed to the session (new_order, order_status, ...)
};

/// One client request on its way to an entity.
struct client_call {
  std::shared_ptr<reply_sink> sink;
  std::string ref;
  cluster::entity_ref target;
  caf::message command;
  reply_kind kind = reply_kind::ok;
  std::uint64_t session_id = 0; ///< 0 for REST
  std::string topic;            ///< for subscribe kinds: the topic to join on success
  bool silent = false;          ///< no reply to the client (automatic subscriptions)
};

/// Session -> gateway actor: leave `topic` (explicit unsubscribe).
struct leave_topic {
  std::uint64_t session_id = 0;
  std::string topic;
  cluster::entity_ref target;
};

/// A topic name for an entity ("order:o-1").
inline std::string topic_of(const cluster::entity_ref& ref) { return ref.str(); }

} // namespace courier::node

// Both stay inside one process (they carry a reply sink bound to a local
// socket), so they are never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(courier::node::client_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(courier::node::leave_topic)
