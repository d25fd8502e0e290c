#pragma once
/// \file
/// The JSON codec of the client protocol (WebSocket text frames, REST
/// bodies): `{"type":"...", ...fields..., "ref":"..."}`. No exception escapes
/// this codec: every malformed input is a bad_request value naming the field.
///
/// Decoding checks shape only: an object, a known "type", required fields
/// present with the right JSON types, enum spellings known, integers in
/// range, money finite. Unknown extra fields are ignored (compatible
/// extension); `null` counts as absent for optional fields; arrays and maps
/// may be omitted (empty). Integer fields accept integral floats (`5.0`).
/// Value rules (ranges, ids, totals) are validate()'s job; the gateway calls
/// it after decoding, so it can report exactly.

#include "core/result.hpp"
#include "messages/client.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace courier::msg {

/// One JSON text -> envelope (bad_request on any shape error).
core::result<envelope> decode_json(std::string_view text);

/// The "ref" of a JSON text that did not decode, if it is an object with a
/// string "ref": an error answering a malformed request still echoes it.
std::string ref_of_json(std::string_view text);

/// envelope -> one JSON text. "ref" only when non-empty, optional fields only
/// when present, int64/uint64 as JSON numbers, money as a decimal number.
std::string encode_json(const envelope& in);

/// Decodes the body of one message of known `type` from a JSON object text
/// (REST: `POST /v1/orders` carries a place_order body without "type").
core::result<envelope> decode_json_as(std::string_view type, std::string_view text);

namespace detail {
/// decode_json's two paths, for the tests and the fuzzer that hold them
/// equal: the simdjson fast path (nullopt where it defers) and nlohmann's
/// (every input, every error message).
std::optional<envelope> decode_json_fast(std::string_view text);
core::result<envelope> decode_json_reference(std::string_view text);
} // namespace detail

} // namespace courier::msg
