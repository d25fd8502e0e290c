#include "nodes/node/gateway_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/membership_actor.hpp"
#include "cluster/entity.hpp"
#include "cluster/errors.hpp"
#include "core/assert.hpp"
#include "core/histogram.hpp"
#include "nodes/node/metrics.hpp"
#include "nodes/node/sessions.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace courier::node {
namespace {

/// What it takes to subscribe to a topic's entity again.
struct subscription {
  cluster::entity_ref target;
  caf::message command; ///< the subscribe_cmd
};

/// The newest order status a topic has seen.
struct seen_status {
  std::uint64_t version = 0;
  msg::order_status status = msg::order_status::placed;
  bool any = false;

  /// Records (version, status) if newer; true if it is news for the
  /// customer: a newer version with another status. (A catch-up after the
  /// order moved may carry a newer version of the status already pushed.)
  bool advance(std::uint64_t v, msg::order_status s) {
    if (any && v <= version)
      return false;
    bool news = !any || s != status;
    *this = seen_status{v, s, true};
    return news;
  }
};

/// A subscribed session as the fan-out uses it: looked up in the session
/// directory once, at subscription, so a push takes no lock.
struct subscriber {
  std::weak_ptr<gateway::session> session;
  encoding enc = encoding::json;
};

struct gateway_state {
  gateway_actor_config cfg;
  caf::actor router;
  std::shared_ptr<session_directory> sessions;
  std::shared_ptr<node_metrics> metrics;
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, subscriber>> topics;
  std::unordered_map<std::uint64_t, std::unordered_map<std::string, cluster::entity_ref>>
      by_session;
  /// topic -> the subscription to renew when its entity moves.
  std::unordered_map<std::string, subscription> subs;
  /// order topic -> the newest status it has seen (pushed or snapshot).
  std::unordered_map<std::string, seen_status> order_versions;
  /// topic -> client subscriptions in flight for it. While one is, its
  /// entity may have added this gateway for a session that joins when the
  /// answer comes, and an unsubscribe sent now would arrive after it and
  /// undo it. Entries go at zero; bounded by the calls in flight.
  std::unordered_map<std::string, std::uint32_t> subscribing;
  /// Topics whose failed re-subscription is due again (retry_atom on its
  /// way); a subset of `topics`' keys once it fires, so bounded by them.
  std::unordered_set<std::string> retrying;
  cluster::cluster_view view; ///< the last one seen (cluster mode)
  /// request_deadlines::swept: calls in flight by id, oldest first, each
  /// with its deadline; a call still here at its deadline fails with
  /// `unavailable` and its late answer is dropped. Bounded by the sessions'
  /// requests_in_flight_max (a call leaves when answered or expired).
  struct pending_call {
    caf::actor_clock::time_point deadline;
    std::shared_ptr<reply_sink> sink;
    std::string ref;
    std::string subscribing; ///< its topic if it is a subscription
  };
  std::map<std::uint64_t, pending_call> pending;
  std::uint64_t next_call = 0;
  static inline const char* name = "courier.gateway";
};

using gateway_actor = caf::stateful_actor<gateway_state>;

template <class T>
msg::envelope envelope_of(T body, const std::string& ref) {
  return msg::envelope{ref, msg::client_body{std::move(body)}};
}

/// The error a subscription over topics_per_session_max gets.
core::error topic_cap_error(gateway_actor* self) {
  return core::error{core::errc::overloaded,
                     "a connection may follow at most " +
                         std::to_string(self->state.cfg.topics_per_session_max) + " topics"};
}

/// The topic a call subscribes to ("" if it is no subscription).
std::string subscription_topic(const client_call& c) {
  bool sub = c.kind == reply_kind::subscribed || c.kind == reply_kind::region_subscribed ||
             c.kind == reply_kind::topic_ok || c.kind == reply_kind::store_subscribed;
  return sub ? c.topic : std::string{};
}

/// A subscription call for `topic` got its answer or failed ("": none).
void subscription_ended(gateway_actor* self, const std::string& topic) {
  if (topic.empty())
    return;
  auto& in_flight = self->state.subscribing;
  auto it = in_flight.find(topic);
  COURIER_ASSERT(it != in_flight.end());
  COURIER_ASSERT(it->second > 0);
  if (--it->second == 0)
    in_flight.erase(it);
}

/// Does a session here follow `topic`, or is one about to?
bool followed(const gateway_state& st, const std::string& topic) {
  return st.topics.count(topic) > 0 || st.subscribing.count(topic) > 0;
}

/// Adds a session to a topic once the entity accepted the subscription;
/// false if the session already holds the most topics it may (two
/// subscriptions in flight at once both passed the check in call()): the
/// caller then answers with topic_cap_error, never `subscribed`.
bool join(gateway_actor* self, const client_call& c) {
  auto& st = self->state;
  auto unfollowed = [&] {
    if (!followed(st, c.topic)) // nobody here follows it: tell the entity
      cluster::tell(self, st.router, c.target,
                    actors::unsubscribe_cmd{caf::actor_cast<caf::actor>(self)});
  };
  auto found = st.sessions->find(c.session_id);
  if (!found) {
    unfollowed(); // closed meanwhile: nobody to answer, nothing to keep
    return true;
  }
  auto& mine = st.by_session[c.session_id];
  if (mine.count(c.topic) == 0 && mine.size() >= st.cfg.topics_per_session_max) {
    unfollowed();
    return false;
  }
  mine.emplace(c.topic, c.target);
  st.topics[c.topic].insert_or_assign(c.session_id, subscriber{found->first, found->second});
  st.subs.emplace(c.topic, subscription{c.target, c.command});
  return true;
}

/// Answers a subscription refused by join().
void refuse_over_cap(gateway_actor* self, client_call& c) {
  auto e = topic_cap_error(self);
  self->state.metrics->error(e.code);
  if (!c.silent)
    c.sink->fail(e, c.ref);
}

/// Removes a session from a topic; the last one out tells the entity.
void leave(gateway_actor* self, std::uint64_t session_id, const std::string& topic,
           const cluster::entity_ref& target) {
  auto& st = self->state;
  auto it = st.topics.find(topic);
  if (it == st.topics.end())
    return;
  it->second.erase(session_id);
  if (it->second.empty()) {
    st.topics.erase(it);
    st.subs.erase(topic);
    st.order_versions.erase(topic);
    if (!followed(st, topic))
      cluster::tell(self, st.router, target,
                    actors::unsubscribe_cmd{caf::actor_cast<caf::actor>(self)});
  }
}

void session_closed(gateway_actor* self, std::uint64_t session_id) {
  auto& st = self->state;
  auto it = st.by_session.find(session_id);
  if (it == st.by_session.end())
    return;
  auto mine = std::move(it->second);
  st.by_session.erase(it);
  for (auto& [topic, target] : mine)
    leave(self, session_id, topic, target);
}

using sweep_atom = caf::atom_constant<caf::atom("n.sweep")>;
using mailbox_sample_atom = caf::atom_constant<caf::atom("n.mbox")>;

/// How often the gateway actor samples its own mailbox depth for /metrics
/// (one timer for the node; the depth is only readable from inside).
constexpr std::chrono::seconds mailbox_sample_interval{1};

/// Fails the swept calls whose deadline passed.
void sweep(gateway_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    core::error e{core::errc::unavailable, "no answer within the request timeout"};
    st.metrics->error(e.code);
    it->second.sink->fail(e, it->second.ref);
    subscription_ended(self, it->second.subscribing);
    it = st.pending.erase(it);
  }
}

/// Sends `c.command` to its entity; `on_reply(Reply&)` finishes the call.
template <class Reply, class OnReply>
void ask(gateway_actor* self, client_call c, OnReply on_reply) {
  auto sink = c.sink;
  auto ref = c.ref;
  auto metrics = self->state.metrics;
  auto& st = self->state;
  auto topic = subscription_topic(c);
  if (!topic.empty())
    st.subscribing[topic] += 1;
  if (st.cfg.deadlines == request_deadlines::per_request) {
    self->request(st.router, st.cfg.request_timeout, cluster::route_atom::value, c.target,
                  c.command)
        .then(
            [=](Reply& reply) mutable {
              subscription_ended(self, topic);
              on_reply(reply, c);
            },
            [=](caf::error& err) {
              subscription_ended(self, topic);
              auto e = cluster::from_caf_error(err);
              metrics->error(e.code);
              sink->fail(e, ref);
            });
    return;
  }
  auto id = ++st.next_call;
  st.pending.emplace(id, gateway_state::pending_call{
                             self->clock().now() + st.cfg.request_timeout, sink, ref, topic});
  // An answer after the deadline finds its call gone (already failed).
  self->request(st.router, caf::infinite, cluster::route_atom::value, c.target, c.command)
      .then(
          [=](Reply& reply) mutable {
            if (self->state.pending.erase(id) == 0)
              return;
            subscription_ended(self, topic);
            on_reply(reply, c);
          },
          [=](caf::error& err) {
            if (self->state.pending.erase(id) == 0)
              return;
            subscription_ended(self, topic);
            auto e = cluster::from_caf_error(err);
            metrics->error(e.code);
            sink->fail(e, ref);
          });
}

/// Calls `fn` with each push a store snapshot stands for, order by order:
/// new_order, its order_status, and rider_arriving if a rider is arriving.
/// The session may have seen some of them: clients dedupe by order_id and
/// version (docs/protocol-additions.md).
template <class Fn>
void for_each_store_push(const actors::store_snapshot& snap, Fn fn) {
  for (auto& o : snap.orders) {
    fn(o.order);
    fn(msg::order_status_msg{o.order.order_id, o.status, o.version, o.at_ms});
    if (o.arriving)
      fn(msg::rider_arriving{o.order.order_id, o.arriving_eta_s});
  }
}

/// True if `c` would add a topic to a session that holds the most it may:
/// it is refused up front (issue #12 item 8: it used to be answered
/// `subscribed` and then never joined).
bool over_topic_cap(gateway_actor* self, const client_call& c) {
  if (c.kind != reply_kind::subscribed && c.kind != reply_kind::region_subscribed &&
      c.kind != reply_kind::topic_ok && c.kind != reply_kind::store_subscribed)
    return false;
  auto& st = self->state;
  auto it = st.by_session.find(c.session_id);
  if (it == st.by_session.end() || it->second.count(c.topic) > 0)
    return false;
  return it->second.size() >= st.cfg.topics_per_session_max;
}

void call(gateway_actor* self, client_call c) {
  using k = reply_kind;
  if (over_topic_cap(self, c))
    return refuse_over_cap(self, c);
  // Subscriptions name this gateway actor as the one to push to; the IO
  // side that built the command does not know it.
  if (c.command.match_elements<actors::subscribe_cmd>()) {
    auto sub = c.command.get_as<actors::subscribe_cmd>(0);
    sub.gateway = caf::actor_cast<caf::actor>(self);
    c.command = caf::make_message(std::move(sub));
  }
  auto plain = [](auto& reply, client_call& call) {
    call.sink->deliver(envelope_of(reply, call.ref));
  };
  switch (c.kind) {
    case k::ok: return ask<msg::ok_reply>(self, std::move(c), plain);
    case k::order_placed: return ask<msg::order_placed>(self, std::move(c), plain);
    case k::ack: return ask<msg::ack>(self, std::move(c), plain);
    case k::radius_result: return ask<msg::radius_result>(self, std::move(c), plain);
    case k::delayed_orders: return ask<msg::delayed_orders>(self, std::move(c), plain);
    case k::region_stats: return ask<msg::region_stats>(self, std::move(c), plain);
    case k::order_view:
      return ask<actors::order_view>(self, std::move(c),
                                     [](actors::order_view& v, client_call& call) {
                                       call.sink->deliver_view(v);
                                     });
    case k::subscribed:
      return ask<msg::order_snapshot>(
          self, std::move(c), [self](msg::order_snapshot& snap, client_call& call) {
            // Join before replying: pushes after this snapshot reach the
            // session, and the entity sends them after the reply.
            if (!join(self, call))
              return refuse_over_cap(self, call);
            self->state.order_versions[call.topic].advance(snap.version, snap.status);
            msg::subscribed s;
            s.order_id = core::order_id{call.target.key};
            s.snapshot = snap;
            call.sink->deliver(envelope_of(std::move(s), call.ref));
          });
    case k::region_subscribed:
      return ask<msg::region_stats>(self, std::move(c),
                                    [self](msg::region_stats& stats, client_call& call) {
                                      if (!join(self, call))
                                        return refuse_over_cap(self, call);
                                      call.sink->deliver(envelope_of(stats, call.ref));
                                    });
    case k::store_subscribed:
      return ask<actors::store_snapshot>(
          self, std::move(c), [self](actors::store_snapshot& snap, client_call& call) {
            if (!join(self, call))
              return refuse_over_cap(self, call);
            if (!call.silent)
              call.sink->deliver(envelope_of(msg::ok_reply{}, call.ref));
            for_each_store_push(snap, [&](auto&& body) {
              call.sink->deliver(envelope_of(std::move(body), ""));
            });
          });
    case k::topic_ok:
      return ask<msg::ok_reply>(self, std::move(c),
                                [self](msg::ok_reply& ok, client_call& call) {
                                  if (!join(self, call))
                                    return refuse_over_cap(self, call);
                                  if (!call.silent)
                                    call.sink->deliver(envelope_of(ok, call.ref));
                                });
  }
}

/// Writes one pushed message to every local session on `topic`.
template <class T>
void fan_out(gateway_actor* self, const std::string& topic, const T& body,
             const gateway::delivery& how) {
  auto& st = self->state;
  auto it = st.topics.find(topic);
  if (it == st.topics.end())
    return;
  auto env = envelope_of(body, "");
  // Encoded once per encoding; every session queues a count on the same
  // bytes (issue #11).
  gateway::shared_frame as_json, as_proto;
  std::uint64_t pushed = 0;
  std::int64_t handed_ns = 0; // push latency starts here: one clock read per fan-out
  gateway::push_batch batch; // one hand-off to the IO threads for all of them
  for (auto& [id, sub] : it->second) {
    auto session = sub.session.lock();
    if (!session)
      continue; // closed: closed_atom removes it
    auto& cached = sub.enc == encoding::json ? as_json : as_proto;
    if (!cached) {
      if (handed_ns == 0)
        handed_ns = core::metrics_now_ns();
      auto f = encode_frame(env, sub.enc);
      f.pushed_ns = handed_ns;
      cached = gateway::shared_frame{std::move(f)};
    }
    session->push(cached, how);
    ++pushed;
  }
  st.metrics->message_out(env.body.index(), pushed);
}

/// A failed re-subscription is asked again this much later.
constexpr std::chrono::milliseconds resubscribe_retry{1000};
/// How long a re-subscription waits for its answer before it is asked
/// again. Shorter than a client's request timeout: it is lost only with a
/// broken connection, and until it is made again the sessions here miss
/// pushes (an order may be paid and decided within seconds). Subscribing
/// twice is harmless (entities keep a set of gateways).
constexpr std::chrono::milliseconds resubscribe_timeout{1000};
/// A store re-subscription also asks for the orders that ended this
/// recently (subscribe_cmd::recent_ended_ms): far more than a lost
/// subscription can take to be made again (timeouts and retries above,
/// plus a membership round), far less than a tablet's day.
constexpr std::chrono::milliseconds store_resubscribe_lookback{60'000};
/// self: ask a failed re-subscription again.
using retry_atom = caf::atom_constant<caf::atom("n.resub")>;

/// A re-subscription failed (its answer was lost with a broken connection,
/// or the owner did not serve yet): asked again later while a session here
/// follows the topic. Nothing else would ask: the next view does only if
/// the owner changes, and the entity's activation may never stop.
void retry_later(gateway_actor* self, const std::string& topic) {
  auto& st = self->state;
  if (st.topics.count(topic) == 0 || !st.retrying.insert(topic).second)
    return; // nobody follows it, or a retry is already due
  self->delayed_send(self, resubscribe_retry, retry_atom::value, topic);
}

/// Subscribes `topic` again (its entity moved or its activation stopped).
/// An order's snapshot may show a status change the move swallowed: it is
/// pushed if it is news.
void subscribe_again(gateway_actor* self, const std::string& topic) {
  auto& st = self->state;
  auto it = st.subs.find(topic);
  if (it == st.subs.end())
    return;
  auto& sub = it->second;
  if (sub.target.kind == actors::kind::store) {
    // The activation that stopped may have recorded orders this gateway's
    // sessions never saw (another node's activation, a conflict): the
    // snapshot goes to every session on the topic, with the orders that
    // ended lately: this subscription may have been lost meanwhile.
    auto command = sub.command;
    if (command.match_elements<actors::subscribe_cmd>()) {
      auto cmd = command.get_as<actors::subscribe_cmd>(0);
      cmd.recent_ended_ms = store_resubscribe_lookback.count();
      command = caf::make_message(std::move(cmd));
    }
    self->request(st.router, std::min(st.cfg.request_timeout, resubscribe_timeout),
                  cluster::route_atom::value, sub.target, std::move(command))
        .then(
            [=](const actors::store_snapshot& snap) {
              if (self->state.topics.count(topic) == 0)
                return;
              gateway::push_batch batch;
              for_each_store_push(snap, [&](auto&& body) {
                fan_out(self, topic, body, gateway::delivery::reliable());
              });
            },
            [=](caf::error&) { retry_later(self, topic); });
    return;
  }
  if (sub.target.kind != actors::kind::order) {
    // Answered ok (a rider) or with region stats, which the request does
    // not expect: either way the entity has us subscribed again.
    self->request(st.router, std::min(st.cfg.request_timeout, resubscribe_timeout),
                  cluster::route_atom::value, sub.target, sub.command)
        .then([](const msg::ok_reply&) {},
              [=](caf::error& e) {
                if (e != caf::sec::unexpected_response)
                  retry_later(self, topic);
              });
    return;
  }
  self->request(st.router, std::min(st.cfg.request_timeout, resubscribe_timeout),
                cluster::route_atom::value, sub.target, sub.command)
      .then(
          [=](const msg::order_snapshot& snap) {
            auto& s = self->state;
            if (s.topics.count(topic) == 0)
              return;
            if (!s.order_versions[topic].advance(snap.version, snap.status))
              return;
            msg::order_status_msg missed;
            missed.order_id = core::order_id{s.subs.at(topic).target.key};
            missed.status = snap.status;
            missed.version = snap.version;
            missed.at_ms = s.cfg.clock != nullptr ? s.cfg.clock->now_ms() : 0;
            fan_out(self, topic, missed, gateway::delivery::reliable());
          },
          [=](caf::error&) { retry_later(self, topic); });
}

/// Which process owns `ref` in `v`, and over which connection: the owner's
/// id, its epoch (0 if none) and the handle its router is reached by.
struct owner_link {
  std::string id;
  std::uint64_t epoch = 0;
  caf::actor_addr router;

  bool operator!=(const owner_link& o) const {
    return id != o.id || epoch != o.epoch || router != o.router;
  }
};

owner_link owner_of_link(const cluster::cluster_view& v, const cluster::entity_ref& ref) {
  owner_link out;
  out.id = cluster::owner_of(v, ref);
  if (const auto* m = cluster::find_member(v, out.id); m != nullptr) {
    out.epoch = m->epoch;
    out.router = m->router.address();
  }
  return out;
}

/// Subscribes again to every entity whose owner changed with this view (a
/// node that died cannot say its activations stopped). The same owner with
/// a new epoch is a new process too: it crashed and joined again, and this
/// node may never have seen a view without it (the old lease ran out in
/// the round it joined), while its activations know no subscriber. The same
/// owner behind a new handle means the connection broke and was made again
/// (the membership actor then sends the same view version with the new
/// handle): a subscription in flight on the old connection may be lost,
/// and waiting for its request timeout can outlast an order's decision.
void resubscribe(gateway_actor* self, cluster::cluster_view v) {
  auto& st = self->state;
  if (v.version < st.view.version)
    return;
  auto old = std::move(st.view);
  st.view = std::move(v);
  std::vector<std::string> moved;
  for (auto& [topic, sub] : st.subs)
    if (old.members.empty() || owner_of_link(old, sub.target) != owner_of_link(st.view, sub.target))
      moved.push_back(topic);
  for (auto& topic : moved)
    subscribe_again(self, topic);
}

caf::behavior gateway_behavior(gateway_actor* self, gateway_actor_config cfg,
                               caf::actor router,
                               std::shared_ptr<session_directory> sessions,
                               std::shared_ptr<node_metrics> metrics) {
  auto& st = self->state;
  st.cfg = cfg;
  st.router = std::move(router);
  st.sessions = std::move(sessions);
  st.metrics = std::move(metrics);
  auto reliable = gateway::delivery::reliable();
  // Replies to fire-and-forget commands (unsubscribe, re-subscribe) come
  // back as plain messages or errors; none of them may stop the gateway.
  self->set_error_handler([](caf::error&) {});
  self->set_default_handler(caf::drop);
  auto sweep_every = std::max(cfg.request_timeout / 4, std::chrono::milliseconds{1});
  if (cfg.deadlines == request_deadlines::swept)
    self->delayed_send(self, sweep_every, sweep_atom::value);
  self->delayed_send(self, mailbox_sample_interval, mailbox_sample_atom::value);
  return {
    [=](mailbox_sample_atom) {
      // Messages queued behind this one: pushes from entities, calls from
      // the IO threads. A growing depth means the fan-out cannot keep up.
      self->state.metrics->gateway_mailbox_depth(self->mailbox().size());
      self->delayed_send(self, mailbox_sample_interval, mailbox_sample_atom::value);
    },
    [=](sweep_atom) {
      sweep(self);
      self->delayed_send(self, sweep_every, sweep_atom::value);
    },
    [=](call_atom, client_call& c) { call(self, std::move(c)); },
    [=](leave_atom, leave_topic& l) {
      auto& mine = self->state.by_session[l.session_id];
      mine.erase(l.topic);
      leave(self, l.session_id, l.topic, l.target);
    },
    [=](closed_atom, std::uint64_t id) { session_closed(self, id); },
    // Entities answer unsubscribe_cmd with ok; nothing waits for it.
    [=](const msg::ok_reply&) {},
    [=](actors::push_atom, const std::string& topic, const msg::order_status_msg& x) {
      // An order's topic carries one order, whose versions only go forward.
      // A store's carries all its orders (versions of different orders do
      // not compare; the store pushes each change once itself).
      bool order_topic = topic.size() > actors::kind::order.size() &&
                         topic.compare(0, actors::kind::order.size(), actors::kind::order) == 0 &&
                         topic[actors::kind::order.size()] == ':';
      if (order_topic) {
        // A push after the last session left (the entity had not yet
        // heard the unsubscribe, or re-sent its outbox) goes to nobody: no
        // entry for it, which would stay for the node's life (the soak's
        // RSS grew ~0.5 KB per order).
        if (self->state.topics.count(topic) == 0)
          return;
        if (!self->state.order_versions[topic].advance(x.version, x.status))
          return; // already pushed (an outbox re-send, or caught up on a move)
      }
      fan_out(self, topic, x, reliable);
    },
    [=](cluster::view_atom, cluster::cluster_view& v) { resubscribe(self, std::move(v)); },
    [=](actors::resubscribe_atom, const std::string& topic) { subscribe_again(self, topic); },
    [=](retry_atom, const std::string& topic) {
      self->state.retrying.erase(topic);
      subscribe_again(self, topic);
    },
    [=](cluster::left_atom) {},
    [=](actors::push_atom, const std::string& topic, const msg::rider_position& x) {
      fan_out(self, topic, x, gateway::delivery::latest("pos:" + topic));
    },
    [=](actors::push_atom, const std::string& topic, const msg::rider_nearby& x) {
      fan_out(self, topic, x, reliable);
    },
    [=](actors::push_atom, const std::string& topic, const msg::new_order& x) {
      fan_out(self, topic, x, reliable);
    },
    [=](actors::push_atom, const std::string& topic, const msg::rider_arriving& x) {
      fan_out(self, topic, x, reliable);
    },
    [=](actors::push_atom, const std::string& topic, const msg::assignment& x) {
      fan_out(self, topic, x, reliable);
    },
    [=](actors::push_atom, const std::string& topic, const msg::offer& x) {
      fan_out(self, topic, x, reliable);
    },
    [=](actors::push_atom, const std::string& topic, const msg::region_stats& x) {
      fan_out(self, topic, x, gateway::delivery::latest("stats:" + topic));
    },
  };
}

} // namespace

caf::actor spawn_gateway_actor(caf::actor_system& sys, gateway_actor_config cfg,
                               caf::actor router,
                               std::shared_ptr<session_directory> sessions,
                               std::shared_ptr<node_metrics> metrics) {
  COURIER_ASSERT(sessions != nullptr);
  COURIER_ASSERT(metrics != nullptr);
  return sys.spawn(gateway_behavior, cfg, std::move(router), std::move(sessions),
                   std::move(metrics));
}

} // namespace courier::node
