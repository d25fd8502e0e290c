#pragma once
/// \file
/// Client tokens (PROTOCOL.md "Connection" and REST `Authorization: Bearer`).
///
/// Format: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, part 1))`,
/// both parts unpadded, claims `{"role":"rider","id":"r-17","exp":<unix s>}`.
/// Stateless: any node holding the cluster secret verifies any token, so a
/// client can reconnect to whichever node's gateway it reaches.

#include "core/clock.hpp"
#include "core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace courier::auth {

/// Longest token accepted, in characters: bounds the work an unauthenticated
/// client can make us do before the signature check.
inline constexpr std::size_t token_chars_max = 2048;

/// Latest accepted expiry (9999-12-31T23:59:59Z): keeps `exp_s * 1000` far
/// from overflowing a time_ms.
inline constexpr std::int64_t exp_s_max = 253'402'300'799;

/// What a token asserts: who the client is and until when.
struct token_claims {
  /// One of "rider", "customer", "store", "admin".
  std::string role;
  /// The entity id the client acts as ("r-17", "c-1", "s-9", ...).
  std::string id;
  /// Expiry, in seconds since the Unix epoch; the token is valid while
  /// `now < exp_s` (now in seconds, fractional).
  std::int64_t exp_s = 0;

  friend bool operator==(const token_claims& a, const token_claims& b) {
    return a.role == b.role && a.id == b.id && a.exp_s == b.exp_s;
  }
};

/// True for the protocol's roles: rider, customer, store, admin.
bool is_known_role(std::string_view role) noexcept;

/// Signs `claims` with `secret` (must not be empty). Does not validate the
/// claims: callers that take them from users check them first
/// (`courier-ctl token` does), and verify_token rejects what is invalid.
/// Never throws: bytes of role or id that are not UTF-8 are signed as
/// U+FFFD (callers that care reject them first, as courier-ctl does).
std::string sign_token(const token_claims& claims, std::string_view secret);

/// Largest secret file read (a key is a line; a bigger file is a mistake).
inline constexpr std::size_t secret_file_bytes_max = 4096;

/// The token secret from `path`: its first line, trailing spaces, tabs and
/// CR dropped (so `echo secret > file` works). errc::bad_request naming the
/// file if it cannot be read, is over secret_file_bytes_max, or the line is
/// empty. The node's --secret-file and courier-ctl's read it the same way.
core::result<std::string> read_secret_file(const std::string& path);

/// Checks a token's format, signature (constant-time), expiry at `now`,
/// role and id. Every failure is errc::unauthorized, with a message saying
/// which check failed (for logs; clients see only "unauthorized" and it).
core::result<token_claims> verify_token(std::string_view token,
                                        std::string_view secret,
                                        core::time_ms now);

} // namespace courier::auth
