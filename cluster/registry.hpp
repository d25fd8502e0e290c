#pragma once
/// \file
/// Registers the cluster layer's message types with CAF (the names are what
/// crosses the wire between nodes; see STACK_NOTES on unregistered types).

#include <caf/fwd.hpp>

namespace courier::cluster {
void register_cluster_types(caf::actor_system_config& cfg);
} // namespace courier::cluster
