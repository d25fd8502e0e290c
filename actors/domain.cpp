// The domain put together: one factory per entity kind, and the CAF type
// registration of protocol.hpp. Both are plain lists so each entity's owner
// adds its own lines.
#include "actors/domain.hpp"

#include "actors/delays_actor.hpp"
#include "cluster/atoms.hpp"
#include "actors/dispatch_actor.hpp"
#include "actors/order_actor.hpp"
#include "actors/payment_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/region_actor.hpp"
#include "actors/reminder_actor.hpp"
#include "actors/rider_actor.hpp"
#include "actors/store_actor.hpp"
#include "core/assert.hpp"

#include <caf/actor_system_config.hpp>

namespace courier::actors {

static_assert(sizeof(domain_config) > 0);

namespace {

/// A router factory that spawns `Spawn(sys, ctx, services)`.
template <class Spawn>
cluster::entity_factory factory(Spawn spawn, std::shared_ptr<const domain_services> svc) {
  return [spawn, svc](caf::actor_system& sys, const cluster::entity_context& ctx) {
    return spawn(sys, ctx, svc);
  };
}

void check(const domain_services& svc) {
  const auto& cfg = svc.cfg;
  COURIER_ASSERT(svc.clock != nullptr);
  COURIER_ASSERT(svc.payments != nullptr);
  COURIER_ASSERT(cfg.reminder_shards > 0);
  COURIER_ASSERT(cfg.reminder_snapshot_events_min > 0);
  COURIER_ASSERT(cfg.reminder_refire_after.count() > 0);
  COURIER_ASSERT(cfg.subscribers_max > 0);
  COURIER_ASSERT(cfg.nearby_m > 0);
  COURIER_ASSERT(cfg.nearby_m < cfg.arriving_m);
  COURIER_ASSERT(cfg.rider_speed_mps > 0);
  COURIER_ASSERT(cfg.payment_retry_backoff.count() > 0);
  COURIER_ASSERT(cfg.region_merge_riders < cfg.region_split_riders);
  COURIER_ASSERT(cfg.region_split_max_res >= cfg.region_res);
  COURIER_ASSERT(cfg.region_split_max_res <= cfg.rider_index_res);
  COURIER_ASSERT(cfg.region_load_interval.count() > 0);
  COURIER_ASSERT(cfg.rider_mark_interval.count() > 0);
  COURIER_ASSERT(cfg.region_prune_interval.count() > 0);
  COURIER_ASSERT(cfg.region_prune_interval < cfg.region_rider_silence);
  // Dispatch already skips riders silent this long; pruning them sooner
  // would only make riders in a tunnel flap on the map.
  COURIER_ASSERT(cfg.rider_position_fresh <= cfg.region_rider_silence);
}

} // namespace

cluster::entity_factories
make_domain_factories(std::shared_ptr<const domain_services> services) {
  COURIER_ASSERT(services != nullptr);
  check(*services);
  cluster::entity_factories f;
  f[kind::order] = factory(spawn_order_actor, services);
  f[kind::payment] = factory(spawn_payment_actor, services);
  f[kind::store] = factory(spawn_store_actor, services);
  f[kind::reminder] = factory(spawn_reminder_actor, services);
  f[kind::delays] = factory(spawn_delays_actor, services);
  f[kind::rider] = factory(spawn_rider_actor, services);
  f[kind::region] = factory(spawn_region_actor, services);
  f[kind::dispatch] = factory(
      [](caf::actor_system& sys, const cluster::entity_context& ctx,
         std::shared_ptr<const domain_services> svc) {
        return spawn_dispatch_actor(sys, ctx, std::move(svc), dispatch_timers::durable);
      },
      services);
  return f;
}

std::unordered_map<std::string, caf::message> domain_moved_notices() {
  return {{kind::store, caf::make_message(cluster::moved_atom::value)}};
}

void register_domain_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<caller>("courier.a.caller");
  cfg.add_message_type<subscribe_cmd>("courier.a.subscribe_cmd");
  cfg.add_message_type<unsubscribe_cmd>("courier.a.unsubscribe_cmd");
  cfg.add_message_type<place_order_cmd>("courier.a.place_order_cmd");
  cfg.add_message_type<order_cmd>("courier.a.order_cmd");
  cfg.add_message_type<order_query>("courier.a.order_query");
  cfg.add_message_type<order_view>("courier.a.order_view");
  cfg.add_message_type<assign_rider>("courier.a.assign_rider");
  cfg.add_message_type<rider_moved>("courier.a.rider_moved");
  cfg.add_message_type<payment_request>("courier.a.payment_request");
  cfg.add_message_type<payment_result>("courier.a.payment_result");
  cfg.add_message_type<payment_ledger_query>("courier.a.payment_ledger_query");
  cfg.add_message_type<payment_ledger>("courier.a.payment_ledger");
  cfg.add_message_type<store_upsert_cmd>("courier.a.store_upsert_cmd");
  cfg.add_message_type<store_check>("courier.a.store_check");
  cfg.add_message_type<store_info>("courier.a.store_info");
  cfg.add_message_type<radius_trigger_cmd>("courier.a.radius_trigger_cmd");
  cfg.add_message_type<region_radius_query>("courier.a.region_radius_query");
  cfg.add_message_type<region_radius>("courier.a.region_radius");
  cfg.add_message_type<store_order>("courier.a.store_order");
  cfg.add_message_type<std::vector<store_order>>("courier.a.store_orders");
  cfg.add_message_type<store_sync>("courier.a.store_sync");
  cfg.add_message_type<store_snapshot>("courier.a.store_snapshot");
  cfg.add_message_type<position_cmd>("courier.a.position_cmd");
  cfg.add_message_type<availability_cmd>("courier.a.availability_cmd");
  cfg.add_message_type<offer_answer_cmd>("courier.a.offer_answer_cmd");
  cfg.add_message_type<rider_status_cmd>("courier.a.rider_status_cmd");
  cfg.add_message_type<offer_request>("courier.a.offer_request");
  cfg.add_message_type<offer_reply>("courier.a.offer_reply");
  cfg.add_message_type<offer_withdrawn>("courier.a.offer_withdrawn");
  cfg.add_message_type<rider_assigned>("courier.a.rider_assigned");
  cfg.add_message_type<rider_released>("courier.a.rider_released");
  cfg.add_message_type<region_rider_update>("courier.a.region_rider_update");
  cfg.add_message_type<region_rider_leave>("courier.a.region_rider_leave");
  cfg.add_message_type<region_find_riders>("courier.a.region_find_riders");
  cfg.add_message_type<region_candidates>("courier.a.region_candidates");
  cfg.add_message_type<region_order_delta>("courier.a.region_order_delta");
  cfg.add_message_type<region_stats_query>("courier.a.region_stats_query");
  cfg.add_message_type<dispatch_start>("courier.a.dispatch_start");
  cfg.add_message_type<dispatch_stop>("courier.a.dispatch_stop");
  cfg.add_message_type<dispatch_answer>("courier.a.dispatch_answer");
  cfg.add_message_type<reminder_set>("courier.a.reminder_set");
  cfg.add_message_type<reminder_cancel>("courier.a.reminder_cancel");
  cfg.add_message_type<reminder_fired>("courier.a.reminder_fired");
  cfg.add_message_type<reminder_wake>("courier.a.reminder_wake");
  cfg.add_message_type<delay_update>("courier.a.delay_update");
  cfg.add_message_type<delayed_orders_query>("courier.a.delayed_orders_query");
  register_rider_side_types(cfg); // region handover, rider/dispatch views, history
}

} // namespace courier::actors
