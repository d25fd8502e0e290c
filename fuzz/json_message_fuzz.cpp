// JSON client messages (WebSocket text frames, REST bodies): decode_json,
// ref_of_json, decode_json_as, then validate() and the encode round trip;
// decode_json's simdjson fast path must agree with nlohmann's path.
// Input: one JSON text; or, after a first line "as:<type>", the body of a
// message of that type (REST's decode_json_as).
#include "fuzz/fuzz_check.hpp"
#include "messages/json.hpp"
#include "messages/validate.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
using namespace courier;

/// A decoded envelope must encode, and decode back to itself.
void round_trip(const msg::envelope& env) {
  (void)msg::validate(env);
  const auto text = msg::encode_json(env);
  auto again = msg::decode_json(text);
  if (!again)
    std::fprintf(stderr, "re-decode failed: %s\n  text: %s\n", again.err().message.c_str(),
                 text.c_str());
  FUZZ_CHECK(again);
  FUZZ_CHECK(*again == env);
  FUZZ_CHECK(msg::encode_json(*again) == text);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  constexpr std::string_view as = "as:";
  if (in.substr(0, as.size()) == as) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos)
      return 0;
    auto type = in.substr(as.size(), nl - as.size());
    auto env = msg::decode_json_as(type, in.substr(nl + 1));
    if (env)
      round_trip(*env);
    return 0;
  }
  (void)msg::ref_of_json(in);
  auto env = msg::decode_json(in);
  auto reference = msg::detail::decode_json_reference(in);
  FUZZ_CHECK(env.ok() == reference.ok());
  if (auto fast = msg::detail::decode_json_fast(in)) {
    FUZZ_CHECK(reference);
    FUZZ_CHECK(*fast == *reference);
  }
  if (env)
    round_trip(*env);
  return 0;
}
