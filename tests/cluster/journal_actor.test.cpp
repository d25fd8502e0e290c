// The journal actor's group commit and its reads: a read never forces a
// sync of other streams' appends, and never hands out events a failing
// sync could still roll back.
#include "tests/harness/harness.hpp"

#include "cluster/atoms.hpp"
#include "cluster/errors.hpp"
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

namespace {

void archive(harness::world& w, const harness::probe& p, const std::string& key,
             std::vector<std::string> drops, std::vector<storage::version_t> expected) {
  caf::send_as(p.handle, w.journal(), cluster::archive_atom::value, key,
               std::string{"final " + key}, std::move(drops), std::move(expected),
               core::time_ms{1000});
}

/// An archive's acknowledgement.
bool acknowledged(harness::probe& p) {
  return p.next<cluster::archive_atom>().has_value();
}

} // namespace

TEST_CASE("archive puts the final state durably and only then drops the streams") {
  harness::world w{harness::pick_seed("journal.archive")};
  auto p = w.make_probe();
  append(w, p, "order:a", 0, "a1");
  append(w, p, "payment:a", 0, "p1");
  w.run();
  p.clear();
  // The archive's sync fails: nothing is archived and nothing dropped.
  w.archive().fail_next_sync();
  archive(w, p, "order:a", {"order:a", "payment:a"}, {1, storage::any_version});
  w.run();
  auto failed = p.next_any();
  REQUIRE(failed.has_value());
  CHECK(failed->match_elements<caf::error>());
  CHECK(w.journal_backend().version("order:a") == 1);
  CHECK(w.journal_backend().version("payment:a") == 1);
  // A stale version is refused before anything is dropped (the archive
  // holds the entry: a duplicate, harmless).
  archive(w, p, "order:a", {"order:a"}, {7});
  w.run();
  auto stale = p.next_any();
  REQUIRE(stale.has_value());
  REQUIRE(stale->match_elements<caf::error>());
  CHECK(cluster::from_caf_error(stale->get_as<caf::error>(0)).code == core::errc::conflict);
  CHECK(w.journal_backend().version("order:a") == 1);
  // Now it goes through: archived, then both streams dropped in one commit.
  archive(w, p, "order:a", {"order:a", "payment:a"}, {1, storage::any_version});
  w.run();
  CHECK(acknowledged(p));
  CHECK(w.journal_backend().version("order:a") == 0);
  CHECK(w.journal_backend().version("payment:a") == 0);
  caf::send_as(p.handle, w.journal(), cluster::archived_atom::value, std::string{"order:a"});
  w.run();
  CHECK(p.next<std::string>() == std::string{"final order:a"});
  caf::send_as(p.handle, w.journal(), cluster::archived_atom::value, std::string{"order:b"});
  w.run();
  auto missing = p.next_any();
  REQUIRE(missing.has_value());
  REQUIRE(missing->match_elements<caf::error>());
  CHECK(cluster::from_caf_error(missing->get_as<caf::error>(0)).code == core::errc::not_found);
  auto s = stats(w);
  CHECK(s.archived == 1);
  CHECK(s.archive_failures == 2);
  CHECK(s.archive_entries == 1);
  // Idempotent: again changes nothing but the archive's newest copy.
  archive(w, p, "order:a", {"order:a", "payment:a"}, {1, storage::any_version});
  w.run();
  CHECK(acknowledged(p));
}
