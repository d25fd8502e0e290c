// Reminder shards: durable timers, written in batches by the shard itself.

#include "actors/order_testing.hpp"
#include "core/limits.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace courier;
using namespace courier::actors;
using namespace courier::actors::testing;
using namespace std::chrono_literals;

namespace {

const cluster::entity_ref shard{kind::reminder, "0"};

cluster::entity_ref target(int i) { return {kind::dispatch, "d-" + std::to_string(i)}; }

core::time_ms in(domain_world& d, std::chrono::milliseconds dt) {
  return d.svc->clock->now_ms() + dt.count();
}

/// Replies the probe holds: (ok, errors).
std::pair<int, int> drain_replies(harness::probe& p) {
  int ok = 0, errors = 0;
  while (auto m = p.next_any()) {
    if (m->match_elements<msg::ok_reply>())
      ++ok;
    else if (m->match_elements<caf::error>())
      ++errors;
  }
  return {ok, errors};
}

std::size_t fired_count(const domain_world& d, int targets) {
  std::size_t n = 0;
  for (int i = 0; i < targets; ++i)
    n += d.log->of<reminder_fired>(target(i)).size();
  return n;
}

} // namespace

TEST_CASE("reminder_writes_that_arrive_together_share_appends_and_all_fire") {
  domain_world d{harness::pick_seed("reminder.batch")};
  d.ask(shard, reminder_wake{}); // activated and recovered
  constexpr int n = 300;
  auto due = in(d, 10s);
  auto appends_before = d.w.journal_backend().stats().appends;
  d.p.clear();
  for (int i = 0; i < n; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", due});
  d.w.run();
  auto [ok, errors] = drain_replies(d.p);
  CHECK(ok == n);
  CHECK(errors == 0);
  // One append per write before (300): the shard's backlog then grew with
  // the load. How many share an append depends on how the harness
  // interleaves the journal's answers (11-50 appends over 15 random seeds).
  auto appends = d.w.journal_backend().stats().appends - appends_before;
  CHECK(appends >= n / core::limits::journal_events_per_append_max);
  CHECK(appends <= n / 4);
  CHECK(fired_count(d, n) == 0);
  d.w.advance(11s);
  CHECK(fired_count(d, n) == n);
}

TEST_CASE("queued_writes_of_one_timer_apply_in_order_and_repeats_wait_for_them") {
  domain_world d{harness::pick_seed("reminder.order")};
  d.ask(shard, reminder_wake{});
  auto due = in(d, 10s);
  d.p.clear();
  // Keep the shard busy so the writes below queue behind an append.
  d.send(d.p, shard, reminder_set{target(99), "busy", in(d, 1h)});
  d.send(d.p, shard, reminder_set{target(1), "t", due});
  d.send(d.p, shard, reminder_set{target(1), "t", due}); // repeat of a queued set
  d.send(d.p, shard, reminder_cancel{target(1), "t"});
  d.send(d.p, shard, reminder_cancel{target(1), "t"}); // repeat of a queued cancel
  d.send(d.p, shard, reminder_set{target(2), "t", due});
  d.send(d.p, shard, reminder_cancel{target(2), "t"});
  d.send(d.p, shard, reminder_set{target(2), "t", due + 1000});
  d.w.run();
  auto [ok, errors] = drain_replies(d.p);
  CHECK(ok == 8);
  CHECK(errors == 0);
  d.w.advance(20s);
  CHECK(d.log->of<reminder_fired>(target(1)).empty());
  auto fired2 = d.log->of<reminder_fired>(target(2));
  REQUIRE(fired2.size() == 1);
  CHECK(fired2[0].due_ms == due + 1000);
  // And so after recovery from the journal.
  d.log->got.clear();
  d.crash_and_restart();
  d.w.advance(1s);
  CHECK(d.log->of<reminder_fired>(target(1)).empty());
  CHECK(d.log->of<reminder_fired>(target(2)).empty()); // recorded as fired
}

TEST_CASE("a_failed_append_fails_the_queued_writes_and_the_shard_carries_on") {
  domain_world d{harness::pick_seed("reminder.fail")};
  d.ask(shard, reminder_wake{});
  auto due = in(d, 10s);
  d.w.journal_backend().fail_next_appends(1);
  d.p.clear();
  for (int i = 0; i < 100; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", due});
  d.w.run();
  auto [ok, errors] = drain_replies(d.p);
  CHECK(ok + errors == 100);
  CHECK(errors > 0);
  // Callers retry what failed; every timer is then set once and fires once.
  for (int i = 0; i < 100; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", due});
  d.w.run();
  auto [ok2, errors2] = drain_replies(d.p);
  CHECK(ok2 == 100);
  CHECK(errors2 == 0);
  d.w.advance(11s);
  CHECK(fired_count(d, 100) == 100);
  for (int i = 0; i < 100; ++i)
    CHECK(d.log->of<reminder_fired>(target(i)).size() == 1);
}

TEST_CASE("acknowledged_reminder_writes_survive_a_crash") {
  domain_world d{harness::pick_seed("reminder.crash")};
  d.ask(shard, reminder_wake{});
  auto due = in(d, 10min);
  d.p.clear();
  for (int i = 0; i < 200; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", due});
  d.w.run();
  REQUIRE(drain_replies(d.p).first == 200);
  d.crash_and_restart();
  d.w.advance(11min);
  CHECK(fired_count(d, 200) == 200);
}

TEST_CASE("a_shard_snapshots_its_timers_so_its_stream_stays_short_and_recovers_from_it") {
  domain_config cfg;
  cfg.reminder_snapshot_events_min = 50;
  domain_world d{harness::pick_seed("reminder.snapshot"), cfg};
  d.ask(shard, reminder_wake{});
  auto due = in(d, 10min);
  d.p.clear();
  for (int i = 0; i < 300; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", due + i});
  d.w.run();
  for (int i = 0; i < 100; ++i)
    d.send(d.p, shard, reminder_cancel{target(i), "t"});
  d.w.run();
  REQUIRE(drain_replies(d.p).first == 400);
  auto rec = d.w.journal_backend().read(shard.str());
  REQUIRE(rec.ok());
  REQUIRE(rec->snapshot.has_value()); // none before: the stream only grew
  CHECK(rec->snapshot->version > 300);
  // max(50, timers / 2) events at most since it, plus the last append's.
  CHECK(rec->events.size() <= 150 + core::limits::journal_events_per_append_max);
  d.crash_and_restart();
  d.w.advance(11min);
  CHECK(fired_count(d, 100) == 0);
  CHECK(fired_count(d, 300) == 200);
}

TEST_CASE("a_fire_stays_pending_until_its_target_answers_and_is_tried_again") {
  domain_world d{harness::pick_seed("reminder.confirm")};
  std::vector<std::string> given_up;
  d.svc->observe_reminder_given_up = [&](const std::string& t, const std::string& tag) {
    given_up.push_back(t + "/" + tag);
  };
  d.ask(shard, reminder_wake{});
  auto due = in(d, 10s);
  REQUIRE(d.code_of(d.ask(shard, reminder_set{target(1), "t", due})) == core::errc::none);
  // Lost twice (as if the link broke as it fired): tried after 1 s, then 2 s.
  d.log->reminders_unanswered = 2;
  d.w.advance(10s);
  CHECK(d.log->of<reminder_fired>(target(1)).size() == 1);
  d.w.advance(1s);
  CHECK(d.log->of<reminder_fired>(target(1)).size() == 2);
  d.w.advance(2s);
  CHECK(d.log->of<reminder_fired>(target(1)).size() == 3);
  // Answered the third time: recorded, so neither time nor a restart fires it again.
  d.w.advance(5min);
  d.crash_and_restart();
  d.w.advance(5min);
  CHECK(d.log->of<reminder_fired>(target(1)).size() == 3);
  CHECK(given_up.empty());

  // A target that never answers is tried reminder_fire_attempts_max times.
  REQUIRE(d.code_of(d.ask(shard, reminder_set{target(2), "t", in(d, 1s)})) ==
          core::errc::none);
  d.log->reminders_unanswered = 1000;
  d.w.advance(1h);
  CHECK(d.log->of<reminder_fired>(target(2)).size() == reminder_fire_attempts_max);
  CHECK(given_up == std::vector<std::string>{target(2).str() + "/t"});
  d.log->reminders_unanswered = 0;
  d.crash_and_restart();
  d.w.advance(1h);
  CHECK(d.log->of<reminder_fired>(target(2)).size() == reminder_fire_attempts_max);
}

TEST_CASE("a_cancelled_timer_leaves_nothing_scheduled") {
  // Issue #13's soak: every order's 30-minute delay alert is cancelled when
  // the order finishes. With one CAF delayed message per timer the clock
  // kept each for 30 minutes (CAF 0.17 cannot cancel one): RSS grew with
  // every order. The shard's own schedule drops a timer with its cancel.
  domain_world d{harness::pick_seed("reminder.cancel_frees")};
  std::size_t timers = 0, wakes = 0;
  d.svc->observe_reminder_load = [&](const std::string& s, std::size_t t, std::size_t w) {
    CHECK(s == shard.key);
    timers = t;
    wakes = w;
  };
  d.ask(shard, reminder_wake{});
  constexpr int n = 500;
  d.p.clear();
  for (int i = 0; i < n; ++i)
    d.send(d.p, shard, reminder_set{target(i), "delay", in(d, 30min)});
  d.w.run();
  CHECK(drain_replies(d.p) == std::pair{n, 0});
  CHECK(timers == n);
  CHECK(wakes == n);
  for (int i = 0; i < n; ++i)
    d.send(d.p, shard, reminder_cancel{target(i), "delay"});
  d.w.run();
  CHECK(drain_replies(d.p) == std::pair{n, 0});
  CHECK(timers == 0);
  CHECK(wakes == 0);
  d.w.advance(31min);
  CHECK(fired_count(d, n) == 0);
}

TEST_CASE("an_earlier_timer_set_after_later_ones_fires_on_time_and_each_fires_once") {
  domain_world d{harness::pick_seed("reminder.earlier")};
  d.ask(shard, reminder_wake{});
  d.p.clear();
  // Due 60, 50, ..., 10 s: each new one is earlier than every armed tick.
  for (int i = 0; i < 6; ++i)
    d.send(d.p, shard, reminder_set{target(i), "t", in(d, std::chrono::seconds{60 - 10 * i})});
  d.w.run();
  CHECK(drain_replies(d.p) == std::pair{6, 0});
  for (int k = 1; k <= 6; ++k) {
    d.w.advance(10s);
    CHECK_MESSAGE(fired_count(d, 6) == static_cast<std::size_t>(k), "after ", 10 * k, " s");
  }
  d.w.advance(5min);
  CHECK(fired_count(d, 6) == 6);
}
