#include "tools/sim/sizing.hpp"

#include "core/assert.hpp"
#include "tools/sim/city.hpp"

namespace courier::sim {

double rider_cycle_s(const store_params& store, const rider_params& rider,
                     double hotspot_share) {
  COURIER_ASSERT(rider.travel_speed_mps > 0.0);
  COURIER_ASSERT(hotspot_share >= 0.0 && hotspot_share <= 1.0);
  double prep_s = 60.0 * (store.prep_minutes_min + store.prep_minutes_max) / 2.0;
  auto mean_dropoff_m = [](std::int64_t store_radius_m) {
    return 2.0 / 3.0 * dropoff_radius_share * static_cast<double>(store_radius_m);
  };
  double ride_m = hotspot_share * mean_dropoff_m(hotspot_store_radius_m) +
                  (1.0 - hotspot_share) * mean_dropoff_m(city_store_radius_m);
  double ticks_s = static_cast<double>(rider_position_interval_ms) / 1000.0;
  return prep_s + ride_m / rider.travel_speed_mps + ticks_s;
}

double sized_orders_per_min(std::uint32_t riders, double utilization, double cycle_s,
                            double speedup) {
  COURIER_ASSERT(cycle_s > 0.0);
  COURIER_ASSERT(speedup > 0.0);
  double cycle_wall_min = cycle_s / speedup / 60.0;
  return static_cast<double>(riders) * utilization / cycle_wall_min;
}

double effective_orders_per_min(const sim_config& cfg) {
  if (cfg.orders_per_min)
    return *cfg.orders_per_min;
  rider_params rider;
  rider.reject_rate = cfg.reject_rate;
  double cycle = rider_cycle_s(store_params{}, rider, cfg.hotspot_share);
  return sized_orders_per_min(cfg.riders, cfg.utilization, cycle, cfg.speedup);
}

} // namespace courier::sim
