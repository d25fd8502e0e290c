#include "nodes/node/node.hpp"

#include "actors/domain.hpp"
#include "actors/history_actor.hpp"
#include "actors/order_state.hpp"
#include "actors/payment_provider.hpp"
#include "actors/reminder_actor.hpp"
#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/entity.hpp"
#include "cluster/journal_actor.hpp"
#include "cluster/membership_actor.hpp"
#include "cluster/registry.hpp"
#include "cluster/router_transport.hpp"
#include "messages/registry.hpp"
#include "nodes/auth/token.hpp"
#include "nodes/node/client_handler.hpp"
#include "nodes/node/gateway_actor.hpp"
#include "nodes/node/lazy_clock.hpp"
#include "nodes/node/metrics.hpp"
#include "nodes/node/rest_handler.hpp"
#include "nodes/node/sessions.hpp"
#include "storage/archive_file.hpp"
#include "storage/archive_redis.hpp"
#include "storage/file_backend.hpp"
#include "storage/history_file_backend.hpp"
#include "storage/history_redis_backend.hpp"
#include "storage/history_writer.hpp"
#include "storage/redis_backend.hpp"
#include "storage/redis_membership.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <sched.h>

namespace courier::node {
namespace {

/// Cores this process may run on: its CPU affinity (taskset, cgroups'
/// cpusets), which hardware_concurrency() ignores.
std::size_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<std::size_t>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

/// How long stop() waits for the router to stop its activations before it
/// reports it (about 12 s per million live entities, see bench/README.md).
constexpr std::chrono::milliseconds router_stop_timeout{60'000};

/// Puts the calling thread under SCHED_BATCH (see node_config::threads).
/// Best effort: a kernel that refuses leaves the thread as it was.
void use_batch_scheduling() {
  sched_param p{};
  p.sched_priority = 0;
  (void)sched_setscheduler(0, SCHED_BATCH, &p); // 0: the calling thread
}

/// Applies the thread policy to every thread CAF starts (workers, clock,
/// middleman).
class batch_thread_hook final : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override { use_batch_scheduling(); }
  void thread_terminates() override {}
};

cluster::tls_files tls_files_of(const node_config& cfg) {
  return {cfg.cluster_cert, cfg.cluster_key, cfg.cluster_ca};
}

cluster::router_transport transport_of(const node_config& cfg) {
  return cfg.cluster_tls() ? cluster::router_transport::tls : cluster::router_transport::plain;
}

class node_actor_config : public caf::actor_system_config {
public:
  explicit node_actor_config(const node_config& cfg) {
    msg::register_message_types(*this);
    cluster::register_cluster_types(*this);
    actors::register_domain_types(*this);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
    // CAF 0.17 defaults to max(cores, 4) workers: on a small machine that
    // oversubscribes the cores the gateway's IO threads also need.
    set("scheduler.max-threads",
        cfg.scheduler_threads > 0 ? cfg.scheduler_threads : usable_cores());
    if (cfg.scheduler == scheduler_policy::sharing)
      set("scheduler.policy", caf::atom("sharing"));
    if (cfg.gateway.io_threads == 0) // the config ensures sharing + the lazy clock
      use_node_coordinator(*this, worker_policy::io_sharing);
    else if (cfg.clock == clock_policy::lazy)
      use_node_coordinator(*this, cfg.scheduler == scheduler_policy::sharing
                                      ? worker_policy::sharing
                                      : worker_policy::stealing);
    if (cfg.threads == thread_policy::batch)
      add_thread_hook<batch_thread_hook>();
    if (cfg.clustered())
      load<caf::io::middleman>();
    if (cfg.clustered() && cfg.cluster_tls())
      cluster::configure_tls(*this, tls_files_of(cfg));
  }
};

/// What the membership actor tells the node: that it has left the cluster
/// (drained). Set from an actor thread, read by main's thread.
struct cluster_events {
  std::mutex mutex;
  std::condition_variable changed;
  bool left = false;
  std::function<void()> on_left;

  void mark_left() {
    std::function<void()> f;
    {
      std::lock_guard<std::mutex> guard{mutex};
      if (left)
        return;
      left = true;
      f = on_left;
    }
    changed.notify_all();
    if (f)
      f();
  }
};

/// Prometheus text for the counters a node keeps outside actors.
void gateway_metrics(std::ostringstream& os, const gateway::gateway_stats& g,
                     const gateway::gateway_config& cfg, std::size_t sessions) {
  auto line = [&](const char* name, const char* type, std::uint64_t v) {
    os << "# TYPE " << name << ' ' << type << '\n' << name << ' ' << v << '\n';
  };
  line("courier_connections_open", "gauge", g.sessions_open.load());
  line("courier_connections_total", "counter", g.sessions_total.load());
  line("courier_sessions_authenticated_or_pending", "gauge", sessions);
  line("courier_http_requests_total", "counter", g.http_requests.load());
  line("courier_http_handler_exceptions_total", "counter", g.handler_exceptions.load());
  line("courier_frames_in_total", "counter", g.frames_in.load());
  line("courier_frames_out_total", "counter", g.frames_out.load());
  line("courier_bytes_in_total", "counter", g.bytes_in.load());
  line("courier_bytes_out_total", "counter", g.bytes_out.load());
  line("courier_frames_coalesced_total", "counter", g.coalesced.load());
  line("courier_frames_dropped_total", "counter", g.dropped.load());
  line("courier_sessions_closed_slow_total", "counter", g.closed_slow.load());
  line("courier_connections_refused_total", "counter", g.refused.load());
  line("courier_sessions_timed_out_total", "counter", g.timeouts.load());
  line("courier_sockets_cut_total", "counter", g.forced_closes.load());
  line("courier_session_watchdog_wakeups_total", "counter", g.watchdog_wakeups.load());
  line("courier_session_pings_total", "counter", g.pings.load());
  os << "# HELP courier_push_latency_us A push handed to the sessions by the gateway actor "
        "-> the socket write that carried it.\n"
        "# TYPE courier_push_latency_us histogram\n";
  g.push_latency_us.write(os, "courier_push_latency_us");
  os << "# HELP courier_session_queue_depth Frames in a session's outbound queue when its "
        "writer takes them (one sample per write).\n"
        "# TYPE courier_session_queue_depth histogram\n";
  g.session_queue_depth.write(os, "courier_session_queue_depth");
  // The session limits in force (issue #14: every limit in /metrics).
  auto limit = [&](const char* name, std::int64_t v) {
    line(name, "gauge", static_cast<std::uint64_t>(std::max<std::int64_t>(v, 0)));
  };
  limit("courier_limit_hello_timeout_ms", cfg.first_frame_timeout_ms);
  limit("courier_limit_idle_timeout_ms", cfg.idle_timeout_ms);
  limit("courier_limit_keepalive_idle_s", cfg.keepalive_idle_s);
  limit("courier_limit_sessions_max", static_cast<std::int64_t>(cfg.sessions_max));
  limit("courier_limit_pending_bytes_max", static_cast<std::int64_t>(cfg.pending_bytes_max));
}

void rest_metrics(std::ostringstream& os, const rest_limits_config& cfg, std::uint64_t limited) {
  auto line = [&](const char* name, const char* type, std::uint64_t v) {
    os << "# TYPE " << name << ' ' << type << '\n' << name << ' ' << v << '\n';
  };
  line("courier_rest_rate_limited_total", "counter", limited);
  line("courier_limit_rest_per_address_per_s", "gauge", cfg.per_address_per_s);
  line("courier_limit_rest_per_token_per_s", "gauge", cfg.per_subject_per_s);
}

void message_metrics(std::ostringstream& os, const node_metrics& m) {
  os << "# TYPE courier_messages_in_total counter\n";
  for (std::size_t i = 0; i < node_metrics::types; ++i)
    if (auto v = m.in(i))
      os << "courier_messages_in_total{type=\"" << type_name_at(i) << "\"} " << v << '\n';
  os << "# TYPE courier_messages_out_total counter\n";
  for (std::size_t i = 0; i < node_metrics::types; ++i)
    if (auto v = m.out(i))
      os << "courier_messages_out_total{type=\"" << type_name_at(i) << "\"} " << v << '\n';
  os << "# TYPE courier_errors_total counter\n";
  for (std::size_t i = 1; i < node_metrics::codes; ++i)
    os << "courier_errors_total{code=\"" << core::to_string(static_cast<core::errc>(i))
       << "\"} " << m.errors(i) << '\n';
  os << m.dispatch_histogram();
  os << m.request_histograms();
  os << m.rest_histograms();
  os << m.mailbox_metrics();
  os << "# TYPE courier_payments_given_up_total counter\n"
     << "courier_payments_given_up_total{op=\"capture\"} " << m.payments_given_up(false) << '\n'
     << "courier_payments_given_up_total{op=\"void\"} " << m.payments_given_up(true) << '\n';
  os << "# TYPE courier_reminders_given_up_total counter\n"
     << "courier_reminders_given_up_total " << m.reminders_given_up() << '\n';
  // Durable timers of the reminder shards running here (issue #13): a
  // finished order holds its archive timer for --order-retention-min, so
  // the fullest shard nears its limit when the retention window outgrows
  // the cluster (docs/operations.md).
  const auto r = m.reminders();
  os << "# TYPE courier_reminder_timers gauge\n"
     << "courier_reminder_timers " << r.timers << '\n'
     << "# TYPE courier_reminder_wakes gauge\n"
     << "courier_reminder_wakes " << r.wakes << '\n'
     << "# TYPE courier_reminder_timers_fullest_shard gauge\n"
     << "courier_reminder_timers_fullest_shard " << r.fullest << '\n'
     << "# TYPE courier_limit_reminder_timers_per_shard gauge\n"
     << "courier_limit_reminder_timers_per_shard " << actors::reminders_per_shard_max << '\n';
}

/// Failover on broken connections (issue #14, cluster/failover.hpp).
void fence_metrics(std::ostringstream& os, const cluster::fence_counters& f) {
  os << "# HELP courier_cluster_fences_total Members this node fenced in Redis.\n"
        "# TYPE courier_cluster_fences_total counter\n"
     << "courier_cluster_fences_total{reason=\"connection_lost\"} " << f.fenced.load() << '\n';
  os << "# HELP courier_cluster_fence_checks_total Broken connections to members, by how "
        "they were settled.\n"
        "# TYPE courier_cluster_fence_checks_total counter\n";
  const std::pair<const char*, const std::atomic<std::uint64_t>*> outcomes[] = {
      {"fenced", &f.fenced},         {"reconnected", &f.reconnected},
      {"gone", &f.gone},             {"self_fenced", &f.self_fenced},
      {"isolated", &f.isolated},     {"unknown", &f.unknown},
      {"rate_limited", &f.rate_limited},
      {"error", &f.errors}};
  for (auto& [name, v] : outcomes)
    os << "courier_cluster_fence_checks_total{outcome=\"" << name << "\"} " << v->load() << '\n';
  os << "# TYPE courier_limit_cluster_fences_per_s_max gauge\n"
     << "courier_limit_cluster_fences_per_s_max " << cluster::fences_per_s_max << '\n';
}

void actor_metrics(std::ostringstream& os, const cluster::router_stats& r,
                   const cluster::journal_stats& j) {
  auto line = [&](const char* name, const char* type, std::uint64_t v) {
    os << "# TYPE " << name << ' ' << type << '\n' << name << ' ' << v << '\n';
  };
  line("courier_entities_live", "gauge", r.live);
  // Subscriptions held by live entities, by gateway (router_state::gateway_holders).
  line("courier_router_gateways_watched", "gauge", r.gateways_watched);
  line("courier_router_gateway_watches", "gauge", r.gateway_watches);
  os << "# TYPE courier_entities_live_by_kind gauge\n";
  for (auto& [kind, n] : r.live_by_kind)
    os << "courier_entities_live_by_kind{kind=\"" << kind << "\"} " << n << '\n';
  line("courier_entity_activations_total", "counter", r.activations_total);
  line("courier_entity_passivations_total", "counter", r.passivations_total);
  line("courier_entity_messages_total", "counter", r.routed_total);
  line("courier_entity_rejected_total", "counter", r.rejected_total);
  line("courier_entity_buffered_total", "counter", r.buffered_total);
  line("courier_entity_forwarded_total", "counter", r.forwarded_total);
  line("courier_cluster_view_version", "gauge", r.view_version);
  line("courier_cluster_handoffs_total", "counter", r.handoffs_total);
  line("courier_journal_appends_total", "counter", j.appends);
  line("courier_journal_events_total", "counter", j.events);
  line("courier_journal_commits_total", "counter", j.commits);
  line("courier_journal_failures_total", "counter", j.failures);
  line("courier_journal_fsync_us_total", "counter", j.sync_us_total);
  line("courier_journal_fsync_us_max", "gauge", j.sync_us_max);
  line("courier_journal_bytes", "gauge", j.bytes);
  line("courier_journal_live_bytes", "gauge", j.live_bytes);
  line("courier_journal_streams", "gauge", j.streams);
  line("courier_journal_streams_max", "gauge", j.streams_max);
  line("courier_journal_segments", "gauge", j.segments);
  line("courier_journal_open_files", "gauge", j.open_files);
  line("courier_journal_compactions_total", "counter", j.compactions);
  line("courier_journal_compacted_bytes_total", "counter", j.compacted_bytes);
  line("courier_journal_compaction_failures_total", "counter", j.compact_failures);
  line("courier_journal_compact_us_max", "gauge", j.compact_us_max);
  // Retention (issue #13): with finished orders dropped, streams plateau.
  line("courier_orders_archived_total", "counter", j.archived);
  line("courier_archive_failures_total", "counter", j.archive_failures);
  line("courier_journal_drops_total", "counter", j.drops);
  line("courier_journal_tombstones", "gauge", j.tombstones);
  line("courier_journal_tombstones_max", "gauge", j.tombstones_max);
  line("courier_archive_entries", "gauge", j.archive_entries);
  line("courier_archive_entries_max", "gauge", j.archive_entries_max);
  line("courier_archive_bytes", "gauge", j.archive_bytes);
  line("courier_archive_index_bytes", "gauge", j.archive_index_bytes);
  line("courier_archive_expired_total", "counter", j.archive_expired);
}

/// The location history's counters, gauges and limits (issue #13).
void history_metrics(std::ostringstream& os, const storage::history_stats& h,
                     const storage::history_limits& lim) {
  auto line = [&](const char* name, const char* type, std::uint64_t v) {
    os << "# TYPE " << name << ' ' << type << '\n' << name << ' ' << v << '\n';
  };
  using storage::history_detail;
  const history_detail series[] = {history_detail::raw, history_detail::minute};
  line("courier_history_bytes", "gauge", h.bytes);
  line("courier_history_segments", "gauge", h.segments);
  line("courier_history_riders", "gauge", h.riders);
  line("courier_history_buffered_points", "gauge", h.buffered);
  line("courier_history_positions_total", "counter", h.points_in);
  line("courier_history_points_thinned_total", "counter", h.points_thinned);
  auto per_series = [&](const char* name, const auto& values) {
    os << "# TYPE " << name << " counter\n";
    for (auto d : series)
      os << name << "{series=\"" << storage::to_string(d) << "\"} "
         << values[static_cast<std::size_t>(d)] << '\n';
  };
  per_series("courier_history_points_written_total", h.written);
  per_series("courier_history_points_pruned_total", h.pruned);
  os << "# TYPE courier_history_points_dropped_total counter\n";
  for (auto d : series)
    for (std::size_t r = 0; r < storage::history_drop_reasons; ++r)
      os << "courier_history_points_dropped_total{series=\"" << storage::to_string(d)
         << "\",reason=\"" << storage::to_string(static_cast<storage::history_drop>(r))
         << "\"} " << h.dropped[static_cast<std::size_t>(d)][r] << '\n';
  line("courier_history_segments_pruned_total", "counter", h.segments_pruned);
  line("courier_history_write_failures_total", "counter", h.write_failures);
  line("courier_history_torn_records_total", "counter", h.torn_records);
  line("courier_history_torn_bytes_total", "counter", h.torn_bytes);
  line("courier_history_index_rebuilds_total", "counter", h.index_rebuilds);
  line("courier_history_compactions_total", "counter", h.compactions);
  line("courier_history_queries_total", "counter", h.queries);
  line("courier_history_query_errors_total", "counter", h.query_errors);
  line("courier_history_query_us_max", "gauge", h.query_us_max);
  line("courier_limit_history_disk_bytes_max", "gauge", lim.disk_bytes_max);
  line("courier_limit_history_riders_max", "gauge", lim.riders_max);
  line("courier_limit_history_buffer_points_max", "gauge", lim.buffer_samples_max);
  line("courier_limit_history_query_points_max", "gauge", lim.query_samples_max);
  line("courier_limit_history_detail_retention_ms", "gauge",
       static_cast<std::uint64_t>(lim.detail_retention.count()));
  line("courier_limit_history_aggregate_retention_ms", "gauge",
       static_cast<std::uint64_t>(lim.aggregate_retention.count()));
}

/// How long a REST history query waits for the history actor (a query over
/// a day reads a few thousand small records; Redis answers in one MGET).
constexpr std::chrono::seconds history_query_timeout{10};

using sweep_atom = caf::atom_constant<caf::atom("n.sweep")>;

/// How often sessions are checked for an expired token (issue #14): a
/// session outlives its token by at most this.
constexpr std::chrono::seconds token_sweep_interval{1};

/// Every token_sweep_interval: sessions whose token expired are told and
/// closed. Holds the handler weakly: the node drops it while stopping.
caf::behavior sweep_tokens(caf::event_based_actor* self, std::weak_ptr<client_handler> clients,
                           std::shared_ptr<std::atomic<std::uint64_t>> expired_total) {
  self->send(self, sweep_atom::value);
  return {[=](sweep_atom) {
    auto c = clients.lock();
    if (!c)
      return self->quit();
    expired_total->fetch_add(c->close_expired());
    self->delayed_send(self, token_sweep_interval, sweep_atom::value);
  }};
}

} // namespace

struct node::impl {
  node_config cfg;
  core::system_clock clock;
  std::optional<node_actor_config> actor_cfg;
  std::optional<caf::actor_system> sys;
  caf::actor journal, router, gateway_actor;
  caf::actor history; ///< null when the history could not be opened
  std::shared_ptr<session_directory> sessions = std::make_shared<session_directory>();
  std::shared_ptr<node_metrics> metrics = std::make_shared<node_metrics>();
  std::shared_ptr<client_handler> clients;
  caf::actor token_sweeper; ///< closes sessions whose token expired
  std::shared_ptr<std::atomic<std::uint64_t>> tokens_expired =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::unique_ptr<rest_handler> rest;
  std::unique_ptr<gateway::gateway> servers;
  bool running = false;
  // Cluster mode.
  std::shared_ptr<std::atomic<std::uint64_t>> epoch =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::shared_ptr<cluster_events> events = std::make_shared<cluster_events>();
  /// What broken connections to members led to (cluster/failover.hpp).
  std::shared_ptr<cluster::fence_counters> fences = std::make_shared<cluster::fence_counters>();
  caf::actor membership;
  std::uint16_t cluster_port = 0;

  core::result<std::unique_ptr<storage::journal_backend>> open_journal();
  core::result<std::shared_ptr<storage::archive_backend>> open_archive();
  core::result<core::unit_t> start_actors();
  void start_history();
  void query_history(actors::history_query q, std::function<void(actors::history_reply)> done);
  core::result<core::unit_t> join_cluster(const gateway::bound_ports& ports);
  void metrics_text(std::function<void(std::string)> done);
};

core::result<std::unique_ptr<storage::journal_backend>> node::impl::open_journal() {
  if (cfg.clustered()) {
    auto url = cfg.cluster_redis();
    if (!url)
      return url.err();
    // Writes are fenced by this node's membership epoch (0 until it joins).
    auto backend = storage::redis_backend::open(
        *url, storage::redis_fence{storage::member_key(cfg.node_id), epoch});
    if (!backend)
      return backend.err();
    return std::unique_ptr<storage::journal_backend>(std::move(*backend));
  }
  auto backend = storage::file_backend::open(cfg.data_dir + "/journal");
  if (!backend)
    return backend.err();
  return std::unique_ptr<storage::journal_backend>(std::move(*backend));
}

/// Finished orders' read view (issue #13): files beside the journal, or
/// Redis keys with the retention as their TTL in cluster mode.
core::result<std::shared_ptr<storage::archive_backend>> node::impl::open_archive() {
  if (cfg.clustered()) {
    auto url = cfg.cluster_redis();
    if (!url)
      return url.err();
    auto archive = storage::redis_archive::open(*url, cfg.archive_retention);
    if (!archive)
      return archive.err();
    return std::shared_ptr<storage::archive_backend>(std::move(*archive));
  }
  storage::file_archive_options options;
  options.retention = cfg.archive_retention;
  auto archive = storage::file_archive::open(cfg.data_dir + "/archive", options);
  if (!archive)
    return archive.err();
  return std::shared_ptr<storage::archive_backend>(std::move(*archive));
}

core::result<core::unit_t> node::impl::start_actors() {
  // Bad TLS files are a startup error here; CAF would read them only at the
  // first cluster connection, on its multiplexer thread, and raise.
  if (cfg.clustered() && cfg.cluster_tls())
    if (auto ok = cluster::check_tls_identity(tls_files_of(cfg)); !ok)
      return ok.err();
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir + "/journal", ec);
  if (ec)
    return core::error{core::errc::internal,
                       "cannot create data dir " + cfg.data_dir + ": " + ec.message()};
  auto backend = open_journal();
  if (!backend)
    return backend.err();
  auto archive = open_archive();
  if (!archive)
    return archive.err();
  actor_cfg.emplace(cfg);
  sys.emplace(*actor_cfg);
  journal = cluster::spawn_journal_actor(
      *sys, std::shared_ptr<storage::journal_backend>(std::move(*backend)),
      cluster::journal_spawn::detached, cluster::journal_archive{*archive, &clock});
  auto services = std::make_shared<actors::domain_services>();
  services->cfg = cfg.domain;
  services->clock = &clock;
  services->seed = cfg.seed != 0 ? cfg.seed
                                 : static_cast<std::uint64_t>(clock.now_ms());
  services->payments = actors::make_simulated_provider(cfg.domain, services->seed);
  start_history(); // registered before any rider looks for it
  services->observe_dispatch_ms = [m = metrics](std::uint64_t ms) {
    m->dispatch_latency_ms(ms);
  };
  services->observe_payment_given_up = [m = metrics](const std::string& order_id,
                                                     bool void_auth) {
    m->payment_given_up(void_auth);
    std::fprintf(stderr, "courier-node: warning: order %s: payment %s gave up after %u attempts\n",
                 order_id.c_str(), void_auth ? "void" : "capture", actors::pay_attempts_max);
  };
  services->observe_reminder_given_up = [m = metrics](const std::string& target,
                                                      const std::string& tag) {
    m->reminder_given_up();
    std::fprintf(stderr,
                 "courier-node: warning: timer %s of %s was never confirmed after %u fires\n",
                 tag.c_str(), target.c_str(), actors::reminder_fire_attempts_max);
  };
  services->observe_reminder_load = [m = metrics](const std::string& shard, std::size_t timers,
                                                  std::size_t wakes) {
    // Warn at 80% of a shard's timers, once per crossing.
    constexpr std::uint64_t warn_at = actors::reminders_per_shard_max / 5 * 4;
    unsigned long index = std::strtoul(shard.c_str(), nullptr, 10);
    if (m->reminder_load(index, timers, wakes, warn_at))
      std::fprintf(stderr,
                   "courier-node: warning: reminder shard %s holds %zu of its %zu timers: "
                   "lower --order-retention-min or add nodes (docs/operations.md)\n",
                   shard.c_str(), timers, actors::reminders_per_shard_max);
  };
  cluster::router_config rc;
  rc.activations_max = cfg.activations_max;
  rc.idle_timeout = cfg.idle_passivation;
  std::vector<cluster::entity_ref> reminder_shards;
  for (std::uint32_t shard = 0; shard < cfg.domain.reminder_shards; ++shard)
    reminder_shards.push_back(
        cluster::entity_ref{actors::kind::reminder, std::to_string(shard)});
  if (cfg.clustered()) {
    // Durable timer shards run wherever placement puts them; each new owner
    // wakes the shards it gains (so their due timers fire there).
    rc.node_id = cfg.node_id;
    rc.resident = reminder_shards;
    rc.resident_wake = caf::make_message(actors::reminder_wake{});
    rc.moved_notice = actors::domain_moved_notices();
  }
  router = cluster::spawn_router(*sys, rc, actors::make_domain_factories(services), journal);
  gateway_actor_config gc;
  gc.request_timeout = cfg.request_timeout;
  gc.deadlines = cfg.clustered() ? request_deadlines::per_request : request_deadlines::swept;
  gc.clock = &clock;
  gc.topics_per_session_max = cfg.topics_per_session_max;
  gateway_actor = spawn_gateway_actor(*sys, gc, router, sessions, metrics);
  if (!cfg.clustered()) {
    // Durable timers that came due while the node was down fire now.
    for (auto& ref : reminder_shards)
      cluster::tell_from_outside(router, ref, actors::reminder_wake{});
  }
  return core::unit;
}

void node::impl::start_history() {
  core::result<std::unique_ptr<storage::history_backend>> backend =
      core::error{core::errc::internal, ""};
  if (cfg.clustered()) {
    auto url = cfg.cluster_redis();
    if (!url) {
      backend = url.err();
    } else if (auto b = storage::history_redis_backend::open(*url, cfg.history)) {
      backend = std::unique_ptr<storage::history_backend>(std::move(*b));
    } else {
      backend = b.err();
    }
  } else if (auto b = storage::history_file_backend::open(cfg.data_dir + "/history",
                                                          cfg.history)) {
    backend = std::unique_ptr<storage::history_backend>(std::move(*b));
  } else {
    backend = b.err();
  }
  // History is best-effort: a node without it still serves (REST says 503).
  if (!backend) {
    std::fprintf(stderr, "courier-node: warning: location history is off: %s\n",
                 backend.err().message.c_str());
    return;
  }
  auto writer = std::make_shared<storage::history_writer>(std::move(*backend), cfg.history);
  history = actors::spawn_history_actor(*sys, std::move(writer), &clock,
                                        actors::history_spawn::detached);
  sys->registry().put(actors::history_registry_key(), history);
}

void node::impl::query_history(actors::history_query q,
                               std::function<void(actors::history_reply)> done) {
  if (!history) {
    actors::history_reply r;
    r.error = {core::errc::unavailable, "location history is off on this node"};
    done(std::move(r));
    return;
  }
  // The handle goes in as an argument (see metrics_text).
  sys->spawn([q = std::move(q), done](caf::event_based_actor* self, caf::actor h) {
    self->request(h, history_query_timeout, q)
        .then([done](actors::history_reply& r) { done(std::move(r)); },
              [done, self](caf::error& err) {
                actors::history_reply r;
                r.error = {core::errc::unavailable,
                           "the location history did not answer: " +
                               self->system().render(err)};
                done(std::move(r));
              });
  }, history);
}

core::result<core::unit_t> node::impl::join_cluster(const gateway::bound_ports& ports) {
  auto url = cfg.cluster_redis();
  if (!url)
    return url.err();
  const auto transport = transport_of(cfg);
  // CAF falls back to anonymous ciphers when it has no credentials: a TLS
  // node must never listen like that (encrypted, but anyone may join).
  if (transport == cluster::router_transport::tls && !cluster::tls_enforced(*sys))
    return core::error{core::errc::internal,
                       "cluster TLS: CAF's OpenSSL module would not verify peers"};
  const auto bind = cfg.cluster_bind_address();
  auto published = cluster::publish_router(*sys, router, cfg.cluster_port, bind, transport);
  if (!published)
    return core::error{core::errc::unavailable,
                       "cannot publish the router on cluster port " + bind + ":" +
                           std::to_string(cfg.cluster_port) + ": " +
                           sys->render(published.error())};
  cluster_port = *published;
  cluster::membership_config mc;
  mc.redis = *url;
  mc.node_id = cfg.node_id;
  mc.host = cfg.cluster_host;
  mc.cluster_port = cluster_port;
  mc.http_port = ports.http;
  mc.tcp_port = ports.tcp;
  mc.lease = cfg.lease;
  mc.transport = transport;
  mc.epoch = epoch;
  mc.fences = fences;
  auto ev = events;
  auto on_left = sys->spawn([ev](caf::event_based_actor*, int) -> caf::behavior {
    return {
      [ev](cluster::left_atom) { ev->mark_left(); },
      [](cluster::view_atom, const cluster::cluster_view&) {},
    };
  }, 0);
  membership = cluster::spawn_membership_actor(*sys, mc, router, {gateway_actor, on_left});
  // Ready only once this node is in the cluster's view (a previous
  // incarnation's lease may have to expire first).
  auto wait = cfg.lease * 3 + std::chrono::seconds{10};
  caf::scoped_actor self{*sys};
  std::optional<core::error> failed;
  self->request(membership, wait, cluster::joined_atom::value)
      .receive([](std::uint64_t) {},
               [&](caf::error& err) {
                 failed = core::error{core::errc::unavailable,
                                      "could not join the cluster at " + cfg.cluster_url +
                                          ": " + sys->render(err)};
               });
  if (failed)
    return *failed;
  return core::unit;
}

void node::impl::metrics_text(std::function<void(std::string)> done) {
  auto base = std::make_shared<std::ostringstream>();
  gateway_metrics(*base, servers->stats(), cfg.gateway, sessions->size());
  rest_metrics(*base, cfg.rest, rest->rate_limited_total());
  *base << "# TYPE courier_sessions_token_expired_total counter\n"
        << "courier_sessions_token_expired_total " << tokens_expired->load() << '\n';
  message_metrics(*base, *metrics);
  if (membership)
    fence_metrics(*base, *fences);
  // Handles go in as arguments: CAF 0.17 dereferences a null argument
  // tuple for argument-less function actors (UBSan reports it).
  // The history is asked first and on its own: it may be busy with a slow
  // query or Redis, and the router's and journal's numbers must not wait.
  auto limits = cfg.history;
  sys->spawn([base, done, limits](caf::event_based_actor* self, caf::actor r, caf::actor j,
                                  caf::actor h) {
    auto then_actors = [=] {
      self->request(r, std::chrono::seconds{2}, cluster::stats_atom::value)
          .then(
              [=](cluster::router_stats rs) {
                self->request(j, std::chrono::seconds{2}, cluster::stats_atom::value)
                    .then([=](cluster::journal_stats js) {
                            actor_metrics(*base, rs, js);
                            done(base->str());
                          },
                          [=](caf::error&) { done(base->str()); });
              },
              [=](caf::error&) { done(base->str()); });
    };
    if (!h) {
      then_actors();
      return;
    }
    self->request(h, std::chrono::seconds{1}, actors::history_stats_atom::value)
        .then(
            [=](const storage::history_stats& hs) {
              history_metrics(*base, hs, limits);
              then_actors();
            },
            [=](caf::error&) { then_actors(); });
  }, router, journal, history);
}

node::node(node_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
}

node::~node() { stop(); }

core::result<gateway::bound_ports> node::start() {
  auto& m = *impl_;
  if (auto ok = m.start_actors(); !ok)
    return ok.err();
  client_limits limits{m.cfg.messages_per_s_max, m.cfg.messages_burst_max,
                       m.cfg.requests_in_flight_max};
  m.clients = std::make_shared<client_handler>(m.cfg.secret, m.clock, limits,
                                               m.gateway_actor, m.sessions, m.metrics);
  m.token_sweeper = m.sys->spawn(sweep_tokens, std::weak_ptr<client_handler>{m.clients},
                                 m.tokens_expired);
  m.rest = std::make_unique<rest_handler>(
      m.cfg.secret, m.clock, m.gateway_actor, m.metrics,
      [this](std::function<void(std::string)> done) { impl_->metrics_text(std::move(done)); },
      m.cfg.rest,
      [this](actors::history_query q, std::function<void(actors::history_reply)> done) {
        impl_->query_history(std::move(q), std::move(done));
      });
  auto gw = m.cfg.gateway;
  if (m.cfg.threads == thread_policy::batch)
    gw.on_io_thread_start = use_batch_scheduling;
  m.servers = std::make_unique<gateway::gateway>(std::move(gw), *m.clients, *m.rest);
  auto ports = m.servers->start();
  if (!ports) {
    m.running = true;
    stop();
    return ports.err();
  }
  m.running = true;
  if (auto loop = m.servers->loop())
    attach_io_loop(*m.sys, std::move(loop)); // --io-threads 0: CAF's worker 0 runs the IO
  if (m.cfg.clustered()) {
    if (auto joined = m.join_cluster(*ports); !joined) {
      stop();
      return joined.err();
    }
  }
  return ports;
}

std::uint16_t node::cluster_port() const { return impl_->cluster_port; }

void node::on_left(std::function<void()> f) {
  std::lock_guard<std::mutex> guard{impl_->events->mutex};
  impl_->events->on_left = std::move(f);
}

bool node::has_left() const {
  std::lock_guard<std::mutex> guard{impl_->events->mutex};
  return impl_->events->left;
}

core::result<core::unit_t> node::drain() {
  auto& m = *impl_;
  if (!m.cfg.clustered() || !m.membership || has_left())
    return core::unit;
  {
    caf::scoped_actor self{*m.sys};
    std::optional<core::error> failed;
    self->request(m.membership, std::chrono::seconds{5}, cluster::drain_atom::value)
        .receive([] {}, // the answer to a unit result is an empty message
                 [&](caf::error& err) {
                   failed = core::error{core::errc::unavailable,
                                        "drain: " + m.sys->render(err)};
                 });
    if (failed)
      return *failed;
  }
  std::unique_lock<std::mutex> lock{m.events->mutex};
  if (!m.events->changed.wait_for(lock, m.cfg.drain_timeout, [&] { return m.events->left; }))
    return core::error{core::errc::unavailable, "drain did not finish within --drain-timeout-s"};
  return core::unit;
}

void node::stop() {
  auto& m = *impl_;
  if (!m.running)
    return;
  m.running = false;
  if (m.servers)
    m.servers->stop();
  if (!m.sys)
    return;
  if (m.membership)
    caf::anon_send_exit(m.membership, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(m.gateway_actor, caf::exit_reason::user_shutdown);
  if (m.token_sweeper)
    caf::anon_send_exit(m.token_sweeper, caf::exit_reason::user_shutdown);
  {
    // The router stops every activation (in bounded bursts) and quits with
    // the last: wait for that, so what the entities appended reaches the
    // journal before it syncs and stops. If it does not finish, say so with
    // its numbers instead of hanging silently.
    caf::scoped_actor self{*m.sys};
    self->monitor(m.router);
    caf::anon_send_exit(m.router, caf::exit_reason::user_shutdown);
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(router_stop_timeout) >> [] {});
    if (!down) {
      std::string numbers = "no answer";
      self->request(m.router, std::chrono::seconds{2}, cluster::stats_atom::value)
          .receive(
              [&](cluster::router_stats& r) {
                numbers = "live=" + std::to_string(r.live) +
                          " activations_total=" + std::to_string(r.activations_total) +
                          " crashed_total=" + std::to_string(r.crashed_total);
              },
              [](caf::error&) {});
      std::fprintf(stderr, "courier-node: the router has not stopped after %lld ms (%s)\n",
                   static_cast<long long>(router_stop_timeout.count()), numbers.c_str());
    }
  }
  {
    // Whatever the entities appended before they stopped is synced before
    // the journal stops: a stats request forces the pending group commit
    // (and, unlike listing streams, costs nothing with a big journal).
    caf::scoped_actor self{*m.sys};
    self->request(m.journal, std::chrono::seconds{10}, cluster::stats_atom::value)
        .receive([](cluster::journal_stats&) {}, [](caf::error&) {});
  }
  caf::anon_send_exit(m.journal, caf::exit_reason::user_shutdown);
  if (m.history) {
    // The entities have stopped: what they told the history is in its
    // mailbox, so this writes it all, open minutes included.
    caf::scoped_actor self{*m.sys};
    self->request(m.history, std::chrono::seconds{10}, actors::history_flush_atom::value)
        .receive([] {}, [](caf::error&) {});
    caf::anon_send_exit(m.history, caf::exit_reason::user_shutdown);
  }
  // The history actor lives in the registry (riders find it there); the
  // registry's reference would keep it, and shutdown, waiting.
  m.sys->registry().erase(actors::history_registry_key());
  // A detached actor's thread ends only once nothing refers to the actor:
  // drop every handle this node holds before the system waits for them.
  m.servers.reset();
  m.clients.reset();
  m.rest.reset();
  m.journal = nullptr;
  m.membership = nullptr;
  m.router = nullptr;
  m.gateway_actor = nullptr;
  m.token_sweeper = nullptr;
  m.history = nullptr;
  m.sys.reset(); // waits for every actor
}

std::string node::token(const std::string& role, const std::string& id,
                        std::int64_t ttl_s) const {
  auth::token_claims c{role, id, impl_->clock.now_ms() / 1000 + ttl_s};
  return auth::sign_token(c, impl_->cfg.secret);
}

} // namespace courier::node
