// courier-ctl: the operators' command-line tool. main only dispatches.
#include "tools/ctl/commands.hpp"

#include <iostream>
#include <string>

namespace {
int usage(std::ostream& os, int code) {
  os << "usage: courier-ctl COMMAND [ARGS]\n"
        "commands:\n"
        "  h3 SUBCOMMAND     H3 cell conversions (stdin -> stdout, one per line)\n"
        "  token             print a client token (--role R --id ID --secret S [--ttl S])\n"
        "  cluster status    the cluster's members and view ([--cluster URL] [--json])\n"
        "  cluster owner     the node owning entity KIND KEY ([--cluster URL])\n"
        "  drain NODE        hand NODE's entities off and wait until it leaves\n"
        "                    ([--cluster URL] [--wait-s S])\n"
        "  metrics           a node's /metrics ([--node http://HOST:PORT] [--match PREFIX])\n"
        "  history RIDER     a rider's location history from a node ([--from MS] [--to MS]\n"
        "                    [--detail raw|minute] [--node URL] --token T | --secret S)\n"
        "--cluster URL: redis://HOST:PORT (default redis://127.0.0.1:6379) or\n"
        "  redis-sentinel://H1:P1,H2:P2,.../NAME; COMMAND --help for details\n";
  return code;
}
} // namespace

int main(int argc, char** argv) {
  using namespace courier::tools;
  if (argc < 2)
    return usage(std::cerr, 2);
  std::string cmd = argv[1];
  args_t args(argv + 2, argv + argc);
  if (cmd == "-h" || cmd == "--help")
    return usage(std::cout, 0);
  if (cmd == "h3")
    return run_h3_command(args, std::cin, std::cout, std::cerr);
  if (cmd == "token")
    return run_token_command(args, std::cin, std::cout, std::cerr);
  if (cmd == "cluster")
    return run_cluster_command(args, std::cin, std::cout, std::cerr);
  if (cmd == "drain")
    return run_drain_command(args, std::cin, std::cout, std::cerr);
  if (cmd == "metrics")
    return run_metrics_command(args, std::cin, std::cout, std::cerr);
  if (cmd == "history")
    return run_history_command(args, std::cin, std::cout, std::cerr);
  std::cerr << "courier-ctl: unknown command '" << cmd << "'\n";
  return usage(std::cerr, 2);
}
