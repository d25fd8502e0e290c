#include "bench/fanout/metrics_scrape.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>

namespace courier::bench {

namespace {
/// Closes the socket on every return path.
struct socket_guard {
  int fd;
  ~socket_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

bool connect_loopback(int fd, std::uint16_t port, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}
} // namespace

std::optional<std::string> scrape_metrics(std::uint16_t http_port,
                                          std::chrono::milliseconds timeout) {
  socket_guard s{::socket(AF_INET, SOCK_STREAM, 0)};
  if (s.fd < 0 || !connect_loopback(s.fd, http_port, timeout))
    return std::nullopt;
  // Connection: close, so the end of the body is the end of the stream.
  const std::string request =
      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(s.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return std::nullopt;
  std::string response;
  char buf[16384];
  for (;;) {
    auto n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0)
      return std::nullopt; // error or timeout
    if (n == 0)
      break;
    response.append(buf, static_cast<std::size_t>(n));
    if (response.size() > metrics_body_max)
      return std::nullopt;
  }
  auto body_at = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body_at == std::string::npos)
    return std::nullopt;
  return response.substr(body_at + 4);
}

std::optional<double> metric_value(std::string_view text, std::string_view name) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(at, end - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ' ')
      return std::strtod(std::string(line.substr(name.size() + 1)).c_str(), nullptr);
    at = end + 1;
  }
  return std::nullopt;
}

} // namespace courier::bench
