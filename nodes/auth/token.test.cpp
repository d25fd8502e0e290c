#include "nodes/auth/base64url.hpp"
#include "nodes/auth/token.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <string>

using namespace courier;
using namespace courier::auth;

namespace {
constexpr std::string_view secret = "cluster-secret";
constexpr core::time_ms now_ms = 1'700'000'000'000; // 2023-11-14
const token_claims rider{"rider", "r-17", 1'700'000'000 + 3600};

/// The message of a failed verification ("" if it succeeded).
std::string failure(std::string_view token, core::time_ms now = now_ms,
                    std::string_view key = secret) {
  auto r = verify_token(token, key, now);
  if (r.ok())
    return "";
  CHECK(r.err().code == core::errc::unauthorized);
  return r.err().message;
}

/// A token over arbitrary claims text, correctly signed (HMAC computed here
/// independently of token.cpp).
std::string sign_raw(std::string_view json) {
  auto payload = base64url_encode(json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  return payload + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

/// Replaces the claims part of a token, keeping its (now wrong) signature.
std::string with_claims(const std::string& token, std::string_view json) {
  return base64url_encode(json) + token.substr(token.find('.'));
}
} // namespace

TEST_CASE("base64url round-trips every length and rejects non-canonical text") {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    auto enc = base64url_encode(bytes);
    CHECK(enc.find_first_of("+/=") == std::string::npos);
    auto dec = base64url_decode(enc);
    REQUIRE(dec.has_value());
    CHECK(*dec == bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("abc=").has_value());  // padding
  CHECK_FALSE(base64url_decode("ab+/").has_value());  // standard alphabet
  CHECK_FALSE(base64url_decode("a").has_value());     // impossible length
  CHECK_FALSE(base64url_decode("-_9").has_value());   // non-zero trailing bits
}

TEST_CASE("a signed token verifies and yields its claims") {
  auto token = sign_token(rider, secret);
  CHECK(std::count(token.begin(), token.end(), '.') == 1);
  auto r = verify_token(token, secret, now_ms);
  REQUIRE(r.ok());
  CHECK(*r == rider);
  auto json = base64url_decode(token.substr(0, token.find('.')));
  REQUIRE(json.has_value());
  CHECK(*json == R"({"role":"rider","id":"r-17","exp":1700003600})");
  for (auto role : {"customer", "store", "admin"}) {
    token_claims c{role, "x-1", rider.exp_s};
    CHECK(verify_token(sign_token(c, secret), secret, now_ms).ok());
  }
}

TEST_CASE("a token signed with another secret is a bad signature") {
  auto token = sign_token(rider, "other-secret");
  CHECK(failure(token) == "token: bad signature");
}

TEST_CASE("forged claims under a copied signature are a bad signature") {
  auto token = sign_token(rider, secret);
  CHECK(failure(with_claims(token, R"({"role":"admin","id":"r-17","exp":1700003600})")) ==
        "token: bad signature");
  CHECK(failure(with_claims(token, R"({"role":"rider","id":"r-17","exp":1900000000})")) ==
        "token: bad signature");
  // Flip one signature character.
  auto flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(failure(flipped).empty());
  // A truncated signature is a format error, not a crash.
  CHECK(failure(token.substr(0, token.size() - 4)).find("bad format") != std::string::npos);
}

TEST_CASE("an expired token is unauthorized, one millisecond before expiry it is not") {
  auto token = sign_token(rider, secret);
  CHECK(failure(token, rider.exp_s * 1000 - 1).empty());
  CHECK(failure(token, rider.exp_s * 1000) == "token: expired");
  CHECK(failure(token, rider.exp_s * 1000 + 86'400'000) == "token: expired");
}

TEST_CASE("unknown role and empty id are unauthorized even when signed") {
  CHECK(failure(sign_token({"courier", "r-1", rider.exp_s}, secret)) ==
        "token: unknown role 'courier'");
  CHECK(failure(sign_token({"", "r-1", rider.exp_s}, secret)) == "token: unknown role ''");
  CHECK(failure(sign_token({"rider", "", rider.exp_s}, secret)) == "token: empty id");
  CHECK(failure(sign_token({"rider", std::string(200, 'x'), rider.exp_s}, secret))
            .find("id longer") != std::string::npos);
}

TEST_CASE("malformed tokens are bad format, never a crash") {
  for (std::string_view bad : {"", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???",
                               "eyJ9.eyJ9", "a b.c d"}) {
    CAPTURE(bad);
    CHECK(failure(bad).find("bad format") != std::string::npos);
  }
  CHECK(failure(std::string(token_chars_max + 1, 'a')).find("bad format") !=
        std::string::npos);
}

TEST_CASE("correctly signed but malformed claims are bad format") {
  for (std::string_view json : {R"({"role":"rider","id":"r","exp":"1"})",
                                R"({"role":"rider","id":"r","exp":1.5})",
                                R"({"role":"rider","exp":1900000000})",
                                R"({"role":7,"id":"r","exp":1900000000})", R"([1,2])",
                                "not json", R"({"role":"rider","id":"r","exp":-5})",
                                R"({"role":"rider","id":"r","exp":18446744073709551615})"}) {
    CAPTURE(json);
    CHECK(failure(sign_raw(json)).find("bad format") != std::string::npos);
  }
  // Unknown extra claims are ignored (forward compatible).
  CHECK(failure(sign_raw(R"({"role":"rider","id":"r","exp":1900000000,"v":2})")).empty());
  CHECK(failure(sign_token({"rider", "r", exp_s_max + 1}, secret)).find("out of range") !=
        std::string::npos);
}

TEST_CASE("an empty server secret verifies nothing") {
  auto token = sign_token(rider, secret);
  CHECK(failure(token, now_ms, "") == "token: server has no token secret configured");
}

TEST_CASE("read_secret_file takes the first line, bounded, with clear errors") {
  auto dir = std::filesystem::temp_directory_path() /
             ("courier-secret-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  CHECK(*read_secret_file(write("a", "s3cret \t\r\nsecond line\n")) == "s3cret");
  CHECK(*read_secret_file(write("b", "no newline")) == "no newline");
  CHECK(read_secret_file(write("c", "\n")).err().message.find("is empty") != std::string::npos);
  CHECK(read_secret_file(write("d", std::string(secret_file_bytes_max + 1, 'x')))
            .err().message.find("over 4096 bytes") != std::string::npos);
  CHECK(read_secret_file((dir / "missing").string()).err().message.find("cannot read") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sign_token never throws: claims that are not UTF-8 are signed replaced") {
  auto token = sign_token({"rider", "r-\xff", 2'000'000'000}, "k");
  auto claims = verify_token(token, "k", 1'000'000'000'000);
  REQUIRE(claims.ok());
  CHECK(claims->id == "r-\xef\xbf\xbd");
}
