#include "cluster/registry.hpp"

#include "cluster/cluster_view.hpp"
#include "cluster/entity_ref.hpp"
#include "cluster/journal_actor.hpp"
#include "cluster/router_actor.hpp"
#include "core/errc.hpp"

#include <caf/all.hpp>

namespace courier::cluster {
void register_cluster_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<entity_ref>("courier.entity_ref");
  cfg.add_message_type<member>("courier.member");
  cfg.add_message_type<cluster_view>("courier.cluster_view");
  cfg.add_message_type<std::vector<member>>("courier.members");
  cfg.add_message_type<router_stats>("courier.router_stats");
  cfg.add_message_type<journal_stats>("courier.journal_stats");
  cfg.add_message_type<storage::event_record>("courier.event_record");
  cfg.add_message_type<storage::snapshot_record>("courier.snapshot_record");
  cfg.add_message_type<storage::recovered_stream>("courier.recovered_stream");
  cfg.add_message_type<core::error>("courier.error");
}
} // namespace courier::cluster
