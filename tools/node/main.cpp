// courier-node: starts one node and runs until SIGTERM/SIGINT. main only
// wires: parse the config, start the node, wait for a signal, stop.
#include "nodes/node/node.hpp"

#include <csignal>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

/// Blocks until SIGINT or SIGTERM arrives (both are blocked in every thread
/// the node starts afterwards, so sigwait here receives them).
int wait_for_signal(sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args)
    if (a == "-h" || a == "--help") {
      std::cout << courier::node::node_usage();
      return 0;
    }
  auto cfg = courier::node::parse_node_config(args);
  if (!cfg) {
    std::cerr << "courier-node: " << cfg.err().message << '\n';
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  bool demo = cfg->demo;
  bool clustered = cfg->clustered();
  std::string node_id = cfg->node_id;
  std::string data_dir = cfg->data_dir;
  std::string cluster_bind = cfg->cluster_bind_address();
  bool cluster_tls = cfg->cluster_tls();
  courier::node::node n{std::move(*cfg)};
  auto ports = n.start();
  if (!ports) {
    std::cerr << "courier-node: " << ports.err().message << '\n';
    if (clustered && ports.err().code == courier::core::errc::unauthorized)
      std::cerr << "courier-node: the cluster's Redis wants credentials: give "
                   "--redis-password-file (and --redis-user for an ACL user)\n";
    return 1;
  }
  std::printf("courier-node: data dir %s\n", data_dir.c_str());
  if (demo) {
    auto token = n.token("admin", "ops", 7 * 24 * 3600);
    std::printf("courier-node: admin token: %s\n", token.c_str());
    std::printf("courier-node: live map: http://127.0.0.1:%u/?token=%s\n", ports->http,
                token.c_str());
  }
  if (clustered)
    std::printf("courier-node: cluster port %s:%u, %s\n", cluster_bind.c_str(), n.cluster_port(),
                cluster_tls ? "mutual TLS" : "plaintext (loopback only: development)");
  if (clustered)
    std::printf("courier-node: ready http=%u tcp=%u cluster=%u node=%s\n", ports->http,
                ports->tcp, n.cluster_port(), node_id.c_str());
  else
    std::printf("courier-node: ready http=%u tcp=%u\n", ports->http, ports->tcp);
  std::fflush(stdout);
  // A drain started elsewhere (courier-ctl drain) ends like a SIGTERM.
  n.on_left([] { kill(getpid(), SIGTERM); });
  int sig = wait_for_signal(set);
  std::printf("courier-node: signal %d, stopping\n", sig);
  std::fflush(stdout);
  if (clustered && !n.has_left()) {
    std::printf("courier-node: draining\n");
    std::fflush(stdout);
    if (auto drained = n.drain(); !drained)
      std::fprintf(stderr, "courier-node: %s; stopping anyway\n", drained.err().message.c_str());
  }
  n.stop();
  std::printf("courier-node: stopped\n");
  return 0;
}
