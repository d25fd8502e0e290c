#include "nodes/node/config.hpp"

#include "nodes/auth/token.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace courier::node {
namespace {

using core::errc;
using setter = std::function<core::result<core::unit_t>(node_config&, const std::string&)>;

core::error bad(const std::string& key, const std::string& why) {
  return core::error{errc::bad_request, "--" + key + ": " + why};
}

core::result<double> to_number(const std::string& key, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
    return bad(key, "not a number: '" + text + "'");
  return v;
}

/// Makes a setter for a numeric value in [lo, hi] stored by `assign`.
setter number(double lo, double hi, std::function<void(node_config&, double)> assign,
              std::string key) {
  return [=](node_config& c, const std::string& text) -> core::result<core::unit_t> {
    auto v = to_number(key, text);
    if (!v)
      return v.err();
    if (*v < lo || *v > hi)
      return bad(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    assign(c, *v);
    return core::unit;
  };
}

using std::chrono::milliseconds;

std::map<std::string, setter> make_setters() {
  std::map<std::string, setter> s;
  auto num = [&](const std::string& key, double lo, double hi,
                 std::function<void(node_config&, double)> f) {
    s[key] = number(lo, hi, std::move(f), key);
  };
  num("http-port", 0, 65535, [](node_config& c, double v) { c.gateway.http_port = static_cast<std::uint16_t>(v); });
  num("tcp-port", 0, 65535, [](node_config& c, double v) { c.gateway.tcp_port = static_cast<std::uint16_t>(v); });
  num("io-threads", 0, 64, [](node_config& c, double v) { c.gateway.io_threads = static_cast<std::size_t>(v); });
  num("scheduler-threads", 0, 256, [](node_config& c, double v) { c.scheduler_threads = static_cast<std::size_t>(v); });
  num("sessions-max", 1, 10'000'000, [](node_config& c, double v) { c.gateway.sessions_max = static_cast<std::size_t>(v); });
  num("hello-timeout-s", 0, 3600, [](node_config& c, double v) { c.gateway.first_frame_timeout_ms = static_cast<std::int64_t>(v * 1000); });
  num("idle-timeout-s", 0, 86'400, [](node_config& c, double v) { c.gateway.idle_timeout_ms = static_cast<std::int64_t>(v * 1000); });
  num("rest-per-address-per-s", 1, 1e6, [](node_config& c, double v) { c.rest.per_address_per_s = static_cast<std::uint32_t>(v); c.rest.per_address_burst = static_cast<std::uint32_t>(2 * v); });
  num("rest-per-token-per-s", 1, 1e6, [](node_config& c, double v) { c.rest.per_subject_per_s = static_cast<std::uint32_t>(v); c.rest.per_subject_burst = static_cast<std::uint32_t>(2 * v); });
  num("pending-bytes-max", 4096, 1e9, [](node_config& c, double v) { c.gateway.pending_bytes_max = static_cast<std::size_t>(v); });
  num("messages-per-s-max", 1, 1e6, [](node_config& c, double v) { c.messages_per_s_max = v; });
  num("messages-burst-max", 1, 1e6, [](node_config& c, double v) { c.messages_burst_max = v; });
  num("seed", 0, 1.8e19, [](node_config& c, double v) { c.seed = static_cast<std::uint64_t>(v); });
  num("topics-per-session-max", 1, 1e6, [](node_config& c, double v) { c.topics_per_session_max = static_cast<std::size_t>(v); });
  num("activations-max", 1, 1e8, [](node_config& c, double v) { c.activations_max = static_cast<std::size_t>(v); });
  num("idle-passivation-s", 0, 1e7, [](node_config& c, double v) { c.idle_passivation = milliseconds(static_cast<long>(v * 1000)); });
  num("offer-timeout-s", 0.1, 3600, [](node_config& c, double v) { c.domain.offer_timeout = milliseconds(static_cast<long>(v * 1000)); });
  num("delay-alert-min", 0.01, 1e5, [](node_config& c, double v) { c.domain.delay_alert_after = milliseconds(static_cast<long>(v * 60'000)); });
  num("order-retention-min", 0, 1e6, [](node_config& c, double v) { c.domain.order_retention = milliseconds(static_cast<long>(v * 60'000)); });
  num("archive-retention-d", 1, 3650, [](node_config& c, double v) { c.archive_retention = milliseconds(static_cast<long>(v * 86'400'000)); });
  num("dispatch-radius-m", 1, 1e6, [](node_config& c, double v) { c.domain.dispatch_radius_m = v; });
  num("store-radius-m", 1, 1e6, [](node_config& c, double v) { c.domain.store_radius_default_m = static_cast<std::int64_t>(v); });
  num("payment-decline-rate", 0, 1, [](node_config& c, double v) { c.domain.payment_decline_rate = v; });
  num("payment-timeout-rate", 0, 1, [](node_config& c, double v) { c.domain.payment_timeout_rate = v; });
  num("payment-transient-rate", 0, 1, [](node_config& c, double v) { c.domain.payment_transient_rate = v; });
  num("payment-idle-s", 0, 86'400, [](node_config& c, double v) { c.domain.payment_idle = milliseconds(static_cast<long>(v * 1000)); });
  num("region-split-riders", 2, 1e7, [](node_config& c, double v) { c.domain.region_split_riders = static_cast<std::uint32_t>(v); });
  num("region-merge-riders", 1, 1e7, [](node_config& c, double v) { c.domain.region_merge_riders = static_cast<std::uint32_t>(v); });
  num("cluster-port", 0, 65535, [](node_config& c, double v) { c.cluster_port = static_cast<std::uint16_t>(v); });
  num("lease-ms", 200, 600'000, [](node_config& c, double v) { c.lease = milliseconds(static_cast<long>(v)); });
  num("history-detail-retention-h", 1, 168, [](node_config& c, double v) { c.history.detail_retention = milliseconds(static_cast<long>(v * 3'600'000)); });
  num("history-aggregate-retention-d", 1, 90, [](node_config& c, double v) { c.history.aggregate_retention = milliseconds(static_cast<long>(v * 86'400'000)); });
  num("history-flush-interval-s", 1, 300, [](node_config& c, double v) { c.history.flush_interval = milliseconds(static_cast<long>(v * 1000)); });
  num("history-disk-bytes-max", 1 << 20, 1e15, [](node_config& c, double v) { c.history.disk_bytes_max = static_cast<std::uint64_t>(v); });
  num("drain-timeout-s", 1, 3600, [](node_config& c, double v) { c.drain_timeout = milliseconds(static_cast<long>(v * 1000)); });
  // Flags that name one of two settings.
  auto choice = [&s](const char* flag, const char* a, auto va, const char* b, auto vb,
                     auto field) {
    s[flag] = [=](node_config& c, const std::string& v) -> core::result<core::unit_t> {
      if (v == a)
        c.*field = va;
      else if (v == b)
        c.*field = vb;
      else
        return bad(flag, std::string{"expected "} + a + " or " + b + ", got '" + v + "'");
      return core::unit;
    };
  };
  choice("scheduler-policy", "sharing", scheduler_policy::sharing, "stealing",
         scheduler_policy::stealing, &node_config::scheduler);
  choice("thread-policy", "batch", thread_policy::batch, "normal", thread_policy::normal,
         &node_config::threads);
  choice("actor-clock", "lazy", clock_policy::lazy, "caf", clock_policy::caf,
         &node_config::clock);
  s["cluster"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (auto url = storage::parse_redis_url(v); !url)
      return bad("cluster", url.err().message);
    c.cluster_url = v;
    return core::unit;
  };
  num("redis-wait-replicas", 0, storage::redis_wait_replicas_max, [](node_config& c, double v) { c.redis_wait_replicas = static_cast<std::uint32_t>(v); });
  num("redis-wait-timeout-ms", 1, static_cast<double>(storage::redis_wait_timeout_max.count()), [](node_config& c, double v) { c.redis_wait_timeout = milliseconds(static_cast<long>(v)); });
  s["redis-user"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty() || v.size() > 128 || v.find_first_of(" \t\r\n") != std::string::npos)
      return bad("redis-user", "1-128 characters without spaces");
    c.redis_user = v;
    return core::unit;
  };
  s["redis-password-file"] = [](node_config& c,
                                const std::string& path) -> core::result<core::unit_t> {
    auto password = auth::read_secret_file(path);
    if (!password)
      return bad("redis-password-file", password.err().message);
    c.redis_password = std::move(*password);
    return core::unit;
  };
  s["node-id"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty() || v.size() > 64 || v.find_first_of(" \t\n:,") != std::string::npos)
      return bad("node-id", "1-64 characters without spaces, ':' or ','");
    c.node_id = v;
    return core::unit;
  };
  s["cluster-host"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty())
      return bad("cluster-host", "must not be empty");
    c.cluster_host = v;
    return core::unit;
  };
  s["cluster-bind"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty())
      return bad("cluster-bind", "must not be empty");
    c.cluster_bind = v;
    return core::unit;
  };
  // Read at once: an unreadable file is a startup error, not a surprise at
  // the first cluster connection (node::start checks what is in them).
  auto pem_file = [&s](const char* flag, std::string node_config::*field) {
    s[flag] = [=](node_config& c, const std::string& path) -> core::result<core::unit_t> {
      if (path.empty())
        return bad(flag, "must not be empty");
      std::ifstream f(path);
      if (!f || f.peek() == std::ifstream::traits_type::eof())
        return bad(flag, "cannot read '" + path + "' (missing, unreadable or empty)");
      c.*field = path;
      return core::unit;
    };
  };
  pem_file("cluster-cert", &node_config::cluster_cert);
  pem_file("cluster-key", &node_config::cluster_key);
  pem_file("cluster-ca", &node_config::cluster_ca);
  s["data-dir"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty())
      return bad("data-dir", "must not be empty");
    c.data_dir = v;
    return core::unit;
  };
  s["bind"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    c.gateway.bind_address = v;
    return core::unit;
  };
  s["secret"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    if (v.empty())
      return bad("secret", "must not be empty");
    c.secret = v;
    return core::unit;
  };
  s["secret-file"] = [](node_config& c, const std::string& path) -> core::result<core::unit_t> {
    auto secret = auth::read_secret_file(path);
    if (!secret)
      return bad("secret-file", secret.err().message);
    c.secret = std::move(*secret);
    return core::unit;
  };
  s["log-level"] = [](node_config& c, const std::string& v) -> core::result<core::unit_t> {
    static const std::map<std::string, log_level> levels{
        {"error", log_level::error}, {"warning", log_level::warning},
        {"info", log_level::info}, {"debug", log_level::debug}};
    auto it = levels.find(v);
    if (it == levels.end())
      return bad("log-level", "one of error, warning, info, debug");
    c.log = it->second;
    return core::unit;
  };
  return s;
}

/// Flags that take no value.
bool apply_switch(node_config& c, const std::string& key) {
  if (key == "demo") {
    c.demo = true;
    return true;
  }
  return false;
}

core::result<core::unit_t> apply_file(node_config& c, const std::string& path,
                                      const std::map<std::string, setter>& setters) {
  std::ifstream in(path);
  if (!in)
    return core::error{errc::bad_request, "--config: cannot read '" + path + "'"};
  std::stringstream buf;
  buf << in.rdbuf();
  auto j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return core::error{errc::bad_request, "--config: '" + path + "' is not a JSON object"};
  for (auto& [key, value] : j.items()) {
    if (key == "demo" && value.is_boolean()) {
      c.demo = value.get<bool>();
      continue;
    }
    auto it = setters.find(key);
    if (it == setters.end())
      return core::error{errc::bad_request, "--config: unknown key '" + key + "'"};
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (auto r = it->second(c, text); !r)
      return r.err();
  }
  return core::unit;
}

/// The cluster transport's rules (issue #14): the TLS files come as a set;
/// without them the cluster port is plaintext and stays on loopback.
core::result<core::unit_t> check_cluster_transport(const node_config& c) {
  const bool cert = !c.cluster_cert.empty(), key = !c.cluster_key.empty(),
             ca = !c.cluster_ca.empty();
  if (cert || key || ca) {
    if (!(cert && key && ca)) {
      std::string missing;
      for (auto [given, flag] : {std::pair{cert, "--cluster-cert"}, std::pair{key, "--cluster-key"},
                                 std::pair{ca, "--cluster-ca"}})
        if (!given)
          missing += std::string{missing.empty() ? "" : ", "} + flag;
      return core::error{errc::bad_request,
                         "--cluster-cert, --cluster-key and --cluster-ca go together: missing " +
                             missing};
    }
    if (!c.clustered())
      return core::error{errc::bad_request, "--cluster-cert/--cluster-key/--cluster-ca need --cluster"};
    return core::unit;
  }
  if (!c.cluster_bind.empty() && !c.clustered())
    return core::error{errc::bad_request, "--cluster-bind needs --cluster"};
  if (!c.clustered())
    return core::unit;
  // Plaintext: anyone who reaches the port could join the routers and
  // send them anything, so it is for a development machine only.
  if (!is_loopback_address(c.cluster_bind_address()))
    return core::error{errc::bad_request,
                       "--cluster-bind " + c.cluster_bind +
                           " is not a loopback address: a plaintext cluster port is for "
                           "development only; give --cluster-cert, --cluster-key and "
                           "--cluster-ca (mutual TLS) to listen there"};
  if (!is_loopback_address(c.cluster_host))
    return core::error{errc::bad_request,
                       "--cluster-host " + c.cluster_host +
                           " is not a loopback address, but without --cluster-cert, "
                           "--cluster-key and --cluster-ca the cluster port listens on "
                           "loopback only (plaintext is for development)"};
  return core::unit;
}

} // namespace

bool is_loopback_address(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6) ||
           (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  return false;
}

std::string node_config::cluster_bind_address() const {
  if (!cluster_bind.empty())
    return cluster_bind;
  return cluster_tls() ? "0.0.0.0" : "127.0.0.1";
}

core::result<node_config> parse_node_config(const std::vector<std::string>& args) {
  node_config c;
  auto setters = make_setters();
  // The file first, so flags override it.
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--config")
      if (auto r = apply_file(c, args[i + 1], setters); !r)
        return r.err();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a.rfind("--", 0) != 0)
      return core::error{errc::bad_request, "unexpected argument '" + a + "'"};
    auto key = a.substr(2);
    std::string value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (apply_switch(c, key)) {
      continue;
    } else if (key == "config" || setters.count(key)) {
      if (i + 1 >= args.size())
        return bad(key, "needs a value");
      value = args[++i];
    }
    if (key == "config")
      continue;
    auto it = setters.find(key);
    if (it == setters.end())
      return core::error{errc::bad_request, "unknown flag '--" + key + "' (see --help)"};
    if (auto r = it->second(c, value); !r)
      return r.err();
  }
  if (c.domain.region_merge_riders >= c.domain.region_split_riders)
    return core::error{errc::bad_request,
                       "--region-merge-riders must be below --region-split-riders"};
  if (c.secret.empty() && c.demo)
    c.secret = demo_secret;
  if (c.secret.empty())
    return core::error{errc::bad_request,
                       "no token secret: give --secret, --secret-file or --demo"};
  if (c.gateway.io_threads == 0 &&
      (c.scheduler != scheduler_policy::sharing || c.clock != clock_policy::lazy))
    return core::error{errc::bad_request, "--io-threads 0 (IO on the CAF worker) needs "
                                          "--scheduler-policy sharing and --actor-clock lazy"};
  if (auto ok = storage::validate(c.history); !ok)
    return ok.err();
  if (c.clustered() && c.node_id.empty())
    return core::error{errc::bad_request, "--cluster needs --node-id"};
  if (!c.clustered() && !c.node_id.empty())
    return core::error{errc::bad_request, "--node-id needs --cluster"};
  if (!c.clustered() && c.redis_wait_replicas)
    return core::error{errc::bad_request, "--redis-wait-replicas needs --cluster"};
  if (!c.clustered() && !c.redis_password.empty())
    return core::error{errc::bad_request, "--redis-password-file needs --cluster"};
  if (!c.redis_user.empty() && c.redis_password.empty())
    return core::error{errc::bad_request, "--redis-user needs --redis-password-file"};
  if (auto ok = check_cluster_transport(c); !ok)
    return ok.err();
  return c;
}

std::string node_usage() {
  return R"(usage: courier-node [FLAGS]
  --http-port P          HTTP + WebSocket port (default 8080; 0 = any free port)
  --tcp-port P           raw TCP port (default 7070; 0 = any free port)
  --bind ADDR            listen address (default 0.0.0.0)
  --data-dir DIR         embedded journal directory (default ./courier-data)
  --order-retention-min M  a finished order leaves the journal M minutes after its final
                         status: its final state goes to the archive, its streams are
                         dropped, reads fall back to the archive (default 60; 0 = never)
  --archive-retention-d D  archived orders stay readable D days (default 30)
  --secret S             HMAC key for client tokens
  --secret-file PATH     read the key from the first line of PATH
  --demo                 demo mode: default secret, prints an admin token and the live map URL
  --log-level L          error | warning | info | debug (default info)
  --config FILE          a JSON object with the same keys as these flags (flags win)
  --io-threads N, --scheduler-threads N, --sessions-max N, --pending-bytes-max B,
  --messages-per-s-max R, --messages-burst-max N, --activations-max N,
  --idle-passivation-s S, --seed N, --topics-per-session-max N (1024)
  --rest-per-address-per-s R  REST requests per second per client address (100; burst 2R)
  --rest-per-token-per-s R    REST requests per second per token subject (50; burst 2R)
  --history-disk-bytes-max B  location history on disk, at most (64 GiB); beyond it new
                         points are dropped (counted) until retention frees space
  --history-detail-retention-h H, --history-aggregate-retention-d D  how long raw points
                         (24 h) and minute means (7 d) are kept
  --history-flush-interval-s S  buffered history is written at least this often (30): what
                         a crash loses, and how soon other nodes see it in cluster mode
  --hello-timeout-s S    a connection that has not said hello by then is closed
                         (default 10; 0 = never)
  --idle-timeout-s S     a session that sent nothing for S seconds is closed (default 120;
                         0 = never): WebSocket sessions are pinged at S/2, TCP sessions
                         are held to it once they send `ping`; every session socket has
                         TCP keepalive (probes after 60 s, reset after 6 unanswered)
  --io-threads N         0 (default): CAF's first worker runs the client IO between
                         actors (no thread hand-offs); N >= 1: the gateway's own threads
  --scheduler-threads N  CAF workers (default: one per core this process may use)
  --scheduler-policy P   sharing (default) | stealing: CAF's scheduler
  --thread-policy P      batch (default: SCHED_BATCH, hand-offs between threads
                         batch up instead of preempting) | normal (SCHED_OTHER)
  --actor-clock C        lazy (default: the timer thread wakes only for a timer due
                         sooner than it would wake anyway) | caf (CAF's clock)
cluster mode (without --cluster: one node on the embedded store):
  --cluster redis://HOST:PORT   join the cluster whose membership and journal live there
  --cluster redis-sentinel://H1:P1,H2:P2,.../NAME   the same in the Redis master NAME
                         that these sentinels (at most 16; port default 26379) monitor,
                         followed across failovers
  --redis-wait-replicas N  replicas that must acknowledge a journal commit, join or
                         lease renewal (WAIT) before it counts (default 1 with
                         redis-sentinel://, 0 with redis://)
  --redis-wait-timeout-ms MS  how long a WAIT may block (500); fewer replicas by then
                         fail the commit (unavailable), nothing is acknowledged
  --redis-password-file PATH  the Redis password (first line of PATH): every connection
                         to the Redis server says AUTH first (requirepass, or an ACL user's)
  --redis-user U         the Redis ACL user the password belongs to (default: `default`)
  --node-id ID           this node's id (required with --cluster)
  --cluster-port P       CAF middleman port for other nodes (0 = any free port)
  --cluster-host H       address other nodes reach this one at (default 127.0.0.1)
  --cluster-cert FILE, --cluster-key FILE, --cluster-ca FILE   mutual TLS between the
                         nodes (all three or none): this node's certificate and key (PEM)
                         and the cluster CA; a peer whose certificate the CA did not sign
                         cannot connect (scripts/make-cluster-certs.sh makes a test set)
  --cluster-bind ADDR    where the cluster port listens (default 0.0.0.0 with TLS,
                         127.0.0.1 without; without TLS only a loopback address is
                         accepted: plaintext is for development only)
  --lease-ms MS          membership lease (3000); a dead node is replaced after it
  --drain-timeout-s S    SIGTERM hands entities off for at most this long (30)
domain tunables:
  --offer-timeout-s S (15), --delay-alert-min M (30), --dispatch-radius-m M (3000),
  --store-radius-m M (3000), --payment-decline-rate F, --payment-timeout-rate F,
  --payment-transient-rate F, --payment-idle-s S (5: a settled payment entity passivates
  after S idle seconds; 0 = off), --region-split-riders N (400), --region-merge-riders N (200)
)";
}

core::result<storage::redis_url> node_config::cluster_redis() const {
  auto url = storage::parse_redis_url(cluster_url);
  if (!url)
    return url.err();
  if (redis_wait_replicas)
    url->wait.replicas = *redis_wait_replicas;
  url->wait.timeout = redis_wait_timeout;
  url->user = redis_user;
  url->password = redis_password;
  return url;
}

std::string_view to_string(log_level x) noexcept {
  switch (x) {
    case log_level::error: return "error";
    case log_level::warning: return "warning";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
  }
  return "info";
}

} // namespace courier::node
