#include "nodes/node/command_map.hpp"

#include "actors/order_actor.hpp"
#include "geo/cell.hpp"

#include <caf/all.hpp>

namespace courier::node {
namespace {

using core::errc;
using msg::role;
using namespace actors;

core::error forbidden(std::string_view type, role r) {
  return core::error{errc::forbidden, std::string{type} + " is not for role " +
                                          std::string{msg::to_string(r)}};
}

routed_command to(cluster::entity_ref target, caf::message cmd, reply_kind kind) {
  return routed_command{std::move(target), std::move(cmd), kind, {}, false};
}

order_cmd action(const caller& who, order_action a) {
  order_cmd c;
  c.who = who;
  c.action = a;
  return c;
}

/// The region entity a client's cell names: a valid H3 cell, keyed by H3's
/// canonical spelling (so "08830E1D8DBFFFFF" and "8830e1d8dbfffff" reach
/// the same entity). Anything else is bad_request: no entity is activated
/// for it (issue #12, item 6).
core::result<cluster::entity_ref> region_of(const std::string& text) {
  auto cell = geo::string_to_cell(text);
  if (!cell)
    return core::error{errc::bad_request, "'" + text.substr(0, 40) + "' is not an H3 cell"};
  return region_ref(geo::cell_to_string(*cell));
}

/// The entity an admin radius trigger targets: "store:<id>" or a cell.
core::result<cluster::entity_ref> radius_target(const std::string& target) {
  static const std::string prefix = "store:";
  if (target.rfind(prefix, 0) == 0)
    return store_ref(core::store_id{target.substr(prefix.size())});
  return region_of(target);
}

struct router_visitor {
  const caller& who;

  template <class T>
  bool is(role r) const { return who.role == r || who.role == role::admin; }

  core::result<routed_command> operator()(const msg::position& x) const {
    if (who.role != role::rider)
      return forbidden("position", who.role);
    return to(rider_ref(core::rider_id{who.id}),
              caf::make_message(position_cmd{who, x}), reply_kind::ack);
  }
  core::result<routed_command> operator()(const msg::availability& x) const {
    if (who.role != role::rider)
      return forbidden("availability", who.role);
    return to(rider_ref(core::rider_id{who.id}),
              caf::make_message(availability_cmd{who, x.available}), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::accept_offer& x) const {
    return offer_answer(x.offer_id, true);
  }
  core::result<routed_command> operator()(const msg::reject_offer& x) const {
    return offer_answer(x.offer_id, false);
  }
  core::result<routed_command> offer_answer(const core::offer_id& id, bool accept) const {
    if (who.role != role::rider)
      return forbidden(accept ? "accept" : "reject", who.role);
    return to(rider_ref(core::rider_id{who.id}),
              caf::make_message(offer_answer_cmd{who, id, accept}), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::status_report& x) const {
    if (who.role != role::rider)
      return forbidden("status", who.role);
    return to(rider_ref(core::rider_id{who.id}),
              caf::make_message(rider_status_cmd{who, x}), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::place_order& x) const {
    if (who.role != role::customer)
      return forbidden("place_order", who.role);
    auto id = order_id_for(core::customer_id{who.id}, x.request_id);
    return to(order_ref(id), caf::make_message(place_order_cmd{who, id, x}),
              reply_kind::order_placed);
  }
  core::result<routed_command> operator()(const msg::subscribe& x) const {
    auto ref = order_ref(x.order_id);
    auto r = to(ref, caf::make_message(subscribe_cmd{who, caf::actor{}}),
                reply_kind::subscribed);
    r.topic = topic_of(ref);
    return r;
  }
  core::result<routed_command> operator()(const msg::unsubscribe& x) const {
    auto ref = order_ref(x.order_id);
    routed_command r;
    r.target = ref;
    r.topic = topic_of(ref);
    r.local_leave = true;
    return r;
  }
  core::result<routed_command> operator()(const msg::cancel& x) const {
    if (who.role != role::customer && who.role != role::admin)
      return forbidden("cancel", who.role);
    return to(order_ref(x.order_id),
              caf::make_message(action(who, order_action::cancel)), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::accept_order& x) const {
    if (!is<void>(role::store))
      return forbidden("accept_order", who.role);
    auto c = action(who, order_action::accept);
    c.prep_minutes = x.prep_minutes;
    return to(order_ref(x.order_id), caf::make_message(c), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::reject_order& x) const {
    if (!is<void>(role::store))
      return forbidden("reject_order", who.role);
    auto c = action(who, order_action::reject);
    c.reason = x.reason;
    return to(order_ref(x.order_id), caf::make_message(c), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::cooking& x) const {
    if (!is<void>(role::store))
      return forbidden("cooking", who.role);
    return to(order_ref(x.order_id),
              caf::make_message(action(who, order_action::cooking)), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::ready& x) const {
    if (!is<void>(role::store))
      return forbidden("ready", who.role);
    return to(order_ref(x.order_id),
              caf::make_message(action(who, order_action::ready)), reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::radius_trigger& x) const {
    if (who.role != role::admin)
      return forbidden("radius_trigger", who.role);
    auto target = radius_target(x.target);
    if (!target)
      return target.err();
    auto cmd = x;
    if (target->kind == kind::region)
      cmd.target = target->key; // the canonical spelling the region checks
    return to(std::move(*target), caf::make_message(radius_trigger_cmd{who, std::move(cmd)}),
              reply_kind::radius_result);
  }
  core::result<routed_command> operator()(const msg::upsert_store& x) const {
    if (who.role != role::admin)
      return forbidden("upsert_store", who.role);
    return to(store_ref(x.store_id), caf::make_message(store_upsert_cmd{who, x}),
              reply_kind::ok);
  }
  core::result<routed_command> operator()(const msg::subscribe_region& x) const {
    if (who.role != role::admin)
      return forbidden("subscribe_region", who.role);
    auto region = region_of(x.cell);
    if (!region)
      return region.err();
    auto ref = *region;
    auto r = to(ref, caf::make_message(subscribe_cmd{who, caf::actor{}}),
                reply_kind::region_subscribed);
    r.topic = topic_of(ref);
    return r;
  }
  core::result<routed_command> operator()(const msg::delayed_orders&) const {
    if (who.role != role::admin)
      return forbidden("delayed_orders", who.role);
    return to(delays_ref(), caf::make_message(delayed_orders_query{}),
              reply_kind::delayed_orders);
  }
  /// Everything else is a server-to-client message.
  template <class T>
  core::result<routed_command> operator()(const T&) const {
    return core::error{errc::bad_request,
                       "'" + std::string{T::type} + "' is not a client request"};
  }
};

} // namespace

core::result<routed_command> route_command(const caller& who, const msg::client_body& body) {
  return std::visit(router_visitor{who}, body);
}

std::optional<routed_command> auto_subscription(const caller& who) {
  cluster::entity_ref ref;
  auto kind = reply_kind::topic_ok;
  if (who.role == role::rider) {
    ref = rider_ref(core::rider_id{who.id});
  } else if (who.role == role::store) {
    ref = store_ref(core::store_id{who.id});
    kind = reply_kind::store_subscribed; // a tablet catches up on open orders
  } else {
    return std::nullopt;
  }
  routed_command r{ref, caf::make_message(subscribe_cmd{who, caf::actor{}}), kind,
                   topic_of(ref), false};
  return r;
}

} // namespace courier::node
