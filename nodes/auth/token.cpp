#include "nodes/auth/token.hpp"

#include "core/limits.hpp"
#include "nodes/auth/base64url.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <fstream>

namespace courier::auth {
namespace {

using core::errc;

constexpr std::array<std::string_view, 4> known_roles = {"rider", "customer",
                                                         "store", "admin"};
constexpr std::size_t mac_bytes = 32; // SHA-256

/// HMAC-SHA256(secret, data) as raw bytes.
std::string hmac_sha256(std::string_view secret, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  auto* ok = HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                  reinterpret_cast<const unsigned char*>(data.data()),
                  data.size(), mac.data(), &len);
  COURIER_ASSERT(ok != nullptr);
  COURIER_ASSERT(len == mac_bytes);
  return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

core::error unauthorized(std::string message) {
  return core::make_error(errc::unauthorized, "token: " + std::move(message));
}

/// Parses the claims JSON (already authenticated by the signature).
core::result<token_claims> parse_claims(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return unauthorized("bad format: claims are not a JSON object");
  auto role = j.find("role");
  auto id = j.find("id");
  auto exp = j.find("exp");
  if (role == j.end() || !role->is_string())
    return unauthorized("bad format: missing string claim 'role'");
  if (id == j.end() || !id->is_string())
    return unauthorized("bad format: missing string claim 'id'");
  if (exp == j.end() || !exp->is_number_integer())
    return unauthorized("bad format: missing integer claim 'exp'");
  token_claims claims;
  claims.role = role->get<std::string>();
  claims.id = id->get<std::string>();
  if (exp->is_number_unsigned() && exp->get<std::uint64_t>() > static_cast<std::uint64_t>(exp_s_max))
    return unauthorized("bad format: 'exp' out of range");
  claims.exp_s = exp->get<std::int64_t>();
  if (claims.exp_s <= 0 || claims.exp_s > exp_s_max)
    return unauthorized("bad format: 'exp' out of range");
  return claims;
}

} // namespace

bool is_known_role(std::string_view role) noexcept {
  for (auto r : known_roles)
    if (r == role)
      return true;
  return false;
}

std::string sign_token(const token_claims& claims, std::string_view secret) {
  COURIER_ASSERT(!secret.empty());
  // ordered_json keeps the documented claim order (role, id, exp).
  nlohmann::ordered_json j;
  j["role"] = claims.role;
  j["id"] = claims.id;
  j["exp"] = claims.exp_s;
  auto payload = base64url_encode(
      j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  auto sig = base64url_encode(hmac_sha256(secret, payload));
  return payload + "." + sig;
}

core::result<token_claims> verify_token(std::string_view token,
                                        std::string_view secret,
                                        core::time_ms now) {
  if (secret.empty())
    return unauthorized("server has no token secret configured");
  if (token.empty())
    return unauthorized("bad format: empty token");
  if (token.size() > token_chars_max)
    return unauthorized("bad format: longer than " +
                        std::to_string(token_chars_max) + " characters");
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos)
    return unauthorized("bad format: expected two parts separated by one '.'");
  auto payload = token.substr(0, dot);
  auto sig = base64url_decode(token.substr(dot + 1));
  if (payload.empty() || !sig || sig->size() != mac_bytes)
    return unauthorized("bad format: malformed signature part");
  // Signature first: nothing in an unauthenticated payload is looked at.
  auto expected = hmac_sha256(secret, payload);
  if (CRYPTO_memcmp(expected.data(), sig->data(), mac_bytes) != 0)
    return unauthorized("bad signature");
  auto json_text = base64url_decode(payload);
  if (!json_text)
    return unauthorized("bad format: claims part is not base64url");
  auto claims = parse_claims(*json_text);
  if (!claims)
    return claims;
  if (now >= claims->exp_s * 1000)
    return unauthorized("expired");
  if (!is_known_role(claims->role))
    return unauthorized("unknown role '" + claims->role.substr(0, 32) + "'");
  if (claims->id.empty())
    return unauthorized("empty id");
  if (claims->id.size() > core::limits::id_chars_max)
    return unauthorized("id longer than " +
                        std::to_string(core::limits::id_chars_max) + " characters");
  return claims;
}

core::result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return core::make_error(core::errc::bad_request, "cannot read '" + path + "'");
  std::string text(secret_file_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > secret_file_bytes_max)
    return core::make_error(core::errc::bad_request,
                            "'" + path + "' is over " + std::to_string(secret_file_bytes_max) +
                                " bytes: a secret file holds one line");
  auto line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.pop_back();
  if (line.empty())
    return core::make_error(core::errc::bad_request, "'" + path + "' is empty");
  return line;
}

} // namespace courier::auth
