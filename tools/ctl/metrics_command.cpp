// courier-ctl metrics: one node's /metrics, optionally only the lines of
// some metric families (e.g. the journal's sizes for issue #13).
#include "tools/ctl/commands.hpp"

#include "tools/ctl/node_http.hpp"

#include <chrono>
#include <istream>
#include <ostream>
#include <sstream>

namespace courier::tools {
namespace {

/// How long one GET may take, connect included.
constexpr std::chrono::seconds metrics_timeout{10};
/// Largest /metrics body accepted (a node's is a few tens of KiB).
constexpr std::uint64_t metrics_body_bytes_max = 16 * 1024 * 1024;

int help(std::ostream& os, int code) {
  os << "usage: courier-ctl metrics [--node http://HOST:PORT] [--match PREFIX]...\n"
        "  prints the node's /metrics (Prometheus text); with --match, only the\n"
        "  families whose name starts with PREFIX (repeatable), e.g.\n"
        "  --match courier_journal for the journal's bytes, streams and compactions,\n"
        "  --match courier_history for the location history's bytes, segments and points.\n"
        "  --node defaults to http://127.0.0.1:8080\n";
  return code;
}

} // namespace

int run_metrics_command(const args_t& args, std::istream&, std::ostream& out,
                        std::ostream& err) {
  std::string node_text = node_url_default;
  std::vector<std::string> prefixes;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help")
      return help(out, 0);
    if ((a == "--node" || a == "--match") && i + 1 < args.size()) {
      (a == "--node" ? node_text : prefixes.emplace_back()) = args[++i];
      continue;
    }
    err << "courier-ctl metrics: unexpected argument '" << a << "'\n";
    return help(err, 2);
  }
  node_address node;
  if (!parse_node_address(node_text, node)) {
    err << "courier-ctl metrics: --node must be http://HOST:PORT, got '" << node_text << "'\n";
    return 2;
  }
  http_answer answer;
  std::string error;
  if (!http_get(node, "/metrics", "", metrics_timeout, metrics_body_bytes_max, answer, error)) {
    err << "courier-ctl metrics: " << node_text << ": " << error << '\n';
    return 1;
  }
  if (answer.status != 200) {
    err << "courier-ctl metrics: " << node_text << ": HTTP " << answer.status
        << " from /metrics\n";
    return 1;
  }
  const std::string& body = answer.body;
  std::istringstream lines{body};
  for (std::string line; std::getline(lines, line);) {
    if (prefixes.empty()) {
      out << line << '\n';
      continue;
    }
    // "# TYPE name kind" and "name{...} value" lines of a matching family.
    std::string name = line;
    const std::string type_tag = "# TYPE ";
    if (name.compare(0, type_tag.size(), type_tag) == 0)
      name = name.substr(type_tag.size());
    for (const auto& p : prefixes)
      if (name.compare(0, p.size(), p) == 0) {
        out << line << '\n';
        break;
      }
  }
  return 0;
}

} // namespace courier::tools
