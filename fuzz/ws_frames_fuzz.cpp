// WebSocket framing after the upgrade (RFC 6455, client -> server): the
// input is what the client sends. Its first byte picks the message bound
// (small, to reach 1009, or the gateway's 64 KiB) and the size of the
// reads the bytes arrive in; ws_reader must hold its invariants at every
// step, as ws_conn uses it (feed a read, take events until none).
#include "core/limits.hpp"
#include "fuzz/fuzz_check.hpp"
#include "nodes/gateway/detail/ws_frames.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace courier::gateway::detail;

namespace {
/// Longest frame header plus its masking key.
constexpr std::size_t frame_overhead_max = 10 + 4;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const std::size_t bound = (data[0] & 0x80) ? courier::core::limits::frame_bytes_max
                                             : std::size_t{1} + (data[0] & 0x3F) * 8;
  const std::size_t chunk = std::size_t{1} + (data[0] & 0x40 ? 7 : 16 * 1024 - 1);
  std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
  ws_reader reader{bound};
  while (!in.empty()) {
    auto n = std::min(chunk, in.size());
    reader.feed(in.substr(0, n));
    in.remove_prefix(n);
    for (;;) {
      auto ev = reader.next();
      using k = ws_event::kind;
      if (ev.what == k::none) {
        // What is left is one incomplete frame: its header said it fits.
        FUZZ_CHECK(reader.buffered() <=
                   frame_overhead_max + std::max(bound, ws_control_bytes_max));
        break;
      }
      if (ev.what == k::message)
        FUZZ_CHECK(ev.payload.size() <= bound);
      if (ev.what == k::ping)
        FUZZ_CHECK(ev.payload.size() <= ws_control_bytes_max);
      if (ev.what == k::error) {
        FUZZ_CHECK(ev.code == 1002 || ev.code == 1009);
        auto again = reader.next();
        FUZZ_CHECK(again.what == k::error && again.code == ev.code);
        return 0; // ws_conn stops reading
      }
    }
  }
  return 0;
}
