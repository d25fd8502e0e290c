#include "nodes/gateway/detail/tcp_framing.hpp"

#include "core/assert.hpp"

#include <limits>

namespace courier::gateway::detail {

tcp_frame_length read_tcp_prefix(const tcp_prefix& p, std::size_t frame_bytes_max) noexcept {
  tcp_frame_length out;
  out.payload_bytes = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                      (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  out.acceptable = out.payload_bytes <= frame_bytes_max;
  return out;
}

tcp_prefix make_tcp_prefix(std::size_t payload_bytes) noexcept {
  COURIER_ASSERT(payload_bytes <= std::numeric_limits<std::uint32_t>::max());
  auto n = static_cast<std::uint32_t>(payload_bytes);
  return {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
          static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
}

} // namespace courier::gateway::detail
