// The outbox against its contract: a model written the slow obvious way, and
// the bounds that make the fast one O(1) (tombstones, the key index).
#include "nodes/gateway/detail/outbox.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <list>
#include <random>
#include <string>

using namespace courier::gateway;
using detail::outbox;
using detail::outbox_push;

namespace {

constexpr std::size_t overhead = 10;

shared_frame bin(std::string s) { return shared_frame{frame{frame_kind::binary, std::move(s)}}; }

/// The outbox's contract as the old list-based queue kept it, searched
/// linearly: every result, drop count and popped frame must match it.
class model_outbox {
public:
  model_outbox(std::size_t max, std::size_t overhead_bytes) : max_(max), overhead_(overhead_bytes) {}

  outbox_push push(const std::string& data, const delivery& d, std::size_t& dropped) {
    auto result = outbox_push::queued;
    if (d.coalescing()) {
      for (auto it = q_.begin(); it != q_.end(); ++it) {
        if (it->coalescing && it->key == d.key()) {
          bytes_ -= cost(*it);
          q_.erase(it);
          result = outbox_push::replaced;
          break;
        }
      }
    }
    auto need = data.size() + overhead_;
    while (bytes_ + need > max_) {
      auto it = q_.begin();
      while (it != q_.end() && !it->coalescing)
        ++it;
      if (it == q_.end())
        break;
      bytes_ -= cost(*it);
      q_.erase(it);
      ++dropped;
    }
    if (bytes_ + need > max_) {
      if (d.coalescing()) {
        ++dropped;
        return outbox_push::dropped;
      }
      return outbox_push::overflow;
    }
    q_.push_back(item{data, d.coalescing(), d.key()});
    bytes_ += need;
    return result;
  }

  std::optional<std::string> pop() {
    if (q_.empty())
      return std::nullopt;
    auto data = q_.front().data;
    bytes_ -= cost(q_.front());
    q_.pop_front();
    return data;
  }

  std::size_t size() const { return q_.size(); }
  std::size_t pending_bytes() const { return bytes_; }

private:
  struct item {
    std::string data;
    bool coalescing;
    std::string key;
  };
  std::size_t cost(const item& i) const { return i.data.size() + overhead_; }

  std::size_t max_;
  std::size_t overhead_;
  std::size_t bytes_ = 0;
  std::list<item> q_;
};

/// One random run: pushes (reliable or latest over `keys` keys) and pops
/// with probability `pop_per_mille`, checked step by step against the model.
void run_against_model(std::uint32_t seed, std::size_t bytes_max, int keys, int pop_per_mille,
                       int steps) {
  std::printf("outbox model: seed %u, bound %zu, %d keys, pops %d/1000\n", seed, bytes_max, keys,
              pop_per_mille); // a failing seed is a test case
  outbox o{bytes_max, overhead};
  model_outbox m{bytes_max, overhead};
  std::mt19937 rng{seed};
  std::size_t dropped = 0, model_dropped = 0;
  std::uint64_t serial = 0;
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    auto r = rng();
    if (static_cast<int>(r % 1000) < pop_per_mille) {
      auto got = o.pop();
      auto want = m.pop();
      REQUIRE(got.has_value() == want.has_value());
      if (got)
        REQUIRE(got->data() == *want);
    } else {
      // Unique payloads (the serial first), sized to reach the bound.
      auto data = std::to_string(++serial) + std::string((r >> 10) % 300, '.');
      bool latest = (r >> 20) % 3 != 0;
      auto d = latest ? delivery::latest("k" + std::to_string((r >> 22) % keys))
                      : delivery::reliable();
      auto got = o.push(bin(data), d, dropped);
      auto want = m.push(data, d, model_dropped);
      REQUIRE(got == want);
      REQUIRE(dropped == model_dropped);
    }
    REQUIRE(o.size() == m.size());
    REQUIRE(o.pending_bytes() == m.pending_bytes());
    REQUIRE(o.pending_bytes() <= bytes_max);
    REQUIRE(o.dead_slots() <= std::max(outbox::dead_slots_min, o.size()));
  }
  while (auto want = m.pop()) {
    auto got = o.pop();
    REQUIRE(got.has_value());
    REQUIRE(got->data() == *want);
  }
  CHECK(o.empty());
  CHECK(o.pending_bytes() == 0);
  CHECK(o.dead_slots() == 0);
}

} // namespace

TEST_CASE("outbox matches the list-based model under random mixes") {
  auto seed = std::random_device{}();
  CAPTURE(seed);
  SUBCASE("tight bound, few keys: drops and overflows") {
    run_against_model(seed, 2000, 5, 300, 20'000);
  }
  SUBCASE("wide bound, many keys: thousands queued, coalesced by key") {
    run_against_model(seed, 1024 * 1024, 2000, 100, 40'000);
  }
  SUBCASE("pushes and pops alternate: the queue stays 0-2 deep") {
    run_against_model(seed, 1024 * 1024, 3, 500, 20'000);
  }
  SUBCASE("one key: every push replaces") {
    run_against_model(seed, 1024 * 1024, 1, 50, 20'000);
  }
}

TEST_CASE("outbox keeps tombstones bounded while a reliable frame holds the front") {
  outbox o{1024 * 1024, overhead};
  std::size_t dropped = 0;
  CHECK(o.push(bin("head"), delivery::reliable(), dropped) == outbox_push::queued);
  auto key = delivery::latest("pos:rider:r-1");
  CHECK(o.push(bin("p0"), key, dropped) == outbox_push::queued);
  for (int i = 1; i <= 10'000; ++i) {
    REQUIRE(o.push(bin("p" + std::to_string(i)), key, dropped) == outbox_push::replaced);
    REQUIRE(o.size() == 2);
    REQUIRE(o.dead_slots() <= outbox::dead_slots_min);
  }
  CHECK(o.pending_bytes() == (4 + overhead) + (6 + overhead));
  CHECK(o.pop()->data() == "head");
  CHECK(o.pop()->data() == "p10000");
  CHECK(o.empty());
  CHECK(dropped == 0);
}

TEST_CASE("outbox coalesces among thousands of queued frames, replaced ones to the back") {
  outbox o{1024 * 1024, overhead};
  std::size_t dropped = 0;
  constexpr int n = 5000;
  // r0 k0 r1 k1 ...: reliable and coalescable interleaved.
  for (int i = 0; i < n; ++i) {
    REQUIRE(o.push(bin("r" + std::to_string(i)), delivery::reliable(), dropped) ==
            outbox_push::queued);
    REQUIRE(o.push(bin("k" + std::to_string(i)), delivery::latest("key" + std::to_string(i)),
                   dropped) == outbox_push::queued);
  }
  // Every even key again, newest last.
  for (int i = 0; i < n; i += 2)
    REQUIRE(o.push(bin("K" + std::to_string(i)), delivery::latest("key" + std::to_string(i)),
                   dropped) == outbox_push::replaced);
  CHECK(o.size() == 2 * n);
  CHECK(o.dead_slots() <= std::max(outbox::dead_slots_min, o.size()));
  for (int i = 0; i < n; ++i) {
    REQUIRE(o.pop()->data() == "r" + std::to_string(i));
    if (i % 2 == 1)
      REQUIRE(o.pop()->data() == "k" + std::to_string(i));
  }
  for (int i = 0; i < n; i += 2)
    REQUIRE(o.pop()->data() == "K" + std::to_string(i));
  CHECK(o.empty());
  CHECK(dropped == 0);
}

TEST_CASE("outbox drops the oldest coalescable frame past a long reliable backlog") {
  outbox o{200 * (1 + overhead), overhead}; // room for 200 one-byte frames
  std::size_t dropped = 0;
  CHECK(o.push(bin("a"), delivery::latest("a"), dropped) == outbox_push::queued);
  for (int i = 0; i < 198; ++i)
    REQUIRE(o.push(bin("r"), delivery::reliable(), dropped) == outbox_push::queued);
  CHECK(o.push(bin("b"), delivery::latest("b"), dropped) == outbox_push::queued);
  // Full: each new coalescable frame pushes out the oldest one.
  CHECK(o.push(bin("c"), delivery::latest("c"), dropped) == outbox_push::queued);
  CHECK(dropped == 1); // "a"
  CHECK(o.push(bin("d"), delivery::latest("d"), dropped) == outbox_push::queued);
  CHECK(dropped == 2); // "b"
  // A replacement frees its own slot: nothing else is dropped.
  CHECK(o.push(bin("D"), delivery::latest("d"), dropped) == outbox_push::replaced);
  CHECK(dropped == 2);
  CHECK(o.pop()->data() == "r");
  for (int i = 0; i < 197; ++i)
    REQUIRE(o.pop()->data() == "r");
  CHECK(o.pop()->data() == "c");
  CHECK(o.pop()->data() == "D");
  CHECK(o.empty());
}

TEST_CASE("one shared frame pushed to several outboxes is one copy of its bytes") {
  outbox a{1000, overhead}, b{1000, overhead};
  std::size_t dropped = 0;
  auto f = bin("position");
  auto how = delivery::latest("pos:o-1");
  CHECK(a.push(f, how, dropped) == outbox_push::queued);
  CHECK(b.push(f, how, dropped) == outbox_push::queued);
  auto from_a = a.pop();
  auto from_b = b.pop();
  CHECK(from_a->data().data() == f.data().data());
  CHECK(from_b->data().data() == f.data().data());
  CHECK(a.pending_bytes() == 0);
}

TEST_CASE("delivery keys compare by value, hashed once") {
  auto x = delivery::latest("pos:o-1");
  auto y = delivery::latest("pos:o-1");
  auto z = delivery::latest("pos:o-2");
  CHECK(x.same_key(y));
  CHECK(x.same_key(x));
  CHECK_FALSE(x.same_key(z));
  CHECK(x.key_hash() == y.key_hash());
  CHECK_FALSE(delivery::reliable().coalescing());
  CHECK_FALSE(delivery::reliable().same_key(delivery::reliable()));
  CHECK(delivery::reliable().key().empty());
  CHECK(delivery::latest("").coalescing()); // an empty key still coalesces
}
