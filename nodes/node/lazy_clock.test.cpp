// The node's lazy actor clock under a real actor system: timers fire, an
// earlier timer wakes the sleeping timer thread, request timeouts still
// reach the requester, and a system stops with timers pending.
// Bounds on time here are correctness bounds (a timer must not wait for a
// later one), far above any scheduling delay; none is a speed target.

#include "nodes/node/lazy_clock.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>

using namespace std::chrono_literals;
using courier::node::lazy_clock;
using courier::node::use_node_coordinator;

namespace {

struct lazy_config : caf::actor_system_config {
  lazy_config() {
    set("scheduler.max-threads", 1);
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.console-verbosity", caf::atom("quiet"));
    use_node_coordinator(*this, courier::node::worker_policy::sharing);
  }
};

using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Sets `p` when the first tick arrives.
caf::behavior waiter(caf::event_based_actor*, std::shared_ptr<std::promise<void>> p) {
  return {[=](tick_atom) { p->set_value(); }};
}

} // namespace

TEST_CASE("the_lazy_clock_is_the_systems_clock_and_delayed_messages_arrive") {
  lazy_config cfg;
  caf::actor_system sys{cfg};
  REQUIRE(dynamic_cast<lazy_clock*>(&sys.clock()) != nullptr);
  auto p = std::make_shared<std::promise<void>>();
  auto done = p->get_future();
  auto a = sys.spawn(waiter, p);
  auto t0 = std::chrono::steady_clock::now();
  caf::delayed_anon_send(a, 50ms, tick_atom::value);
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("a_timer_due_before_the_sleeping_threads_next_one_wakes_it") {
  lazy_config cfg;
  caf::actor_system sys{cfg};
  auto p_late = std::make_shared<std::promise<void>>();
  auto p_soon = std::make_shared<std::promise<void>>();
  auto late = sys.spawn(waiter, p_late);
  auto soon = sys.spawn(waiter, p_soon);
  auto done = p_soon->get_future();
  caf::delayed_anon_send(late, 1h, tick_atom::value);
  std::this_thread::sleep_for(20ms); // the timer thread sleeps until the hour
  caf::delayed_anon_send(soon, 10ms, tick_atom::value);
  CHECK(done.wait_for(30s) == std::future_status::ready);
  // Stopping with the hour's timer pending drops it (no leak, no hang).
  caf::anon_send_exit(late, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(soon, caf::exit_reason::user_shutdown);
}

TEST_CASE("timers_due_after_the_next_wake_up_do_not_wake_the_timer_thread") {
  lazy_config cfg;
  caf::actor_system sys{cfg};
  auto& clock = dynamic_cast<lazy_clock&>(sys.clock());
  auto p = std::make_shared<std::promise<void>>();
  auto a = sys.spawn(waiter, p);
  caf::delayed_anon_send(a, 1h, tick_atom::value);
  std::this_thread::sleep_for(20ms);
  auto before = clock.wakeups();
  for (int i = 0; i < 1000; ++i)
    caf::delayed_anon_send(a, 2h, tick_atom::value);
  CHECK(clock.wakeups() == before);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("request_timeouts_reach_the_requester_and_many_timers_all_fire") {
  lazy_config cfg;
  caf::actor_system sys{cfg};
  // A server that never answers: each request times out.
  // The ints are unused: CAF 0.17 dereferences an empty argument tuple for
  // argument-less function actors (UBSan reports it).
  auto silent = sys.spawn([](caf::event_based_actor* self, int) -> caf::behavior {
    auto held = std::make_shared<std::vector<caf::response_promise>>();
    return {[=](tick_atom) { held->push_back(self->make_response_promise()); }};
  }, 0);
  constexpr int n = 2000;
  auto timeouts = std::make_shared<std::atomic<int>>(0);
  auto p = std::make_shared<std::promise<void>>();
  auto done = p->get_future();
  sys.spawn([=](caf::event_based_actor* self, int) {
    for (int i = 0; i < n; ++i)
      self->request(silent, std::chrono::milliseconds{1 + i % 50}, tick_atom::value)
          .then([](caf::message&) {},
                [=](caf::error& err) {
                  if (err == caf::sec::request_timeout && ++*timeouts == n)
                    p->set_value();
                });
  }, 0);
  REQUIRE(done.wait_for(60s) == std::future_status::ready);
  CHECK(timeouts->load() == n);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}
