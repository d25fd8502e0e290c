// Rendezvous placement: stable, balanced, and a membership change moves only
// the keys of the member that came or went.
#include "cluster/placement.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using courier::cluster::entity_ref;
using courier::cluster::place;
using courier::cluster::placement_weight;

namespace {
entity_ref order(int i) { return {"order", "o-" + std::to_string(i)}; }
constexpr int keys = 30'000;
} // namespace

TEST_CASE("weights are stable across runs and builds") {
  // Pinned values: every node, every build, must place keys the same way.
  CHECK(placement_weight("n1", order(1)) == placement_weight("n1", order(1)));
  CHECK(placement_weight("n1", {"ab", "c"}) != placement_weight("n1", {"a", "bc"}));
  CHECK(placement_weight("n1", order(1)) == 0x7a3297b7c5e2a31dULL);
}

TEST_CASE("no members, no owner") { CHECK(place({}, order(1)) == -1); }

TEST_CASE("keys spread evenly over members") {
  std::vector<std::string> ids{"n1", "n2", "n3"};
  std::vector<int> counts(ids.size());
  for (int i = 0; i < keys; ++i)
    counts[static_cast<std::size_t>(place(ids, order(i)))] += 1;
  for (int c : counts) {
    CHECK(c > keys / 3 * 95 / 100);
    CHECK(c < keys / 3 * 105 / 100);
  }
}

TEST_CASE("removing a member moves only its keys; adding one moves keys only to it") {
  std::vector<std::string> three{"n1", "n2", "n3"};
  std::vector<std::string> two{"n1", "n3"};
  std::vector<std::string> four{"n1", "n2", "n3", "n4"};
  int moved_wrongly = 0, moved_elsewhere = 0, moved_to_new = 0;
  for (int i = 0; i < keys; ++i) {
    auto before = three[static_cast<std::size_t>(place(three, order(i)))];
    auto after = two[static_cast<std::size_t>(place(two, order(i)))];
    if (before != "n2" && before != after)
      ++moved_wrongly;
    auto joined = four[static_cast<std::size_t>(place(four, order(i)))];
    if (joined != before && joined != "n4")
      ++moved_elsewhere;
    if (joined == "n4")
      ++moved_to_new;
  }
  CHECK(moved_wrongly == 0);
  CHECK(moved_elsewhere == 0);
  CHECK(moved_to_new > keys / 4 * 90 / 100); // n4 takes about its share
}
