// The protobuf Envelope (raw TCP frames, binary WebSocket frames):
// decode_binary (ParseFromArray + from_proto), then validate() and the
// encode round trip. What a TCP client sends may be pushed to a WebSocket
// client, so every decoded envelope must also encode as JSON; the round
// trip compares JSON texts (NaN is not equal to itself, JSON writes null).
#include "fuzz/fuzz_check.hpp"
#include "messages/convert.hpp"
#include "messages/json.hpp"
#include "messages/validate.hpp"

#include <cstddef>
#include <cstdint>

using namespace courier;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto env = msg::decode_binary(data, size);
  if (!env)
    return 0;
  (void)msg::validate(*env);
  const auto bytes = msg::encode_binary(*env);
  auto again = msg::decode_binary(bytes.data(), bytes.size());
  if (!again)
    std::fprintf(stderr, "re-decode failed: %s\n", again.err().message.c_str());
  FUZZ_CHECK(again);
  FUZZ_CHECK(msg::encode_json(*again) == msg::encode_json(*env));
  return 0;
}
