// Pure-logic tests of the gateway: token bucket, outbox, HTTP helpers.
#include "nodes/gateway/detail/outbox.hpp"
#include "nodes/gateway/http.hpp"
#include "nodes/gateway/token_bucket.hpp"

#include <doctest/doctest.h>

using namespace courier::gateway;
using detail::outbox;
using detail::outbox_push;

namespace {
shared_frame bin(std::string s) { return shared_frame{frame{frame_kind::binary, std::move(s)}}; }
constexpr std::size_t overhead = 10;
} // namespace

TEST_CASE("token_bucket allows a burst, then refills at its rate") {
  token_bucket b{10, 5, 1000}; // 10/s, burst 5, starts full
  for (int i = 0; i < 5; ++i)
    CHECK(b.try_take(1000));
  CHECK_FALSE(b.try_take(1000));
  CHECK_FALSE(b.try_take(1099)); // 0.99 tokens
  CHECK(b.try_take(1100));       // exactly one refilled
  CHECK_FALSE(b.try_take(1100));
  CHECK(b.available(60'000) == 5); // capped at burst after a long pause
}

TEST_CASE("token_bucket takes several tokens at once or none") {
  token_bucket b{1, 3, 0};
  CHECK_FALSE(b.try_take(0, 4));
  CHECK(b.available(0) == 3);
  CHECK(b.try_take(0, 3));
  CHECK(b.available(0) == 0);
  CHECK(b.available(2500) == 2);
}

TEST_CASE("token_bucket does not refill when the clock steps back") {
  token_bucket b{100, 1, 10'000};
  CHECK(b.try_take(10'000));
  CHECK_FALSE(b.try_take(5'000));  // back in time: nothing
  CHECK_FALSE(b.try_take(10'009)); // 0.9 tokens since 10'000, not since 5'000
  CHECK(b.try_take(10'010));
}

TEST_CASE("outbox keeps reliable frames in order") {
  outbox o{1000, overhead};
  std::size_t dropped = 0;
  for (auto s : {"a", "b", "c"})
    CHECK(o.push(bin(s), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.pending_bytes() == 3 * (1 + overhead));
  CHECK(o.pop()->data() == "a");
  CHECK(o.pop()->data() == "b");
  CHECK(o.pop()->data() == "c");
  CHECK_FALSE(o.pop().has_value());
  CHECK(o.pending_bytes() == 0);
  CHECK(dropped == 0);
}

TEST_CASE("outbox replaces a pending latest(key) frame and moves it to the back") {
  outbox o{1000, overhead};
  std::size_t dropped = 0;
  CHECK(o.push(bin("pos1"), delivery::latest("o-1"), dropped) == outbox_push::queued);
  CHECK(o.push(bin("status"), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.push(bin("other"), delivery::latest("o-2"), dropped) == outbox_push::queued);
  CHECK(o.push(bin("pos2"), delivery::latest("o-1"), dropped) == outbox_push::replaced);
  CHECK(o.size() == 3);
  // What the client gets is a subsequence of what was pushed.
  CHECK(o.pop()->data() == "status");
  CHECK(o.pop()->data() == "other");
  CHECK(o.pop()->data() == "pos2");
  // Once written, a key starts afresh.
  CHECK(o.push(bin("pos3"), delivery::latest("o-1"), dropped) == outbox_push::queued);
  CHECK(dropped == 0);
}

TEST_CASE("outbox drops coalescable frames first when over its byte bound") {
  outbox o{100, overhead}; // room for 5 frames of 10 bytes
  std::size_t dropped = 0;
  std::string ten(10, 'x');
  CHECK(o.push(bin(ten), delivery::latest("k1"), dropped) == outbox_push::queued);
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.push(bin(ten), delivery::latest("k2"), dropped) == outbox_push::queued);
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.pending_bytes() == 100);
  // A reliable frame evicts the oldest coalescable one (k1).
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(dropped == 1);
  CHECK(o.pending_bytes() == 100);
  // A coalescable frame evicts k2, the last coalescable one.
  CHECK(o.push(bin(ten), delivery::latest("k3"), dropped) == outbox_push::queued);
  CHECK(dropped == 2);
  // Another: evicts k3 and fits.
  CHECK(o.push(bin(ten), delivery::latest("k4"), dropped) == outbox_push::queued);
  CHECK(dropped == 3);
  // A reliable frame with only reliable ones left besides k4: evicts k4...
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(dropped == 4);
  // ...and now reliable frames alone exceed the bound.
  CHECK(o.push(bin(ten), delivery::reliable(), dropped) == outbox_push::overflow);
  CHECK(o.push(bin(ten), delivery::latest("k5"), dropped) == outbox_push::dropped);
  CHECK(dropped == 5);
  CHECK(o.pending_bytes() == 100);
  CHECK(o.size() == 5);
  o.clear();
  CHECK(o.empty());
  CHECK(o.pending_bytes() == 0);
}

TEST_CASE("outbox never exceeds its bound under a random mix") {
  outbox o{5000, overhead};
  std::size_t dropped = 0;
  unsigned seed = 12345; // fixed: a failing run is reproduced as is
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7FFF; };
  std::size_t overflows = 0;
  for (int i = 0; i < 20'000; ++i) {
    auto r = next();
    if (r % 7 == 0) {
      o.pop();
    } else if (r % 3 == 0) {
      if (o.push(bin(std::string(r % 200, 'r')), delivery::reliable(), dropped) ==
          outbox_push::overflow)
        ++overflows;
    } else {
      o.push(bin(std::string(r % 300, 'l')), delivery::latest("k" + std::to_string(r % 13)),
             dropped);
    }
    REQUIRE(o.pending_bytes() <= 5000);
  }
  CHECK(dropped > 0);
  CHECK(overflows > 0);
}

TEST_CASE("http_request finds headers case-insensitively and parses Bearer tokens") {
  http_request r;
  r.headers = {{"Content-Type", "application/json"}, {"authorization", "Bearer  abc.def "}};
  CHECK(r.header("content-type") == std::string_view{"application/json"});
  CHECK_FALSE(r.header("x-missing").has_value());
  CHECK(r.bearer_token() == std::string_view{"abc.def"});
  r.headers = {{"Authorization", "Basic abc"}};
  CHECK_FALSE(r.bearer_token().has_value());
  r.headers = {{"Authorization", "bearer x"}};
  CHECK(r.bearer_token() == std::string_view{"x"});
}
