// courier-ctl cluster status / owner / drain, run as a process against a
// real redis-server whose membership table the test fills.
#include "cluster/placement.hpp"
#include "storage/redis_membership.hpp"
#include "storage/tests/redis_server.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

using namespace courier;
using namespace courier::storage;
using namespace std::chrono_literals;

namespace {

struct ctl_run {
  int code = -1;
  std::string out; ///< stdout
  std::string err; ///< stderr
};

/// Runs `courier-ctl ARGS` (ARGS already shell-safe) and collects its output.
ctl_run run_ctl(const std::string& args) {
  testing::temp_dir dir;
  const std::string err_file = dir.file("stderr");
  const std::string cmd = std::string(COURIER_CTL_PATH) + " " + args + " 2>" + err_file;
  ctl_run r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

std::unique_ptr<redis_membership> open_table(const testing::redis_server& server) {
  auto table = redis_membership::connect(server.url());
  REQUIRE(table.ok());
  return std::move(*table);
}

std::uint64_t join(redis_membership& table, const std::string& id, std::uint16_t port,
                   const std::string& stats = "{}") {
  member_record m;
  m.id = id;
  m.cluster_port = port;
  m.http_port = static_cast<std::uint16_t>(port + 1);
  m.tcp_port = static_cast<std::uint16_t>(port + 2);
  m.stats = stats;
  auto e = table.join(m, 30s);
  REQUIRE(e.ok());
  return *e;
}

} // namespace

TEST_CASE("cluster_status_json_lists_the_members") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  const auto e1 = join(*table, "n1", 7000, R"({"order":3,"rider":2})");
  join(*table, "n2", 7100);
  REQUIRE(table->set_draining("n2").ok());

  auto r = run_ctl("cluster status --json --cluster " + server.url().str());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc["view"] == 3);
  REQUIRE(doc["members"].size() == 2);
  const auto& n1 = doc["members"][0];
  CHECK(n1["id"] == "n1");
  CHECK(n1["epoch"] == e1);
  CHECK(n1["host"] == "127.0.0.1");
  CHECK(n1["cluster_port"] == 7000);
  CHECK(n1["http_port"] == 7001);
  CHECK(n1["tcp_port"] == 7002);
  CHECK(n1["draining"] == false);
  CHECK(n1["lease_left_ms"].get<std::int64_t>() > 0);
  CHECK(n1["entities"] == nlohmann::json{{"order", 3}, {"rider", 2}});
  CHECK(doc["members"][1]["id"] == "n2");
  CHECK(doc["members"][1]["draining"] == true);

  auto text = run_ctl("cluster status --cluster=" + server.url().str());
  REQUIRE_MESSAGE(text.code == 0, text.err);
  CHECK(text.out.rfind("view 3 (2 members)\n", 0) == 0);
  CHECK(text.out.find("order=3 rider=2") != std::string::npos);
  CHECK(text.out.find("127.0.0.1:7100") != std::string::npos);
}

TEST_CASE("cluster_owner_prints_the_member_placement_chooses") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  for (const char* id : {"n1", "n2", "n3"})
    join(*table, id, 7000);
  REQUIRE(table->set_draining("n3").ok());
  const std::vector<std::string> live{"n1", "n2"};
  for (const char* key : {"o-1", "o-2", "o-3", "o-42"}) {
    auto r = run_ctl(std::string("cluster owner order ") + key + " --cluster " +
                     server.url().str());
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const int want = cluster::place(live, cluster::entity_ref{"order", key});
    REQUIRE(want >= 0);
    CHECK(r.out == live[static_cast<std::size_t>(want)] + "\n");
  }
}

TEST_CASE("cluster_owner_without_a_live_member_fails") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto r = run_ctl("cluster owner order o-1 --cluster " + server.url().str());
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("error: no live member") != std::string::npos);
}

TEST_CASE("drain_waits_until_the_node_leaves") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  const auto epoch = join(*table, "n1", 7000);
  join(*table, "n2", 7100);
  // A stand-in for node n1: once its record says draining, it leaves.
  std::atomic<bool> stop{false};
  std::thread node([&] {
    auto own = open_table(server);
    while (!stop) {
      auto v = own->read_view();
      if (v)
        for (const auto& m : v->members)
          if (m.id == "n1" && m.draining) {
            std::this_thread::sleep_for(300ms); // handing off
            CHECK(own->leave("n1", epoch).ok());
            return;
          }
      std::this_thread::sleep_for(50ms);
    }
  });
  auto r = run_ctl("drain n1 --wait-s 10 --cluster " + server.url().str());
  stop = true;
  node.join();
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "drained n1\n");
  auto v = table->read_view();
  REQUIRE(v.ok());
  REQUIRE(v->members.size() == 1);
  CHECK(v->members[0].id == "n2");
}

TEST_CASE("drain_fails_for_an_unknown_node_or_one_that_stays") {
  COURIER_REDIS_SERVER_OR_SKIP(server);
  auto table = open_table(server);
  join(*table, "n1", 7000);
  auto unknown = run_ctl("drain nx --cluster " + server.url().str());
  CHECK(unknown.code == 1);
  CHECK(unknown.err.find("nx is not in the cluster") != std::string::npos);

  auto stays = run_ctl("drain n1 --wait-s 1 --cluster " + server.url().str());
  CHECK(stays.code == 1);
  CHECK(stays.err.find("n1 did not leave within 1 s") != std::string::npos);
  auto v = table->read_view();
  REQUIRE(v.ok());
  REQUIRE(v->members.size() == 1);
  CHECK(v->members[0].draining);
}

TEST_CASE("cluster_commands_report_an_unreachable_redis_and_bad_usage") {
  auto down = run_ctl("cluster status --cluster redis://127.0.0.1:1");
  CHECK(down.code == 1);
  CHECK(down.err.find("cannot connect") != std::string::npos);
  CHECK(run_ctl("cluster status --cluster http://x").code == 1);
  // Sentinel URLs: a clear error for a bad one, unavailable when no
  // sentinel answers (the full failover: tests/e2e/sentinel.test.js).
  auto no_name = run_ctl("cluster status --cluster redis-sentinel://127.0.0.1:1");
  CHECK(no_name.code == 1);
  CHECK(no_name.err.find("the master's NAME is missing") != std::string::npos);
  auto no_sentinel =
      run_ctl("cluster status --cluster redis-sentinel://127.0.0.1:1,127.0.0.1:2/courier");
  CHECK(no_sentinel.code == 1);
  CHECK(no_sentinel.err.find("no master 'courier'") != std::string::npos);
  CHECK(run_ctl("cluster").code == 2);
  CHECK(run_ctl("cluster owner order").code == 2);
  CHECK(run_ctl("drain").code == 2);
  CHECK(run_ctl("drain n1 --wait-s x").code == 2);
  auto help = run_ctl("cluster --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("cluster owner KIND KEY") != std::string::npos);
}

TEST_CASE("cluster_commands_pass_the_redis_password_from_a_file") {
  COURIER_REDIS_SERVER_OR_SKIP_WITH(server, {}, "ctl-pass");
  auto table = open_table(server);
  join(*table, "n1", 7000);
  const std::string url = " --cluster " + server.url().str();

  auto without = run_ctl("cluster status" + url);
  CHECK(without.code == 1);
  CHECK_MESSAGE(without.err.find("wants a password") != std::string::npos, without.err);

  testing::temp_dir dir;
  const std::string file = dir.file("redis-password");
  std::ofstream(file) << "ctl-pass\n";
  auto with = run_ctl("cluster status --json --redis-password-file " + file + url);
  REQUIRE_MESSAGE(with.code == 0, with.err);
  CHECK(with.out.find("\"n1\"") != std::string::npos);

  std::ofstream(dir.file("wrong")) << "not-it\n";
  auto wrong = run_ctl("cluster owner order o-1 --redis-password-file " + dir.file("wrong") + url);
  CHECK(wrong.code == 1);
  CHECK_MESSAGE(wrong.err.find("refused the credentials") != std::string::npos, wrong.err);
  CHECK(wrong.err.find("not-it") == std::string::npos);

  auto user_only = run_ctl("cluster status --redis-user courier" + url);
  CHECK(user_only.code == 2);
  CHECK(user_only.err.find("--redis-user needs --redis-password-file") != std::string::npos);
}
