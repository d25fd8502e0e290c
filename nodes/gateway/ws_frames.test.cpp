#include "nodes/gateway/detail/ws_frames.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace courier::gateway::detail;

namespace {

/// A client frame: masked with `mask`, `fin` and `op` as given.
std::string client_frame(ws_opcode op, const std::string& payload, bool fin = true,
                         std::array<unsigned char, 4> mask = {0x11, 0x22, 0x33, 0x44}) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | static_cast<unsigned>(op)));
  auto n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF));
  }
  for (auto m : mask)
    out.push_back(static_cast<char>(m));
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  return out;
}

} // namespace

TEST_CASE("server frame headers use the shortest length form") {
  auto h = ws_frame_header(ws_opcode::text, 5);
  CHECK(h.size == 2);
  CHECK(h.bytes[0] == 0x81);
  CHECK(h.bytes[1] == 5);
  h = ws_frame_header(ws_opcode::binary, 300);
  CHECK(h.size == 4);
  CHECK(h.bytes[0] == 0x82);
  CHECK(h.bytes[1] == 126);
  CHECK(((h.bytes[2] << 8) | h.bytes[3]) == 300);
  h = ws_frame_header(ws_opcode::binary, 70000);
  CHECK(h.size == 10);
  CHECK(h.bytes[1] == 127);
  CHECK(h.bytes[7] == 0x01);
  CHECK(h.bytes[8] == 0x11);
  CHECK(h.bytes[9] == 0x70);
}

TEST_CASE("masked client messages come out whole, also byte by byte") {
  ws_reader r{1 << 16};
  std::string long_text(1000, 'x');
  auto bytes = client_frame(ws_opcode::text, "{\"type\":\"hello\"}") +
               client_frame(ws_opcode::binary, long_text);
  for (char c : bytes)
    r.feed(std::string_view{&c, 1});
  auto a = r.next();
  REQUIRE(a.what == ws_event::kind::message);
  CHECK(a.text);
  CHECK(a.payload == "{\"type\":\"hello\"}");
  auto b = r.next();
  REQUIRE(b.what == ws_event::kind::message);
  CHECK_FALSE(b.text);
  CHECK(b.payload == long_text);
  CHECK(r.next().what == ws_event::kind::none);
  CHECK(r.buffered() == 0);
}

TEST_CASE("fragments join, with a ping between them") {
  ws_reader r{1024};
  r.feed(client_frame(ws_opcode::text, "ab", false));
  r.feed(client_frame(ws_opcode::ping, "p"));
  r.feed(client_frame(ws_opcode::continuation, "cd", true));
  auto ping = r.next();
  REQUIRE(ping.what == ws_event::kind::ping);
  CHECK(ping.payload == "p");
  auto m = r.next();
  REQUIRE(m.what == ws_event::kind::message);
  CHECK(m.text);
  CHECK(m.payload == "abcd");
}

TEST_CASE("a close frame carries its code") {
  ws_reader r{1024};
  r.feed(client_frame(ws_opcode::close, std::string{"\x03\xe8"} + "bye"));
  auto c = r.next();
  REQUIRE(c.what == ws_event::kind::close);
  CHECK(c.code == 1000);
}

TEST_CASE("protocol errors and oversize messages end the stream with their close code") {
  SUBCASE("unmasked") {
    ws_reader r{1024};
    r.feed(std::string{"\x81\x02hi", 4});
    auto e = r.next();
    CHECK(e.what == ws_event::kind::error);
    CHECK(e.code == 1002);
    CHECK(r.next().what == ws_event::kind::error); // stays failed
  }
  SUBCASE("too big, before the payload arrives") {
    ws_reader r{100};
    auto f = client_frame(ws_opcode::text, std::string(200, 'a'));
    r.feed(f.substr(0, 8));
    auto e = r.next();
    CHECK(e.what == ws_event::kind::error);
    CHECK(e.code == 1009);
  }
  SUBCASE("too big across fragments") {
    ws_reader r{100};
    r.feed(client_frame(ws_opcode::text, std::string(60, 'a'), false));
    r.feed(client_frame(ws_opcode::continuation, std::string(60, 'a'), true));
    CHECK(r.next().code == 1009);
  }
  SUBCASE("continuation without a start") {
    ws_reader r{100};
    r.feed(client_frame(ws_opcode::continuation, "x"));
    CHECK(r.next().code == 1002);
  }
  SUBCASE("a fragmented control frame") {
    ws_reader r{100};
    r.feed(client_frame(ws_opcode::ping, "x", false));
    CHECK(r.next().code == 1002);
  }
  SUBCASE("reserved bits") {
    ws_reader r{100};
    auto f = client_frame(ws_opcode::text, "x");
    f[0] = static_cast<char>(f[0] | 0x40);
    r.feed(f);
    CHECK(r.next().code == 1002);
  }
}

TEST_CASE("a close payload keeps the reason within 123 bytes on a UTF-8 boundary") {
  std::string reason(122, 'a');
  reason += "\xc3\xa9\xc3\xa9"; // two 2-byte characters
  auto p = ws_close_payload(ws_close_code::going_away, reason);
  CHECK(p.size() <= 125);
  CHECK(static_cast<unsigned char>(p[0]) == 0x03);
  CHECK(static_cast<unsigned char>(p[1]) == 0xE9);
  CHECK(p.size() == 2 + 122); // the split character is left out whole
}
