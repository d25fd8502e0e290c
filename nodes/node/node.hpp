#pragma once
/// \file
/// One Courier node put together: the actor system, the journal (embedded
/// file backend), the entity router over the domain, the gateway actor and
/// the gateway's servers. Starts in dependency order, stops in reverse.

#include "core/result.hpp"
#include "nodes/gateway/gateway.hpp"
#include "nodes/node/config.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace courier::node {

class node {
public:
  explicit node(node_config cfg);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Opens the journal, starts actors and listeners. Errors (a port in use,
  /// a locked or corrupt data dir) are values with a clear message.
  core::result<gateway::bound_ports> start();

  /// Cluster mode: the CAF middleman port the router is published on.
  std::uint16_t cluster_port() const;

  /// Cluster mode: hands this node's entities off to the other members and
  /// leaves the cluster (waits at most --drain-timeout-s). No-op otherwise.
  core::result<core::unit_t> drain();

  /// Called (from another thread) once the node has left the cluster after
  /// a drain, e.g. one started by `courier-ctl drain`.
  void on_left(std::function<void()> f);
  bool has_left() const;

  /// Stops accepting, closes sessions, lets entities finish, flushes the
  /// journal, stops actors. Idempotent.
  void stop();

  /// A token for `role`/`id` signed with this node's secret.
  std::string token(const std::string& role, const std::string& id,
                    std::int64_t ttl_s) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace courier::node
