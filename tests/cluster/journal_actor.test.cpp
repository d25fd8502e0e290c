// The journal actor's group commit and its reads: a read never forces a
// sync of other streams' appends, and never hands out events a failing
// sync could still roll back.
#include "tests/harness/harness.hpp"

#include "cluster/atoms.hpp"
#include "cluster/journal_actor.hpp"

#include <doctest/doctest.h>

using namespace courier;

namespace {

void append(harness::world& w, const harness::probe& p, const std::string& stream,
            storage::version_t expected, const std::string& event) {
  caf::send_as(p.handle, w.journal(), cluster::append_atom::value, stream, expected,
               std::vector<std::string>{event}, std::uint64_t{0});
}

void read(harness::world& w, const harness::probe& p, const std::string& stream) {
  caf::send_as(p.handle, w.journal(), cluster::read_atom::value, stream);
}

cluster::journal_stats stats(harness::world& w) {
  auto p = w.make_probe();
  caf::send_as(p.handle, w.journal(), cluster::stats_atom::value);
  w.run();
  auto s = p.next<cluster::journal_stats>();
  REQUIRE(s.has_value());
  return *s;
}

} // namespace

TEST_CASE("a read of another stream joins the group commit instead of forcing a sync") {
  harness::world w{harness::pick_seed("journal.read_no_sync")};
  auto p = w.make_probe();
  // Queued back to back: one commit for both appends. A read in between
  // used to sync the first on its own (two commits), so every entity
  // starting under load cost an fsync (issue #11).
  append(w, p, "order:a", 0, "a1");
  read(w, p, "order:fresh");
  append(w, p, "order:b", 0, "b1");
  w.run();
  auto fresh = p.next<storage::recovered_stream>();
  REQUIRE(fresh.has_value());
  CHECK(fresh->events.empty());
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
  CHECK(stats(w).commits == 1);
}

TEST_CASE("a read of a stream with unsynced appends waits for the sync and sees its outcome") {
  harness::world w{harness::pick_seed("journal.read_after_sync")};
  auto p = w.make_probe();
  append(w, p, "order:a", 0, "a1");
  w.run();
  REQUIRE(p.next<storage::version_t>() == storage::version_t{1});
  // a2 is appended but its sync fails: a read queued behind it must not see it.
  w.journal_backend().fail_next_sync();
  append(w, p, "order:a", 1, "a2");
  read(w, p, "order:a");
  w.run();
  auto failed = p.next_any();
  REQUIRE(failed.has_value());
  CHECK(failed->match_elements<caf::error>());
  auto rec = p.next<storage::recovered_stream>();
  REQUIRE(rec.has_value());
  REQUIRE(rec->events.size() == 1);
  CHECK(rec->events[0].payload == "a1");
  // A synced append is seen by a read queued right behind it.
  append(w, p, "order:a", 1, "a2");
  read(w, p, "order:a");
  w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{2});
  rec = p.next<storage::recovered_stream>();
  REQUIRE(rec.has_value());
  CHECK(rec->events.size() == 2);
}
