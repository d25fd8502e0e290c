// Client tokens (nodes/auth): verify_token on the input as a token; the
// input as the claims JSON of a correctly signed token (the harness signs
// it, so the claims parser is reached past the signature check); and
// base64url's strictness (one spelling per byte string).
#include "fuzz/fuzz_check.hpp"
#include "nodes/auth/base64url.hpp"
#include "nodes/auth/token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace courier;

namespace {
constexpr std::string_view secret = "fuzz-secret";
constexpr core::time_ms now_ms = 1'700'000'000'000;

std::string hmac(std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

void check_accepted(const auth::token_claims& c) {
  FUZZ_CHECK(auth::is_known_role(c.role));
  FUZZ_CHECK(!c.id.empty());
  FUZZ_CHECK(c.exp_s > now_ms / 1000 && c.exp_s <= auth::exp_s_max);
  // What verified signs and verifies again to the same claims.
  auto again = auth::verify_token(auth::sign_token(c, secret), secret, now_ms);
  FUZZ_CHECK(again && *again == c);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  if (auto c = auth::verify_token(in, secret, now_ms))
    check_accepted(*c);
  // The input as claims under a good signature.
  auto payload = auth::base64url_encode(in);
  auto token = payload + "." + auth::base64url_encode(hmac(payload));
  if (auto c = auth::verify_token(token, secret, now_ms))
    check_accepted(*c);
  // base64url: canonical both ways.
  FUZZ_CHECK(auth::base64url_decode(payload) == std::string{in});
  if (auto bytes = auth::base64url_decode(in))
    FUZZ_CHECK(auth::base64url_encode(*bytes) == in);
  return 0;
}
