#pragma once
/// \file
/// base64url without padding (RFC 4648 section 5), the encoding of both parts
/// of a client token. Decoding is strict: padding, whitespace, characters
/// outside the url-safe alphabet and non-canonical trailing bits are errors,
/// so one token has exactly one spelling.

#include <optional>
#include <string>
#include <string_view>

namespace courier::auth {

/// Encodes `bytes` as unpadded base64url.
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url; nullopt if `text` is not canonical base64url.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace courier::auth
