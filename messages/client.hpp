#pragma once
/// \file
/// The client protocol's messages (PROTOCOL.md) as plain C++ structs, one per
/// JSON "type", with the same snake_case field names. These are what the
/// gateway decodes into and what actors exchange; JSON and protobuf exist
/// only at the edges (json.hpp, convert.hpp). Struct names equal the type
/// string except: error -> error_reply, ok -> ok_reply, status ->
/// status_report, accept -> accept_offer, reject -> reject_offer,
/// order_status -> order_status_msg (the enum keeps the plain name).
///
/// Each struct lists its fields once in `visit_fields`; equality and CAF's
/// `inspect` are derived from that list (fields.hpp). Register them with
/// CAF through registry.hpp, never elsewhere.

#include "core/errc.hpp"
#include "core/ids.hpp"
#include "messages/domain.hpp"
#include "messages/fields.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace courier::msg {

// -- nested values ------------------------------------------------------------

/// A point in WGS84 degrees.
struct lat_lng {
  static constexpr const char* caf_name = "courier.lat_lng";
  double lat = 0.0;
  double lng = 0.0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("lat", x.lat), field_ref("lng", x.lng));
  }
};

/// One line of an order; `price` is per unit.
struct item {
  static constexpr const char* caf_name = "courier.item";
  std::string sku;
  std::uint32_t qty = 0;
  money price;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("sku", x.sku),
              field_ref("qty", x.qty),
              field_ref("price", x.price));
  }
};

/// An order as a subscriber first sees it.
struct order_snapshot {
  static constexpr const char* caf_name = "courier.order_snapshot";
  order_status status = order_status::placed;
  std::uint64_t version = 0;
  std::optional<core::rider_id> rider_id;
  std::optional<double> lat;
  std::optional<double> lng;
  std::optional<std::uint32_t> eta_s;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("status", x.status),
              field_ref("version", x.version),
              field_ref("rider_id", x.rider_id),
              field_ref("lat", x.lat),
              field_ref("lng", x.lng),
              field_ref("eta_s", x.eta_s));
  }
};

/// One entry of the `delayed_orders` reply.
struct delayed_order {
  static constexpr const char* caf_name = "courier.delayed_order";
  core::order_id order_id;
  order_status status = order_status::placed;
  std::uint64_t age_s = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id),
              field_ref("status", x.status),
              field_ref("age_s", x.age_s));
  }
};

/// A rider on the live map (region_stats extension): state is "available"
/// or "busy".
struct map_rider {
  static constexpr const char* caf_name = "courier.map_rider";
  core::rider_id rider_id;
  double lat = 0.0;
  double lng = 0.0;
  std::string state;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("rider_id", x.rider_id), field_ref("lat", x.lat),
              field_ref("lng", x.lng), field_ref("state", x.state));
  }
};

/// An active order on the live map (region_stats extension), at its drop-off.
struct map_order {
  static constexpr const char* caf_name = "courier.map_order";
  core::order_id order_id;
  order_status status = order_status::placed;
  double lat = 0.0;
  double lng = 0.0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("status", x.status),
              field_ref("lat", x.lat), field_ref("lng", x.lng));
  }
};

/// A cell of a split hot region on the live map (region_stats extension):
/// one of the deepest cells (res 8 or 9) now holding the region's riders,
/// with their counts.
struct map_cell {
  static constexpr const char* caf_name = "courier.map_cell";
  std::string cell;
  std::uint32_t riders_available = 0;
  std::uint32_t riders_busy = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("cell", x.cell), field_ref("riders_available", x.riders_available),
              field_ref("riders_busy", x.riders_busy));
  }
};

// -- messages (one per PROTOCOL.md "type") -----------------------------------

/// Any -> server: first message of a connection.
struct hello {
  static constexpr std::string_view type = "hello";
  static constexpr const char* caf_name = "courier.hello";
  std::string token;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("token", x.token));
  }
};

/// Server -> any: `hello` succeeded; `id` is the principal id of `role`.
struct welcome {
  static constexpr std::string_view type = "welcome";
  static constexpr const char* caf_name = "courier.welcome";
  msg::role role = msg::role::rider;
  std::string id;
  std::int64_t server_time_ms = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("role", x.role),
              field_ref("id", x.id),
              field_ref("server_time_ms", x.server_time_ms));
  }
};

/// Server -> any: a request failed (PROTOCOL.md "Errors").
struct error_reply {
  static constexpr std::string_view type = "error";
  static constexpr const char* caf_name = "courier.error";
  core::errc code = core::errc::internal;
  std::string message;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("code", x.code), field_ref("message", x.message));
  }
};

/// Rider -> server: a GPS fix; `seq` strictly increasing per rider.
struct position {
  static constexpr std::string_view type = "position";
  static constexpr const char* caf_name = "courier.position";
  std::uint64_t seq = 0;
  double lat = 0.0;
  double lng = 0.0;
  std::int64_t time_ms = 0;
  std::optional<double> accuracy_m;
  std::optional<double> speed_mps;
  std::optional<double> heading_deg;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("seq", x.seq),
              field_ref("lat", x.lat),
              field_ref("lng", x.lng),
              field_ref("time_ms", x.time_ms),
              field_ref("accuracy_m", x.accuracy_m),
              field_ref("speed_mps", x.speed_mps),
              field_ref("heading_deg", x.heading_deg));
  }
};

/// Server -> rider: highest position `seq` accepted so far.
struct ack {
  static constexpr std::string_view type = "ack";
  static constexpr const char* caf_name = "courier.ack";
  std::uint64_t seq = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("seq", x.seq));
  }
};

/// Rider -> server: ready (or not) for offers.
struct availability {
  static constexpr std::string_view type = "availability";
  static constexpr const char* caf_name = "courier.availability";
  bool available = false;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("available", x.available));
  }
};

/// Server -> any: a request succeeded; `version` when it changed an order.
struct ok_reply {
  static constexpr std::string_view type = "ok";
  static constexpr const char* caf_name = "courier.ok";
  std::optional<std::uint64_t> version;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("version", x.version));
  }
};

/// Rider -> server: take this offer.
struct accept_offer {
  static constexpr std::string_view type = "accept";
  static constexpr const char* caf_name = "courier.accept";
  core::offer_id offer_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("offer_id", x.offer_id));
  }
};

/// Rider -> server: decline this offer.
struct reject_offer {
  static constexpr std::string_view type = "reject";
  static constexpr const char* caf_name = "courier.reject";
  core::offer_id offer_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("offer_id", x.offer_id));
  }
};

/// Rider -> server: the assigned rider reports picked_up / delivering / delivered.
struct status_report {
  static constexpr std::string_view type = "status";
  static constexpr const char* caf_name = "courier.status";
  core::order_id order_id;
  order_status status = order_status::placed;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("status", x.status));
  }
};

/// Server -> rider: an order to deliver; `expires_ms` is epoch ms.
struct offer {
  static constexpr std::string_view type = "offer";
  static constexpr const char* caf_name = "courier.offer";
  core::offer_id offer_id;
  core::order_id order_id;
  lat_lng store;
  lat_lng dropoff;
  double distance_m = 0.0;
  std::int64_t expires_ms = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("offer_id", x.offer_id),
              field_ref("order_id", x.order_id),
              field_ref("store", x.store),
              field_ref("dropoff", x.dropoff),
              field_ref("distance_m", x.distance_m),
              field_ref("expires_ms", x.expires_ms));
  }
};

/// Customer -> server: a new order; idempotent per `request_id`.
struct place_order {
  static constexpr std::string_view type = "place_order";
  static constexpr const char* caf_name = "courier.place_order";
  core::request_id request_id;
  core::store_id store_id;
  std::vector<item> items;
  money total;
  lat_lng dropoff;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("request_id", x.request_id),
              field_ref("store_id", x.store_id),
              field_ref("items", x.items),
              field_ref("total", x.total),
              field_ref("dropoff", x.dropoff));
  }
};

/// Server -> customer: the order behind `request_id`.
struct order_placed {
  static constexpr std::string_view type = "order_placed";
  static constexpr const char* caf_name = "courier.order_placed";
  core::order_id order_id;
  core::request_id request_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("request_id", x.request_id));
  }
};

/// Customer -> server: follow an order.
struct subscribe {
  static constexpr std::string_view type = "subscribe";
  static constexpr const char* caf_name = "courier.subscribe";
  core::order_id order_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id));
  }
};

/// Server -> customer: subscription started; pushes follow.
struct subscribed {
  static constexpr std::string_view type = "subscribed";
  static constexpr const char* caf_name = "courier.subscribed";
  core::order_id order_id;
  order_snapshot snapshot;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("snapshot", x.snapshot));
  }
};

/// Customer -> server: stop following an order.
struct unsubscribe {
  static constexpr std::string_view type = "unsubscribe";
  static constexpr const char* caf_name = "courier.unsubscribe";
  core::order_id order_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id));
  }
};

/// Customer -> server: cancel before pickup.
struct cancel {
  static constexpr std::string_view type = "cancel";
  static constexpr const char* caf_name = "courier.cancel";
  core::order_id order_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id));
  }
};

/// Server -> customer/store: an order changed status.
struct order_status_msg {
  static constexpr std::string_view type = "order_status";
  static constexpr const char* caf_name = "courier.order_status";
  core::order_id order_id;
  order_status status = order_status::placed;
  std::uint64_t version = 0;
  std::int64_t at_ms = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id),
              field_ref("status", x.status),
              field_ref("version", x.version),
              field_ref("at_ms", x.at_ms));
  }
};

/// Server -> customer: where the assigned rider is.
struct rider_position {
  static constexpr std::string_view type = "rider_position";
  static constexpr const char* caf_name = "courier.rider_position";
  core::order_id order_id;
  core::rider_id rider_id;
  double lat = 0.0;
  double lng = 0.0;
  std::int64_t at_ms = 0;
  std::uint32_t eta_s = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id),
              field_ref("rider_id", x.rider_id),
              field_ref("lat", x.lat),
              field_ref("lng", x.lng),
              field_ref("at_ms", x.at_ms),
              field_ref("eta_s", x.eta_s));
  }
};

/// Server -> rider: the order it is assigned to (the offer it accepted),
/// sent when its session (re)connects; see docs/protocol-additions.md.
struct assignment {
  static constexpr std::string_view type = "assignment";
  static constexpr const char* caf_name = "courier.assignment";
  core::order_id order_id;
  core::offer_id offer_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("offer_id", x.offer_id));
  }
};

/// Any -> server: a fresh token for the same principal before the session's
/// token expires (answered `ok`); see docs/protocol-additions.md.
struct refresh {
  static constexpr std::string_view type = "refresh";
  static constexpr const char* caf_name = "courier.refresh";
  std::string token;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("token", x.token));
  }
};

/// Any -> server: a heartbeat, answered `pong` with the same `at_ms` (the
/// client's clock, for its round-trip time). A client that pings is closed
/// when silent for the node's idle timeout; see docs/protocol-additions.md.
struct ping {
  static constexpr std::string_view type = "ping";
  static constexpr const char* caf_name = "courier.ping";
  std::optional<std::int64_t> at_ms;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("at_ms", x.at_ms));
  }
};

/// Server -> any: the answer to `ping`.
struct pong {
  static constexpr std::string_view type = "pong";
  static constexpr const char* caf_name = "courier.pong";
  std::optional<std::int64_t> at_ms;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("at_ms", x.at_ms));
  }
};

/// Server -> customer: rider within 100 m of the drop-off (once).
struct rider_nearby {
  static constexpr std::string_view type = "rider_nearby";
  static constexpr const char* caf_name = "courier.rider_nearby";
  core::order_id order_id;
  double distance_m = 0.0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("distance_m", x.distance_m));
  }
};

/// Store -> server: the store takes the order.
struct accept_order {
  static constexpr std::string_view type = "accept_order";
  static constexpr const char* caf_name = "courier.accept_order";
  core::order_id order_id;
  std::uint32_t prep_minutes = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id),
              field_ref("prep_minutes", x.prep_minutes));
  }
};

/// Store -> server: the store declines the order.
struct reject_order {
  static constexpr std::string_view type = "reject_order";
  static constexpr const char* caf_name = "courier.reject_order";
  core::order_id order_id;
  std::string reason;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("reason", x.reason));
  }
};

/// Store -> server: cooking started.
struct cooking {
  static constexpr std::string_view type = "cooking";
  static constexpr const char* caf_name = "courier.cooking";
  core::order_id order_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id));
  }
};

/// Store -> server: ready for pickup.
struct ready {
  static constexpr std::string_view type = "ready";
  static constexpr const char* caf_name = "courier.ready";
  core::order_id order_id;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id));
  }
};

/// Server -> store: a paid order to accept or reject.
struct new_order {
  static constexpr std::string_view type = "new_order";
  static constexpr const char* caf_name = "courier.new_order";
  core::order_id order_id;
  std::vector<item> items;
  money total;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id),
              field_ref("items", x.items),
              field_ref("total", x.total));
  }
};

/// Server -> store: the assigned rider is on the way.
struct rider_arriving {
  static constexpr std::string_view type = "rider_arriving";
  static constexpr const char* caf_name = "courier.rider_arriving";
  core::order_id order_id;
  std::uint32_t eta_s = 0;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("order_id", x.order_id), field_ref("eta_s", x.eta_s));
  }
};

/// Admin -> server: shrink (or restore) a delivery radius.
struct radius_trigger {
  static constexpr std::string_view type = "radius_trigger";
  static constexpr const char* caf_name = "courier.radius_trigger";
  std::string target;
  radius_trigger_kind trigger = radius_trigger_kind::manual;
  std::int64_t radius_m = 0; ///< whole metres
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("target", x.target),
              field_ref("trigger", x.trigger),
              field_ref("radius_m", x.radius_m));
  }
};

/// Server -> admin: effective radius after a trigger.
struct radius_result {
  static constexpr std::string_view type = "radius_result";
  static constexpr const char* caf_name = "courier.radius_result";
  std::string target;
  std::int64_t radius_m = 0; ///< whole metres
  bool applied = false;
  std::optional<std::string> reason;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("target", x.target),
              field_ref("radius_m", x.radius_m),
              field_ref("applied", x.applied),
              field_ref("reason", x.reason));
  }
};

/// Admin -> server: create or update a store.
struct upsert_store {
  static constexpr std::string_view type = "upsert_store";
  static constexpr const char* caf_name = "courier.upsert_store";
  core::store_id store_id;
  double lat = 0.0;
  double lng = 0.0;
  std::int64_t radius_m = 0; ///< whole metres
  bool open = false;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("store_id", x.store_id),
              field_ref("lat", x.lat),
              field_ref("lng", x.lng),
              field_ref("radius_m", x.radius_m),
              field_ref("open", x.open));
  }
};

/// Admin -> server: follow an H3 cell's stats.
struct subscribe_region {
  static constexpr std::string_view type = "subscribe_region";
  static constexpr const char* caf_name = "courier.subscribe_region";
  std::string cell;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("cell", x.cell));
  }
};

/// Server -> admin: stats of one cell (at most 1/s).
struct region_stats {
  static constexpr std::string_view type = "region_stats";
  static constexpr const char* caf_name = "courier.region_stats";
  std::string cell;
  std::uint32_t riders_available = 0;
  std::uint32_t riders_busy = 0;
  std::map<std::string, std::uint32_t> orders_by_status;
  std::int64_t at_ms = 0;
  /// Extension for the live map (empty unless the region fills them).
  std::vector<map_rider> riders;
  std::vector<map_order> orders;
  /// True if the live-map lists (riders, orders) are cut short to keep the
  /// message in one frame; the counts above are always complete.
  bool truncated = false;
  /// Live-map extension: empty unless the cell is split (a hot cell whose
  /// children took over its riders); then the deepest cells of its split
  /// tree, res 8 or 9, with their rider counts (at most 64).
  std::vector<map_cell> split_cells;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("cell", x.cell),
              field_ref("riders_available", x.riders_available),
              field_ref("riders_busy", x.riders_busy),
              field_ref("orders_by_status", x.orders_by_status),
              field_ref("at_ms", x.at_ms), field_ref("riders", x.riders),
              field_ref("orders", x.orders), field_ref("truncated", x.truncated),
              field_ref("split_cells", x.split_cells));
  }
};

/// Admin <-> server: empty request; the reply lists late orders.
struct delayed_orders {
  static constexpr std::string_view type = "delayed_orders";
  static constexpr const char* caf_name = "courier.delayed_orders";
  std::vector<delayed_order> orders; ///< oldest first, at most delayed_orders_reply_max
  /// In replies (always set there): true if more orders are delayed than
  /// `orders` lists (the oldest are listed). Absent in the request, which
  /// shares this type.
  std::optional<bool> truncated;
  /// Calls `fn` with every field as a named reference (drives codecs and inspect).
  template <class Self, class Fn>
  static decltype(auto) visit_fields(Self& x, Fn&& fn) {
    return fn(field_ref("orders", x.orders), field_ref("truncated", x.truncated));
  }
};

// -- the envelope -------------------------------------------------------------

/// Any client message, in either direction.
using client_body = std::variant<
    hello,
    welcome,
    error_reply,
    position,
    ack,
    availability,
    ok_reply,
    accept_offer,
    reject_offer,
    status_report,
    offer,
    place_order,
    order_placed,
    subscribe,
    subscribed,
    unsubscribe,
    cancel,
    order_status_msg,
    rider_position,
    rider_nearby,
    accept_order,
    reject_order,
    cooking,
    ready,
    new_order,
    rider_arriving,
    radius_trigger,
    radius_result,
    upsert_store,
    subscribe_region,
    region_stats,
    delayed_orders,
    assignment,
    refresh,
    ping,
    pong>;

/// One frame: a body plus the client's optional correlation string `ref`,
/// echoed in the reply or error that answers it.
struct envelope {
  std::string ref;
  client_body body;

  friend bool operator==(const envelope& a, const envelope& b) {
    return a.ref == b.ref && a.body == b.body;
  }
  friend bool operator!=(const envelope& a, const envelope& b) { return !(a == b); }
};

/// The JSON "type" string (= protobuf oneof field name) of `body`.
std::string_view type_of(const client_body& body) noexcept;

} // namespace courier::msg
