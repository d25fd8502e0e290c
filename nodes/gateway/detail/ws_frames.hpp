#pragma once
/// \file
/// RFC 6455 framing for the server side of an established WebSocket (pure;
/// no Asio). Beast performs the HTTP upgrade; after it the gateway frames
/// messages itself, so that every frame queued for a session goes out in
/// one gathered write (Beast writes one message per call: one syscall per
/// push was most of the fan-out's cost).
///
/// - Outbound (server -> client): unmasked, never fragmented; a header is
///   2, 4 or 10 bytes.
/// - Inbound (client -> server): every frame must be masked; data messages
///   may be fragmented (continuation frames) up to `message_bytes_max`;
///   control frames (ping, pong, close) are at most 125 bytes, never
///   fragmented, and may arrive between the fragments of a message.
///   Reserved bits and opcodes, unmasked frames and broken fragmentation
///   are protocol errors (close code 1002); a message over the bound is
///   1009. Text is not validated as UTF-8 here: the JSON decoder rejects
///   what it cannot read.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::gateway::detail {

enum class ws_opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// RFC 6455 close codes the gateway sends.
enum class ws_close_code : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  policy_error = 1008,
  too_big = 1009,
};

/// Payload bytes a control frame may carry.
inline constexpr std::size_t ws_control_bytes_max = 125;

/// A frame header, ready to write: `size` bytes of `bytes`.
struct ws_header {
  std::array<unsigned char, 10> bytes{};
  std::size_t size = 0;
};

/// The header of one unmasked, final frame of `payload_bytes`.
ws_header ws_frame_header(ws_opcode op, std::size_t payload_bytes);

/// A close frame's payload: the code, then `reason` (cut to 123 bytes on a
/// UTF-8 boundary).
std::string ws_close_payload(ws_close_code code, const std::string& reason);

/// One complete inbound item.
struct ws_event {
  enum class kind : std::uint8_t {
    none,    ///< more bytes are needed
    message, ///< a whole data message: `text` says which, `payload` holds it
    ping,    ///< answer with a pong carrying `payload`
    pong,
    close,   ///< the peer closes: `code` (0 = none given)
    error,   ///< close with `code` and stop reading
  };
  kind what = kind::none;
  bool text = false;
  std::string payload;
  std::uint16_t code = 0;
  std::string reason; ///< for errors: what was wrong
};

/// Incremental parser of client frames. Feed bytes with `feed`, then take
/// events with `next` until it returns kind::none.
class ws_reader {
public:
  explicit ws_reader(std::size_t message_bytes_max) : message_bytes_max_(message_bytes_max) {}

  /// Appends received bytes (the buffer is bounded by the message bound
  /// plus one frame header: the caller reads at most `want()` bytes).
  void feed(std::string_view bytes) { in_.append(bytes.data(), bytes.size()); }
  /// The next complete event, or kind::none if more bytes are needed.
  /// After an error, every call returns the same error.
  ws_event next();
  /// Bytes buffered and not yet parsed.
  std::size_t buffered() const noexcept { return in_.size() - pos_; }

private:
  /// Buffer bytes a reader keeps allocated while nothing is buffered.
  static constexpr std::size_t idle_buffer_bytes_max = 1024;

  ws_event fail(ws_close_code code, std::string why);
  void compact();

  std::size_t message_bytes_max_;
  std::string in_;
  std::size_t pos_ = 0;
  // A fragmented data message in progress.
  bool in_message_ = false;
  bool message_text_ = false;
  std::string message_;
  bool failed_ = false;
  ws_event failure_;
};

} // namespace courier::gateway::detail
