#pragma once
/// \file
/// The node's configuration: command-line flags, and the same keys in a
/// JSON file given with --config (flags win over the file). Every value has
/// its unit in its name; bad values are errors, never silently clamped.

#include "actors/domain.hpp"
#include "core/result.hpp"
#include "nodes/gateway/gateway.hpp"
#include "nodes/node/rest_limits.hpp"
#include "storage/archive.hpp"
#include "storage/history.hpp"
#include "storage/redis_client.hpp"

#include <optional>
#include <string>
#include <vector>

namespace courier::node {

/// CAF's scheduler policy (node_config::scheduler).
enum class scheduler_policy { sharing, stealing };

/// How the kernel schedules the node's threads (node_config::threads).
enum class thread_policy { batch, normal };

/// Which actor clock CAF's timers run on (node_config::clock).
enum class clock_policy { lazy, caf };

/// How chatty the node's log is.
enum class log_level { error, warning, info, debug };

/// A connection must say `hello` within this (the first frame must be hello).
inline constexpr std::int64_t hello_timeout_ms_default = 10'000;
/// A WebSocket session (or a TCP one that sent `ping`) silent this long is
/// closed; WebSocket sessions are pinged at half of it. Two minutes: long
/// enough for a phone on a flaky network, short enough that dead sessions
/// do not pile up between the kernel's keepalive probes.
inline constexpr std::int64_t idle_timeout_ms_default = 120'000;

struct node_config {
  /// Ports, bounds. A node closes a session that has not said `hello`
  /// within hello_timeout_ms_default (issue #14; the gateway alone leaves it off).
  gateway::gateway_config gateway = [] {
    gateway::gateway_config g;
    g.first_frame_timeout_ms = hello_timeout_ms_default;
    g.idle_timeout_ms = idle_timeout_ms_default;
    g.io_threads = 0; // the client IO runs on CAF's first worker (io_sharing.hpp)
    return g;
  }();
  std::string data_dir = "./courier-data";
  std::string secret;                    ///< HMAC key for client tokens
  log_level log = log_level::info;
  bool demo = false;                     ///< print an admin token and the live map URL
  std::size_t scheduler_threads = 0;     ///< CAF workers; 0 = number of cores
  /// CAF's scheduler policy. `sharing` (one queue, idle workers sleep on a
  /// condition variable) is the default: CAF 0.17's work stealing steals a
  /// queue's tail by walking it from the head, so a burst of 100k ready
  /// actors (activation, passivation, shutdown) went quadratic (issue #17),
  /// and its idle workers poll. `stealing` keeps CAF's default.
  scheduler_policy scheduler = scheduler_policy::sharing;
  /// `batch` (default) runs the CAF workers and the gateway's IO threads
  /// under SCHED_BATCH: a thread that wakes another (a frame handed to an
  /// actor, a push handed to the IO thread) is not preempted by it, so
  /// hand-offs pile up and are taken in batches instead of costing a
  /// context switch each (measured in bench/README.md). `normal` keeps
  /// SCHED_OTHER.
  thread_policy threads = thread_policy::batch;
  /// `lazy` (default): the node's lazy_clock, whose timer thread is woken
  /// only by a timer due before it would wake anyway; `caf`: CAF 0.17's
  /// clock, which wakes it for nearly every request timeout and delayed
  /// message (bench/README.md).
  clock_policy clock = clock_policy::lazy;
  rest_limits_config rest;               ///< REST rate limits per address and token
  /// Location history: retention and every bound (storage/history.hpp).
  /// Under `<data_dir>/history`, or in Redis in cluster mode.
  storage::history_limits history;
  actors::domain_config domain;
  /// How long archived (finished, dropped) orders stay readable
  /// (<data_dir>/archive or Redis keys with a TTL; storage/archive.hpp).
  std::chrono::milliseconds archive_retention = storage::archive_retention_default;
  std::uint64_t seed = 0;                ///< for simulated providers; 0 = from time
  // per-connection limits enforced by the client handler
  double messages_per_s_max = 200.0;     ///< sustained rate per connection
  double messages_burst_max = 400.0;     ///< burst per connection
  std::uint32_t requests_in_flight_max = 256; ///< per connection, then `overloaded`
  std::size_t topics_per_session_max = 1024;  ///< subscriptions per connection, then `overloaded`
  std::chrono::milliseconds request_timeout{std::chrono::seconds{5}};
  std::size_t activations_max = 1'000'000;
  std::chrono::milliseconds idle_passivation{std::chrono::minutes{10}};

  // Cluster mode (all empty/zero: a single node on the embedded store).
  /// "redis://HOST:PORT" or "redis-sentinel://H1:P1,.../NAME"; empty =
  /// single node. Checked by parse_node_config; see cluster_redis().
  std::string cluster_url;
  std::string node_id;                   ///< this node's id in the cluster
  std::uint16_t cluster_port = 0;        ///< CAF middleman port; 0 = any free port
  std::string cluster_host = "127.0.0.1"; ///< address other members reach us at
  /// Where the cluster port listens. Empty = the default: all interfaces
  /// (0.0.0.0) with TLS, loopback (127.0.0.1) without. A plaintext cluster
  /// port is for development only: parse_node_config refuses a
  /// non-loopback bind without TLS (issue #14).
  std::string cluster_bind;
  /// Mutual TLS between the members' routers: this node's certificate and
  /// key, and the cluster CA that signed every member's certificate. All
  /// three or none (checked by parse_node_config, the files' contents by
  /// node::start).
  std::string cluster_cert;
  std::string cluster_key;
  std::string cluster_ca;
  bool cluster_tls() const { return !cluster_cert.empty(); }
  /// cluster_bind, or its default for the transport.
  std::string cluster_bind_address() const;
  std::chrono::milliseconds lease{3000}; ///< membership lease; a dead node is
                                         ///< detected within about this long
  std::chrono::milliseconds drain_timeout{std::chrono::seconds{30}};
  /// Replicas that must acknowledge a journal commit, join or renewal
  /// (WAIT); unset: 1 with redis-sentinel://, 0 with redis://.
  std::optional<std::uint32_t> redis_wait_replicas;
  std::chrono::milliseconds redis_wait_timeout{500}; ///< how long a WAIT may block
  /// Redis credentials (issue #14): a node that Redis does not let in cannot
  /// join the membership or touch the journal. Empty password: no AUTH.
  std::string redis_user;
  std::string redis_password;
  bool clustered() const { return !cluster_url.empty(); }
  /// The cluster's Redis: cluster_url parsed, with the WAIT settings.
  core::result<storage::redis_url> cluster_redis() const;
};

/// The default secret of a --demo node (printed tokens are signed with it).
inline constexpr const char* demo_secret = "courier-demo-secret";

/// Parses argv (after the program name). `--help` gives errc::none-free
/// special result: see help_requested().
core::result<node_config> parse_node_config(const std::vector<std::string>& args);

/// The usage text.
std::string node_usage();

std::string_view to_string(log_level x) noexcept;

/// Is `host` a loopback address (127.0.0.0/8, ::1, "localhost")? A
/// plaintext cluster port may listen only there.
bool is_loopback_address(const std::string& host);

} // namespace courier::node
