#pragma once
/// \file
/// The raw TCP transport's framing (pure; no Asio): every frame is a 4-byte
/// big-endian payload length, then the payload. tcp_conn reads the prefix,
/// asks tcp_frame_length whether to read the payload or give up on the
/// stream, and writes tcp_frame_header before each outbound payload.

#include <array>
#include <cstddef>
#include <cstdint>

namespace courier::gateway::detail {

/// Bytes of the length prefix.
inline constexpr std::size_t tcp_prefix_bytes = 4;
/// A length prefix as it is on the wire.
using tcp_prefix = std::array<unsigned char, tcp_prefix_bytes>;

/// What a received prefix announces.
struct tcp_frame_length {
  std::uint32_t payload_bytes = 0; ///< as announced
  bool acceptable = false;         ///< payload_bytes <= the bound: read the payload
};

/// Reads a prefix against `frame_bytes_max`. A length over the bound makes
/// the rest of the stream unparseable (bad framing).
tcp_frame_length read_tcp_prefix(const tcp_prefix& prefix, std::size_t frame_bytes_max) noexcept;

/// The prefix of an outbound frame of `payload_bytes` (asserted to fit in
/// 32 bits).
tcp_prefix make_tcp_prefix(std::size_t payload_bytes) noexcept;

} // namespace courier::gateway::detail
