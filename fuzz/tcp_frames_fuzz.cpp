// Raw TCP framing: the input is a byte stream as a TCP client sends it.
// It is split the way tcp_conn does (read_tcp_prefix, then the payload; a
// length over the bound ends the stream as bad framing) and every payload
// goes to the binary decoder and validate(), as the node does with a frame.
#include "core/limits.hpp"
#include "fuzz/fuzz_check.hpp"
#include "messages/convert.hpp"
#include "messages/validate.hpp"
#include "nodes/gateway/detail/tcp_framing.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

using namespace courier;
using namespace courier::gateway::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t bound = core::limits::frame_bytes_max; // gateway_config's default
  std::size_t pos = 0;
  while (size - pos >= tcp_prefix_bytes) {
    tcp_prefix p;
    std::memcpy(p.data(), data + pos, tcp_prefix_bytes);
    pos += tcp_prefix_bytes;
    auto len = read_tcp_prefix(p, bound);
    FUZZ_CHECK(make_tcp_prefix(len.payload_bytes) == p);
    if (!len.acceptable) {
      FUZZ_CHECK(len.payload_bytes > bound);
      return 0; // bad framing: the connection drains and closes
    }
    if (size - pos < len.payload_bytes)
      return 0; // the peer has not sent the rest (or closed: torn frame)
    auto env = msg::decode_binary(data + pos, len.payload_bytes);
    if (env)
      (void)msg::validate(*env);
    pos += len.payload_bytes;
  }
  return 0;
}
