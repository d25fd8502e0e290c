#pragma once
/// \file
/// The simulated city: where stores are, where riders start and roam, who
/// the customers are, and what an order looks like. Built once from the
/// config and a seeded rng, so a seed names a city.

#include "core/ids.hpp"
#include "messages/client.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_config.hpp"

#include <cstdint>
#include <vector>

namespace courier::sim {

/// Radius of the hot spot around Gangnam station (DESIGN.md: 1 km).
inline constexpr double hotspot_radius_m = 1000.0;
/// Where the spread-out part of the city lives: central Seoul, ~10 km.
inline constexpr double city_center_lat = 37.5519;
inline constexpr double city_center_lng = 126.9918;
inline constexpr double city_radius_m = 10'000.0;
/// Base delivery radius of a hot-spot store and of any other store.
inline constexpr std::int64_t hotspot_store_radius_m = 2000;
inline constexpr std::int64_t city_store_radius_m = 3000;
/// How far an idle spread-out rider roams from its start.
inline constexpr double city_rider_roam_m = 2000.0;
/// Drop-offs lie within this fraction of the store's radius, so a radius
/// shrink by an operator is visible as out_of_area only when it is real.
inline constexpr double dropoff_radius_share = 0.8;
/// Items per order and quantity per item (bounds of the uniform draw).
inline constexpr std::uint32_t order_items_min = 1;
inline constexpr std::uint32_t order_items_max = 4;
inline constexpr std::uint32_t item_qty_max = 3;
/// Item price bounds, minor units.
inline constexpr std::int64_t item_price_min = 300;
inline constexpr std::int64_t item_price_max = 2500;

/// A store and its delivery area.
struct store_site {
  core::store_id id;
  point at;
  std::int64_t radius_m = 0;
};

/// A rider's start and the disc it roams while idle.
struct rider_site {
  core::rider_id id;
  point start;
  point roam_center;
  double roam_radius_m = 0.0;
};

/// Everything placed in the city.
struct city_plan {
  std::vector<store_site> stores;
  std::vector<rider_site> riders;
  std::vector<core::customer_id> customers;
};

/// Places `cfg.stores` stores and `cfg.riders` riders, a `hotspot_share` of
/// each within hotspot_radius_m of Gangnam station and the rest within
/// city_radius_m of central Seoul; ids are s-1.., r-1.., c-1...
city_plan make_city(const sim_config& cfg, rng_t& rng);

/// What a customer orders: a store, 1-4 items, their exact total, and a
/// drop-off inside the store's delivery radius.
struct order_spec {
  std::size_t store_index = 0;
  std::vector<msg::item> items;
  msg::money total;
  point dropoff;
};

/// Draws one order from `city` (which must have at least one store).
order_spec make_order(const city_plan& city, rng_t& rng);

} // namespace courier::sim
