#include "tools/sim/sim_config.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace courier::sim {

const char* to_string(transport_kind k) noexcept {
  return k == transport_kind::tcp ? "tcp" : "ws";
}

namespace {

/// Sets one field from a flag's text; the error text, or "".
using setter = std::function<std::string(sim_config&, const std::string&)>;

template <class Int>
setter int_flag(Int sim_config::*field, std::uint64_t min, std::uint64_t max) {
  return [=](sim_config& c, const std::string& v) -> std::string {
    std::uint64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc{} || end != v.data() + v.size() || x < min || x > max)
      return "must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    c.*field = static_cast<Int>(x);
    return "";
  };
}

setter real_flag(double sim_config::*field, double min, double max) {
  return [=](sim_config& c, const std::string& v) -> std::string {
    // strtod, not from_chars: GCC 12's from_chars<double> is fine, but this
    // keeps the accepted spelling identical to the shell's (e.g. "1e3").
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(x) || x < min || x > max) {
      std::ostringstream os;
      os << "must be a number in [" << min << ", " << max << "]";
      return os.str();
    }
    c.*field = x;
    return "";
  };
}

/// `--orders-per-min`: "auto" (the default) sizes the rate to the riders;
/// a number fixes it.
std::string set_orders_per_min(sim_config& c, const std::string& v) {
  if (v == "auto") {
    c.orders_per_min.reset();
    return "";
  }
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(x) || x < 0 ||
      x > orders_per_min_max)
    return "must be auto or a number in [0, " +
           std::to_string(static_cast<long long>(orders_per_min_max)) + "]";
  c.orders_per_min = x;
  return "";
}

/// `P[,P...]`: at most ports_max ports, each in [1, 65535].
setter ports_flag(std::vector<std::uint16_t> sim_config::*field) {
  return [=](sim_config& c, const std::string& v) -> std::string {
    std::vector<std::uint16_t> ports;
    std::size_t at = 0;
    for (;;) {
      auto comma = v.find(',', at);
      auto item = v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      std::uint32_t x = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), x);
      if (item.empty() || ec != std::errc{} || end != item.data() + item.size() || x < 1 ||
          x > 65535 || ports.size() >= ports_max)
        return "must be a port in [1, 65535] or a comma-separated list of at most " +
               std::to_string(ports_max);
      ports.push_back(static_cast<std::uint16_t>(x));
      if (comma == std::string::npos)
        break;
      at = comma + 1;
    }
    c.*field = std::move(ports);
    return "";
  };
}

setter text_flag(std::string sim_config::*field) {
  return [=](sim_config& c, const std::string& v) -> std::string {
    if (v.empty())
      return "must not be empty";
    c.*field = v;
    return "";
  };
}

std::string read_secret_file(sim_config& c, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "cannot read '" + path + "'";
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  if (s.empty())
    return "the secret in '" + path + "' is empty";
  c.secret = s;
  return "";
}

const std::map<std::string, setter>& flag_table() {
  static const std::map<std::string, setter> table = {
      {"--host", text_flag(&sim_config::host)},
      {"--http-port", ports_flag(&sim_config::http_ports)},
      {"--tcp-port", ports_flag(&sim_config::tcp_ports)},
      {"--transport",
       [](sim_config& c, const std::string& v) -> std::string {
         if (v == "ws" || v == "websocket")
           c.transport = transport_kind::websocket;
         else if (v == "tcp")
           c.transport = transport_kind::tcp;
         else
           return "must be ws or tcp";
         return "";
       }},
      {"--riders", int_flag(&sim_config::riders, 0, clients_max)},
      {"--stores", int_flag(&sim_config::stores, 1, clients_max)},
      {"--customers", int_flag(&sim_config::customers, 0, clients_max)},
      {"--orders-per-min", set_orders_per_min},
      {"--utilization", real_flag(&sim_config::utilization, 0.01, 1)},
      {"--duration-s", int_flag(&sim_config::duration_s, 0, 30u * 24 * 3600)},
      {"--speedup", real_flag(&sim_config::speedup, 0.01, speedup_max)},
      {"--seed", int_flag(&sim_config::seed, 0, UINT64_MAX)},
      {"--hotspot-share", real_flag(&sim_config::hotspot_share, 0, 1)},
      {"--progress-s", int_flag(&sim_config::progress_s, 0, 3600)},
      {"--json-summary", text_flag(&sim_config::json_summary)},
      {"--reject-rate", real_flag(&sim_config::reject_rate, 0, 1)},
      {"--store-reject-rate", real_flag(&sim_config::store_reject_rate, 0, 1)},
      {"--cancel-rate", real_flag(&sim_config::cancel_rate, 0, 1)},
      {"--secret", text_flag(&sim_config::secret)},
      {"--secret-file", read_secret_file},
      {"--io-threads", int_flag(&sim_config::io_threads, 1, io_threads_max)},
      {"--reconnect-max", int_flag(&sim_config::reconnect_max, 0, 100)},
      {"--outstanding-max", int_flag(&sim_config::outstanding_max, 1, 1'000'000)},
      {"--order-timeout-s", int_flag(&sim_config::order_timeout_s, 1, 24 * 3600)},
      {"--run-id", text_flag(&sim_config::run_id)},
      {"--ledger", text_flag(&sim_config::ledger)},
  };
  return table;
}

} // namespace

parse_outcome parse_args(const std::vector<std::string>& args) {
  parse_outcome out;
  sim_config cfg;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    if (flag == "-h" || flag == "--help") {
      out.help = true;
      return out;
    }
    std::optional<std::string> value;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto it = flag_table().find(flag);
    if (it == flag_table().end()) {
      out.error = "unknown argument '" + flag + "'";
      return out;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        out.error = flag + " needs a value";
        return out;
      }
      value = args[++i];
    }
    if (auto why = it->second(cfg, *value); !why.empty()) {
      out.error = flag + " " + why;
      return out;
    }
  }
  if (cfg.riders + cfg.stores + cfg.customers > clients_max) {
    out.error = "riders + stores + customers must be <= " + std::to_string(clients_max);
    return out;
  }
  out.config = std::move(cfg);
  return out;
}

std::string usage_text() {
  return "usage: courier-sim [flags]\n"
         "  --host H            node address (127.0.0.1)\n"
         "  --http-port P[,P..] HTTP/WebSocket port, WS at /v1/ws (8080); with a list\n"
         "                      (one per node) a client moves to the next port\n"
         "                      after a lost connection\n"
         "  --tcp-port P[,P..]  raw TCP port(s) (7070)\n"
         "  --transport ws|tcp  JSON over WebSocket, or protobuf over TCP (ws)\n"
         "  --riders N          rider clients (200)\n"
         "  --stores N          stores, created via an admin client (50)\n"
         "  --customers N       customer clients (200)\n"
         "  --orders-per-min N|auto  place_order rate, wall clock; auto = sized to the\n"
         "                      riders by Little's law (auto)\n"
         "  --utilization F     share of riders busy at the auto rate (0.6)\n"
         "  --duration-s N      run time, 0 = until SIGINT/SIGTERM (0)\n"
         "  --speedup X         sim seconds per wall second (1)\n"
         "  --seed N            rng seed, printed (1)\n"
         "  --hotspot-share F   stores/riders within 1 km of Gangnam station (0.5)\n"
         "  --progress-s N      progress line interval, 0 = off (5)\n"
         "  --json-summary FILE write the summary as JSON\n"
         "  --reject-rate F     probability a rider rejects an offer (0.1)\n"
         "  --store-reject-rate F  probability a store rejects a new order (0)\n"
         "  --cancel-rate F     probability a customer cancels an order once accepted (0)\n"
         "  --secret S | --secret-file PATH  the node's token secret (courier-demo-secret)\n"
         "  --io-threads N      io_context threads (1)\n"
         "  --reconnect-max N   consecutive reconnect attempts per client (5)\n"
         "  --outstanding-max N orders in flight before pacing sheds (2000)\n"
         "  --order-timeout-s N abandon an order not delivered after N wall s (900)\n"
         "  --run-id S          prefix of request ids (default: from the clock)\n"
         "  --ledger FILE       write every order's acknowledgement, statuses shown and\n"
         "                      new_order pushes as JSON lines (tests/chaos/)\n";
}

} // namespace courier::sim
