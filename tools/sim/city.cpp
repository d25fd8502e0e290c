#include "tools/sim/city.hpp"

#include "core/assert.hpp"

#include <cmath>

namespace courier::sim {
namespace {

const point gangnam{gangnam_lat, gangnam_lng};
const point city_center{city_center_lat, city_center_lng};

/// The first `round(n * share)` of n things are in the hot spot.
bool in_hotspot(std::uint32_t index, std::uint32_t n, double share) {
  return index < static_cast<std::uint32_t>(std::lround(n * share));
}

} // namespace

city_plan make_city(const sim_config& cfg, rng_t& rng) {
  city_plan city;
  city.stores.reserve(cfg.stores);
  for (std::uint32_t i = 0; i < cfg.stores; ++i) {
    bool hot = in_hotspot(i, cfg.stores, cfg.hotspot_share);
    store_site s;
    s.id = core::store_id{"s-" + std::to_string(i + 1)};
    s.at = random_point_in_disc(hot ? gangnam : city_center,
                                hot ? hotspot_radius_m : city_radius_m, rng);
    s.radius_m = hot ? hotspot_store_radius_m : city_store_radius_m;
    city.stores.push_back(std::move(s));
  }
  city.riders.reserve(cfg.riders);
  for (std::uint32_t i = 0; i < cfg.riders; ++i) {
    bool hot = in_hotspot(i, cfg.riders, cfg.hotspot_share);
    rider_site r;
    r.id = core::rider_id{"r-" + std::to_string(i + 1)};
    if (hot) {
      r.start = random_point_in_disc(gangnam, hotspot_radius_m, rng);
      r.roam_center = gangnam;
      r.roam_radius_m = hotspot_radius_m;
    } else {
      r.start = random_point_in_disc(city_center, city_radius_m, rng);
      r.roam_center = r.start;
      r.roam_radius_m = city_rider_roam_m;
    }
    city.riders.push_back(std::move(r));
  }
  city.customers.reserve(cfg.customers);
  for (std::uint32_t i = 0; i < cfg.customers; ++i)
    city.customers.emplace_back("c-" + std::to_string(i + 1));
  return city;
}

order_spec make_order(const city_plan& city, rng_t& rng) {
  COURIER_ASSERT(!city.stores.empty());
  order_spec o;
  o.store_index = std::uniform_int_distribution<std::size_t>(0, city.stores.size() - 1)(rng);
  const auto& store = city.stores[o.store_index];
  auto n = std::uniform_int_distribution<std::uint32_t>(order_items_min, order_items_max)(rng);
  std::int64_t total = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    msg::item it;
    it.sku = "sku-" + std::to_string(std::uniform_int_distribution<int>(1, 40)(rng));
    it.qty = std::uniform_int_distribution<std::uint32_t>(1, item_qty_max)(rng);
    it.price.minor_units =
        std::uniform_int_distribution<std::int64_t>(item_price_min, item_price_max)(rng);
    total += it.price.minor_units * it.qty;
    o.items.push_back(std::move(it));
  }
  o.total.minor_units = total;
  o.dropoff = random_point_in_disc(
      store.at, static_cast<double>(store.radius_m) * dropoff_radius_share, rng);
  COURIER_ASSERT(distance_m(store.at, o.dropoff) <= static_cast<double>(store.radius_m));
  return o;
}

} // namespace courier::sim
