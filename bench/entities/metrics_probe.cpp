#include "bench/entities/metrics_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace courier::bench {

namespace {

/// A /metrics page is a few KB; anything past this is not ours.
constexpr std::size_t response_bytes_max = 1 << 20;
constexpr int io_timeout_s = 10;

std::optional<std::string> http_get(std::uint16_t port, const std::string& path,
                                    const std::string& token) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return std::nullopt;
  timeval tv{io_timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                    token + "\r\nConnection: close\r\n\r\n";
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    char buf[16384];
    ssize_t n = 0;
    while (out.size() < response_bytes_max && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.rfind("HTTP/1.1 200", 0) != 0)
    return std::nullopt;
  return out;
}

/// The value of the line "`name` <value>" (a whole-name match at line start).
std::optional<std::uint64_t> gauge(const std::string& page, const std::string& name) {
  auto key = "\n" + name + " ";
  auto at = page.find(key);
  if (at == std::string::npos)
    return std::nullopt;
  return std::strtoull(page.c_str() + at + key.size(), nullptr, 10);
}

} // namespace

std::optional<node_gauges> read_node_gauges(std::uint16_t port, const std::string& token) {
  auto page = http_get(port, "/metrics", token);
  if (!page)
    return std::nullopt;
  auto live = gauge(*page, "courier_entities_live");
  auto act = gauge(*page, "courier_entity_activations_total");
  auto pas = gauge(*page, "courier_entity_passivations_total");
  if (!live || !act || !pas)
    return std::nullopt;
  auto of_kind = [&](const char* kind) {
    return gauge(*page, std::string("courier_entities_live_by_kind{kind=\"") + kind + "\"}")
        .value_or(0);
  };
  return node_gauges{*live, *act, *pas, of_kind("order"), of_kind("rider"), of_kind("payment")};
}

} // namespace courier::bench
