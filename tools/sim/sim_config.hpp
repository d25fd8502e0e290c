#pragma once
/// \file
/// courier-sim's configuration: every flag with its unit and default, and the
/// parser that turns argv into it. Pure (no I/O except --secret-file), so the
/// parser is unit-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace courier::sim {

/// How the sim's clients speak to the node (PROTOCOL.md "Transports").
enum class transport_kind : std::uint8_t {
  websocket, ///< JSON text frames on ws://host:http_port/v1/ws
  tcp,       ///< 4-byte big-endian length + protobuf Envelope on host:tcp_port
};

/// The "tcp"/"ws" spelling of `k`.
const char* to_string(transport_kind k) noexcept;

/// Gangnam station, the hot spot of DESIGN.md.
inline constexpr double gangnam_lat = 37.4979;
inline constexpr double gangnam_lng = 127.0276;

/// Everything courier-sim can be told; defaults are the flag defaults.
struct sim_config {
  std::string host = "127.0.0.1";
  /// One node's ports, or every node's (`--http-port 8081,8082,8083`): a
  /// client starts on one (spread by its id) and moves to the next after
  /// a lost connection, as clients behind a load balancer would.
  std::vector<std::uint16_t> http_ports{8080};
  std::vector<std::uint16_t> tcp_ports{7070};
  transport_kind transport = transport_kind::websocket;
  std::uint32_t riders = 200;
  std::uint32_t stores = 50;
  std::uint32_t customers = 200;
  /// Wall-clock rate of place_order; unset = sized to the riders
  /// (sizing.hpp: riders x utilization / a rider's busy time per order).
  std::optional<double> orders_per_min;
  double utilization = 0.6;       ///< share of riders busy the sized rate aims at
  std::uint32_t duration_s = 0;   ///< 0 = until SIGINT/SIGTERM
  double speedup = 1.0;           ///< sim seconds per wall second
  std::uint64_t seed = 1;
  double hotspot_share = 0.5;     ///< fraction of stores/riders within 1 km of Gangnam
  std::uint32_t progress_s = 5;   ///< 0 = no progress lines
  std::string json_summary;       ///< "" = none
  double reject_rate = 0.1;       ///< probability a rider rejects an offer
  double store_reject_rate = 0;   ///< probability a store rejects a new order
  double cancel_rate = 0;         ///< probability a customer cancels an order once accepted
  std::string secret = "courier-demo-secret";
  std::uint32_t io_threads = 1;
  std::uint32_t reconnect_max = 5;       ///< consecutive failed attempts per client
  std::uint32_t outstanding_max = 2000;  ///< orders in flight before pacing sheds
  std::uint32_t order_timeout_s = 900;   ///< wall s before an undelivered order is abandoned
  std::string run_id;             ///< prefix of request ids ("" = derived from time)
  std::string ledger;             ///< "" = none; else the order ledger (ledger.hpp)
};

/// Limits that bound the sim whatever the flags say.
inline constexpr std::uint32_t clients_max = 50'000;
inline constexpr std::uint32_t io_threads_max = 4;
inline constexpr double speedup_max = 1000.0;
inline constexpr double orders_per_min_max = 600'000.0;
inline constexpr std::size_t ports_max = 64; ///< nodes in one --http-port/--tcp-port list

/// Outcome of parsing argv: a config, a help request, or an error text.
struct parse_outcome {
  std::optional<sim_config> config;
  bool help = false;
  std::string error;
};

/// Parses `--flag value` / `--flag=value` arguments (argv without argv[0]).
/// `--secret-file` is read here (trailing whitespace dropped).
parse_outcome parse_args(const std::vector<std::string>& args);

/// The usage text printed for --help and after a flag error.
std::string usage_text();

} // namespace courier::sim
