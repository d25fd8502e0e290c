#include "nodes/gateway/detail/ws_frames.hpp"

#include "core/assert.hpp"

namespace courier::gateway::detail {

ws_header ws_frame_header(ws_opcode op, std::size_t payload_bytes) {
  ws_header h;
  h.bytes[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(op)); // FIN
  if (payload_bytes < 126) {
    h.bytes[1] = static_cast<unsigned char>(payload_bytes);
    h.size = 2;
  } else if (payload_bytes <= 0xFFFF) {
    h.bytes[1] = 126;
    h.bytes[2] = static_cast<unsigned char>(payload_bytes >> 8);
    h.bytes[3] = static_cast<unsigned char>(payload_bytes);
    h.size = 4;
  } else {
    h.bytes[1] = 127;
    auto n = static_cast<std::uint64_t>(payload_bytes);
    for (int i = 0; i < 8; ++i)
      h.bytes[static_cast<std::size_t>(2 + i)] = static_cast<unsigned char>(n >> (56 - 8 * i));
    h.size = 10;
  }
  return h;
}

std::string ws_close_payload(ws_close_code code, const std::string& reason) {
  constexpr std::size_t reason_max = ws_control_bytes_max - 2;
  auto n = std::min(reason.size(), reason_max);
  // Never split a UTF-8 sequence: back up over continuation bytes.
  while (n < reason.size() && n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
    --n;
  auto c = static_cast<std::uint16_t>(code);
  std::string out;
  out.reserve(2 + n);
  out.push_back(static_cast<char>(c >> 8));
  out.push_back(static_cast<char>(c & 0xFF));
  out.append(reason, 0, n);
  return out;
}

ws_event ws_reader::fail(ws_close_code code, std::string why) {
  failed_ = true;
  failure_ = ws_event{};
  failure_.what = ws_event::kind::error;
  failure_.code = static_cast<std::uint16_t>(code);
  failure_.reason = std::move(why);
  in_.clear();
  pos_ = 0;
  message_.clear();
  return failure_;
}

void ws_reader::compact() {
  if (pos_ == in_.size()) {
    if (in_.capacity() > idle_buffer_bytes_max)
      std::string{}.swap(in_); // an idle session keeps no big buffer
    else
      in_.clear();
    pos_ = 0;
  } else if (pos_ > 4096 && pos_ * 2 > in_.size()) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
}

ws_event ws_reader::next() {
  if (failed_)
    return failure_;
  for (;;) {
    auto avail = in_.size() - pos_;
    if (avail < 2)
      return {};
    auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos_);
    bool fin = (p[0] & 0x80) != 0;
    if ((p[0] & 0x70) != 0)
      return fail(ws_close_code::protocol_error, "reserved bits set");
    auto op = static_cast<ws_opcode>(p[0] & 0x0F);
    bool masked = (p[1] & 0x80) != 0;
    if (!masked)
      return fail(ws_close_code::protocol_error, "unmasked client frame");
    std::uint64_t len = p[1] & 0x7F;
    std::size_t header = 2;
    if (len == 126) {
      if (avail < 4)
        return {};
      len = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10)
        return {};
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | p[2 + i];
      header = 10;
    }
    bool control = (static_cast<unsigned>(op) & 0x8) != 0;
    if (control) {
      if (!fin || len > ws_control_bytes_max)
        return fail(ws_close_code::protocol_error, "bad control frame");
      if (op != ws_opcode::close && op != ws_opcode::ping && op != ws_opcode::pong)
        return fail(ws_close_code::protocol_error, "unknown opcode");
    } else {
      if (op != ws_opcode::continuation && op != ws_opcode::text && op != ws_opcode::binary)
        return fail(ws_close_code::protocol_error, "unknown opcode");
      if ((op == ws_opcode::continuation) != in_message_)
        return fail(ws_close_code::protocol_error, "broken fragmentation");
      if (len > message_bytes_max_ || message_.size() + len > message_bytes_max_)
        return fail(ws_close_code::too_big, "message exceeds " +
                                                std::to_string(message_bytes_max_) + " bytes");
    }
    if (avail < header + 4 + len)
      return {};
    const unsigned char* mask = p + header;
    const unsigned char* data = mask + 4;
    std::string payload(static_cast<std::size_t>(len), '\0');
    for (std::size_t i = 0; i < len; ++i)
      payload[i] = static_cast<char>(data[i] ^ mask[i & 3]);
    pos_ += header + 4 + static_cast<std::size_t>(len);
    compact();
    ws_event ev;
    if (control) {
      if (op == ws_opcode::ping) {
        ev.what = ws_event::kind::ping;
        ev.payload = std::move(payload);
      } else if (op == ws_opcode::pong) {
        ev.what = ws_event::kind::pong;
      } else {
        if (payload.size() == 1)
          return fail(ws_close_code::protocol_error, "bad close payload");
        ev.what = ws_event::kind::close;
        if (payload.size() >= 2)
          ev.code = static_cast<std::uint16_t>(
              (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]));
      }
      return ev;
    }
    if (op != ws_opcode::continuation) {
      in_message_ = true;
      message_text_ = op == ws_opcode::text;
      message_.clear();
    }
    message_ += payload;
    if (!fin)
      continue;
    in_message_ = false;
    ev.what = ws_event::kind::message;
    ev.text = message_text_;
    ev.payload = std::move(message_);
    message_.clear();
    return ev;
  }
}

} // namespace courier::gateway::detail
