#include "messages/registry.hpp"

#include "messages/client.hpp"

#include <caf/actor_system_config.hpp>

#include <string>
#include <type_traits>

namespace courier::msg {
namespace {

template <class... Ts>
void add_alternatives(caf::actor_system_config& cfg, std::variant<Ts...>*) {
  // add_message_type<T> also registers std::vector<T> and stream<T>.
  (cfg.add_message_type<Ts>(Ts::caf_name), ...);
}

} // namespace

void register_message_types(caf::actor_system_config& cfg) {
  add_alternatives(cfg, static_cast<client_body*>(nullptr));
  cfg.add_message_type<lat_lng>(lat_lng::caf_name);
  cfg.add_message_type<item>(item::caf_name);
  cfg.add_message_type<order_snapshot>(order_snapshot::caf_name);
  cfg.add_message_type<delayed_order>(delayed_order::caf_name);
  cfg.add_message_type<map_rider>(map_rider::caf_name);
  cfg.add_message_type<map_cell>(map_cell::caf_name);
  cfg.add_message_type<map_order>(map_order::caf_name);
  cfg.add_message_type<money>("courier.money");
  // core's value types, so actors can send them on their own.
  cfg.add_message_type<core::error>("courier.core.error");
  cfg.add_message_type<core::errc>("courier.core.errc");
  cfg.add_message_type<core::order_id>("courier.id.order");
  cfg.add_message_type<core::rider_id>("courier.id.rider");
  cfg.add_message_type<core::store_id>("courier.id.store");
  cfg.add_message_type<core::customer_id>("courier.id.customer");
  cfg.add_message_type<core::node_id>("courier.id.node");
  cfg.add_message_type<core::offer_id>("courier.id.offer");
  cfg.add_message_type<core::request_id>("courier.id.request");
  cfg.add_message_type<role>("courier.enum.role");
  cfg.add_message_type<order_status>("courier.enum.order_status");
  cfg.add_message_type<radius_trigger_kind>("courier.enum.radius_trigger_kind");
}

} // namespace courier::msg
