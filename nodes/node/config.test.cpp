#include "nodes/node/config.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using courier::node::parse_node_config;

TEST_CASE("defaults_follow_the_protocol_and_demo_brings_a_secret") {
  auto c = parse_node_config({"--demo"});
  REQUIRE(c.ok());
  CHECK(c->gateway.http_port == 8080);
  CHECK(c->gateway.tcp_port == 7070);
  CHECK(c->secret == courier::node::demo_secret);
}

TEST_CASE("flags_are_checked") {
  CHECK_FALSE(parse_node_config({}).ok()); // no secret
  CHECK_FALSE(parse_node_config({"--secret", "s", "--http-port", "70000"}).ok());
  CHECK_FALSE(parse_node_config({"--secret", "s", "--nope", "1"}).ok());
  CHECK_FALSE(parse_node_config({"--secret", "s", "--http-port"}).ok());
  auto c = parse_node_config({"--secret=s", "--http-port=0", "--tcp-port", "0",
                              "--offer-timeout-s", "2"});
  REQUIRE(c.ok());
  CHECK(c->gateway.http_port == 0);
  CHECK(c->domain.offer_timeout.count() == 2000);
}

TEST_CASE("a_config_file_has_the_same_keys_and_flags_win") {
  auto path = std::string{"/tmp/courier-config-test.json"};
  {
    std::ofstream f(path);
    f << R"({"http-port": 9000, "tcp-port": 9001, "secret": "file", "demo": true})";
  }
  auto c = parse_node_config({"--config", path, "--tcp-port", "9100"});
  std::remove(path.c_str());
  REQUIRE(c.ok());
  CHECK(c->gateway.http_port == 9000);
  CHECK(c->gateway.tcp_port == 9100);
  CHECK(c->secret == "file");
  CHECK(c->demo);
}

TEST_CASE("history_flags_are_bounded") {
  auto c = parse_node_config({"--secret", "s", "--history-flush-interval-s", "2",
                              "--history-disk-bytes-max", "1e9"});
  REQUIRE(c.ok());
  CHECK(c->history.flush_interval.count() == 2000);
  CHECK(c->history.disk_bytes_max == 1'000'000'000u);
  CHECK(c->history.detail_retention == std::chrono::hours{24});
  CHECK_FALSE(parse_node_config({"--secret", "s", "--history-flush-interval-s", "0"}).ok());
  CHECK_FALSE(parse_node_config({"--secret", "s", "--history-flush-interval-s", "400"}).ok());
  CHECK_FALSE(parse_node_config({"--secret", "s", "--history-disk-bytes-max", "10"}).ok());
  auto r = parse_node_config({"--secret", "s", "--history-detail-retention-h", "6",
                              "--history-aggregate-retention-d", "2"});
  REQUIRE(r.ok());
  CHECK(r->history.detail_retention == std::chrono::hours{6});
  CHECK(r->history.aggregate_retention == std::chrono::hours{48});
  CHECK_FALSE(parse_node_config({"--secret", "s", "--history-detail-retention-h", "72",
                                 "--history-aggregate-retention-d", "2"})
                  .ok()); // raw points kept longer than the minutes
  CHECK_FALSE(parse_node_config({"--secret", "s", "--history-detail-retention-h", "0"}).ok());
}

TEST_CASE("cluster_takes_redis_or_redis_sentinel_urls_and_wait_defaults_follow_the_scheme") {
  auto plain = parse_node_config({"--secret=s", "--cluster", "redis://10.0.0.1:6380",
                                  "--node-id", "n1"});
  REQUIRE(plain.ok());
  auto p = plain->cluster_redis();
  REQUIRE(p.ok());
  CHECK_FALSE(p->via_sentinel());
  CHECK(p->wait.replicas == 0);

  auto sent = parse_node_config({"--secret=s", "--node-id", "n1", "--redis-wait-timeout-ms",
                                 "250", "--cluster", "redis-sentinel://a:1,b,c:3/courier"});
  REQUIRE(sent.ok());
  auto u = sent->cluster_redis();
  REQUIRE(u.ok());
  REQUIRE(u->sentinels.size() == 3);
  CHECK(u->sentinels[1].port == 26379);
  CHECK(u->master_name == "courier");
  CHECK(u->wait.replicas == 1);
  CHECK(u->wait.timeout.count() == 250);

  auto two = parse_node_config({"--secret=s", "--node-id", "n1", "--redis-wait-replicas", "2",
                                "--cluster", "redis-sentinel://a/courier"});
  REQUIRE(two.ok());
  CHECK(two->cluster_redis()->wait.replicas == 2);

  for (const char* bad : {"http://h:1", "redis-sentinel://a:1", "redis-sentinel://a:1/",
                          "redis-sentinel:///m", "redis-sentinel://a:1,,b/m"}) {
    auto r = parse_node_config({"--secret=s", "--node-id", "n1", "--cluster", bad});
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok())
      CHECK(r.err().message.find("--cluster") != std::string::npos);
  }
  CHECK_FALSE(parse_node_config({"--secret=s", "--redis-wait-replicas", "1"}).ok());
  CHECK_FALSE(parse_node_config({"--secret=s", "--node-id", "n1", "--cluster", "redis://h",
                                 "--redis-wait-replicas", "17"}).ok());
}

namespace {

/// A non-empty file for the TLS flags' readability check (its contents are
/// node::start's business, not the parser's).
struct temp_pem {
  std::string path;
  explicit temp_pem(const std::string& name) : path("/tmp/courier-config-test-" + name) {
    std::ofstream f(path);
    f << "-----BEGIN CERTIFICATE-----\n";
  }
  ~temp_pem() { std::remove(path.c_str()); }
};

std::vector<std::string> cluster_args(std::vector<std::string> more) {
  std::vector<std::string> a{"--secret=s", "--cluster", "redis://127.0.0.1:6379", "--node-id",
                             "n1"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

} // namespace

TEST_CASE("without_tls_flags_the_cluster_port_binds_loopback_and_refuses_other_addresses") {
  auto c = parse_node_config(cluster_args({}));
  REQUIRE(c.ok());
  CHECK_FALSE(c->cluster_tls());
  CHECK(c->cluster_bind_address() == "127.0.0.1");
  CHECK(parse_node_config(cluster_args({"--cluster-bind", "127.0.0.2"})).ok());
  CHECK(parse_node_config(cluster_args({"--cluster-bind", "::1"})).ok());
  CHECK(parse_node_config(cluster_args({"--cluster-bind", "localhost"})).ok());
  for (const char* addr : {"0.0.0.0", "10.0.0.5", "::", "example.org"}) {
    auto r = parse_node_config(cluster_args({"--cluster-bind", addr}));
    REQUIRE_MESSAGE(!r.ok(), addr);
    CHECK(r.err().message.find("development only") != std::string::npos);
    CHECK(r.err().message.find("--cluster-cert") != std::string::npos);
  }
  // A host other members could not reach on a loopback-only port.
  CHECK_FALSE(parse_node_config(cluster_args({"--cluster-host", "10.0.0.5"})).ok());
  CHECK_FALSE(parse_node_config({"--secret=s", "--cluster-bind", "127.0.0.1"}).ok());
}

TEST_CASE("tls_flags_come_as_a_set_of_readable_files_and_open_the_bind") {
  temp_pem cert{"cert.pem"}, key{"key.pem"}, ca{"ca.pem"};
  auto c = parse_node_config(cluster_args({"--cluster-cert", cert.path, "--cluster-key",
                                           key.path, "--cluster-ca", ca.path}));
  REQUIRE(c.ok());
  CHECK(c->cluster_tls());
  CHECK(c->cluster_cert == cert.path);
  CHECK(c->cluster_key == key.path);
  CHECK(c->cluster_ca == ca.path);
  CHECK(c->cluster_bind_address() == "0.0.0.0");
  auto bound = parse_node_config(cluster_args({"--cluster-cert", cert.path, "--cluster-key",
                                               key.path, "--cluster-ca", ca.path,
                                               "--cluster-bind", "10.0.0.5",
                                               "--cluster-host", "10.0.0.5"}));
  REQUIRE(bound.ok());
  CHECK(bound->cluster_bind_address() == "10.0.0.5");

  // Incomplete sets name what is missing.
  auto no_key = parse_node_config(cluster_args({"--cluster-cert", cert.path, "--cluster-ca", ca.path}));
  REQUIRE_FALSE(no_key.ok());
  CHECK(no_key.err().message.find("missing --cluster-key") != std::string::npos);
  auto only_ca = parse_node_config(cluster_args({"--cluster-ca", ca.path}));
  REQUIRE_FALSE(only_ca.ok());
  CHECK(only_ca.err().message.find("--cluster-cert, --cluster-key") != std::string::npos);
  // Unreadable or empty files, at parse time.
  auto missing = parse_node_config(cluster_args({"--cluster-cert", "/nonexistent/n1.pem",
                                                 "--cluster-key", key.path, "--cluster-ca",
                                                 ca.path}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().message.find("--cluster-cert") != std::string::npos);
  CHECK(missing.err().message.find("/nonexistent/n1.pem") != std::string::npos);
  std::string empty = "/tmp/courier-config-test-empty.pem";
  { std::ofstream f(empty); }
  CHECK_FALSE(parse_node_config(cluster_args({"--cluster-cert", cert.path, "--cluster-key",
                                              empty, "--cluster-ca", ca.path}))
                  .ok());
  std::remove(empty.c_str());
  // TLS belongs to cluster mode.
  CHECK_FALSE(parse_node_config({"--secret=s", "--cluster-cert", cert.path, "--cluster-key",
                                 key.path, "--cluster-ca", ca.path})
                  .ok());
}

TEST_CASE("loopback_addresses_are_recognised") {
  using courier::node::is_loopback_address;
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.255.0.9"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CHECK(is_loopback_address("localhost"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("128.0.0.1"));
  CHECK_FALSE(is_loopback_address("::"));
  CHECK_FALSE(is_loopback_address(""));
  CHECK_FALSE(is_loopback_address("localhost.example.org"));
}

TEST_CASE("redis_credentials_come_from_a_file_and_need_the_cluster") {
  const std::string file = "/tmp/courier-config-test-redis-password";
  {
    std::ofstream f(file);
    f << "s3cret pass\n";
  }
  auto c = parse_node_config(cluster_args({"--redis-password-file", file, "--redis-user", "courier"}));
  REQUIRE(c.ok());
  auto url = c->cluster_redis();
  REQUIRE(url.ok());
  CHECK(url->password == "s3cret pass");
  CHECK(url->user == "courier");
  CHECK(url->str().find("s3cret") == std::string::npos);
  auto def = parse_node_config(cluster_args({"--redis-password-file", file}));
  REQUIRE(def.ok());
  CHECK(def->cluster_redis()->user.empty());

  auto user_only = parse_node_config(cluster_args({"--redis-user", "courier"}));
  REQUIRE_FALSE(user_only.ok());
  CHECK(user_only.err().message.find("--redis-password-file") != std::string::npos);
  auto single = parse_node_config({"--secret=s", "--redis-password-file", file});
  REQUIRE_FALSE(single.ok());
  CHECK(single.err().message.find("needs --cluster") != std::string::npos);
  auto missing = parse_node_config(cluster_args({"--redis-password-file", "/nonexistent/pw"}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().message.find("redis-password-file") != std::string::npos);
  CHECK_FALSE(parse_node_config(cluster_args({"--redis-user", "a b", "--redis-password-file",
                                              file})).ok());
  std::remove(file.c_str());
}
