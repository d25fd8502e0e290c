#pragma once
/// \file
/// The one converter between the protobuf wire form (proto/courier.proto) and
/// the structs of client.hpp. Protobuf lives only here, at the edge: the
/// generated headers are not included by this header (forward declaration),
/// so including it stays cheap.
///
/// Decoding checks shape only (message known, field types, required nested
/// values present, enum spellings, money finite); value rules (ranges, ids,
/// totals) are validate()'s job, called by the gateway after decoding.

#include "core/result.hpp"
#include "messages/client.hpp"

#include <cstddef>
#include <string>

namespace courier::v1 {
class Envelope;
} // namespace courier::v1

namespace courier::msg {

/// Protobuf Envelope -> envelope. bad_request naming the field on a shape
/// error (no body, unknown enum spelling, missing nested message, ...).
core::result<envelope> from_proto(const courier::v1::Envelope& in);

/// envelope -> protobuf Envelope (total: every struct has a proto form).
courier::v1::Envelope to_proto(const envelope& in);

/// Bytes of one protobuf Envelope -> envelope. Garbage, truncated or
/// oversized (> core::limits::frame_bytes_max) input is bad_request; never
/// throws, never crashes.
core::result<envelope> decode_binary(const void* data, std::size_t size);

/// envelope -> bytes of one protobuf Envelope.
std::string encode_binary(const envelope& in);

} // namespace courier::msg
