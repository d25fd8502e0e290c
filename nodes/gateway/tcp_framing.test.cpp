// The raw TCP framing's prefix, both ways.
#include "nodes/gateway/detail/tcp_framing.hpp"

#include <doctest/doctest.h>

using namespace courier::gateway::detail;

TEST_CASE("tcp prefix is the payload length, big-endian") {
  CHECK(make_tcp_prefix(0) == tcp_prefix{0, 0, 0, 0});
  CHECK(make_tcp_prefix(0x01020304) == tcp_prefix{1, 2, 3, 4});
  auto len = read_tcp_prefix(tcp_prefix{0, 1, 0, 0}, 64 * 1024);
  CHECK(len.payload_bytes == 65536);
  CHECK(len.acceptable);
}

TEST_CASE("tcp prefix over the frame bound makes the stream unparseable") {
  auto at = read_tcp_prefix(make_tcp_prefix(100), 100);
  CHECK(at.acceptable);
  auto over = read_tcp_prefix(make_tcp_prefix(101), 100);
  CHECK(over.payload_bytes == 101);
  CHECK_FALSE(over.acceptable);
  auto max = read_tcp_prefix(tcp_prefix{0xFF, 0xFF, 0xFF, 0xFF}, 64 * 1024);
  CHECK(max.payload_bytes == 0xFFFFFFFFu);
  CHECK_FALSE(max.acceptable);
}
