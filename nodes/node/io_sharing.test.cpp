// io_sharing: CAF's worker 0 runs an attached io_loop between actors.
#include "nodes/node/io_sharing.hpp"
#include "nodes/node/lazy_clock.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using courier::gateway::io_loop;

namespace {

struct io_config : caf::actor_system_config {
  explicit io_config(int workers) {
    set("scheduler.max-threads", workers);
    set("logger.console-verbosity", caf::atom("quiet"));
    courier::node::use_node_coordinator(*this, courier::node::worker_policy::io_sharing);
  }
};

/// Stands in for the gateway's IO: run(true) waits until wake() or close.
class fake_loop final : public io_loop {
public:
  status run(bool block) override {
    std::unique_lock<std::mutex> lock{m_};
    runner_ = std::this_thread::get_id();
    if (closed_)
      return status::closed;
    if (!block) {
      ++polls_;
      return status::idle;
    }
    ++blocked_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return woken_ || closed_; });
    woken_ = false;
    return closed_ ? status::closed : status::ran;
  }
  void wake() override {
    std::lock_guard<std::mutex> guard{m_};
    woken_ = true;
    ++wakes_;
    cv_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> guard{m_};
    closed_ = true;
    cv_.notify_all();
  }
  /// Waits until the worker blocks in run(true) for the n-th time.
  bool wait_blocked(int n) {
    std::unique_lock<std::mutex> lock{m_};
    return cv_.wait_for(lock, 10s, [&] { return blocked_ >= n; });
  }
  int blocked() { std::lock_guard<std::mutex> g{m_}; return blocked_; }
  int polls() { std::lock_guard<std::mutex> g{m_}; return polls_; }
  int wakes() { std::lock_guard<std::mutex> g{m_}; return wakes_; }
  std::thread::id runner() { std::lock_guard<std::mutex> g{m_}; return runner_; }

private:
  std::mutex m_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool closed_ = false;
  int blocked_ = 0;
  int polls_ = 0;
  int wakes_ = 0;
  std::thread::id runner_;
};

using ping_atom = caf::atom_constant<caf::atom("ping")>;

/// Answers each ping with the id of the thread it ran on.
caf::behavior where(caf::event_based_actor*, int) {
  return {[](ping_atom) { return static_cast<std::uint64_t>(
              std::hash<std::thread::id>{}(std::this_thread::get_id())); }};
}

std::uint64_t ask_where(caf::actor_system& sys, const caf::actor& a) {
  std::uint64_t out = 0;
  caf::scoped_actor self{sys};
  self->request(a, 10s, ping_atom::value).receive([&](std::uint64_t id) { out = id; },
                                                  [](caf::error&) { FAIL("no answer"); });
  return out;
}

} // namespace

TEST_CASE("worker_0_blocks_in_the_attached_loop_and_a_foreign_send_wakes_it") {
  io_config cfg{1};
  caf::actor_system sys{cfg};
  auto loop = std::make_shared<fake_loop>();
  courier::node::attach_io_loop(sys, loop);
  REQUIRE(loop->wait_blocked(1)); // no job: it waits in the IO, not on a condition variable
  auto a = sys.spawn(where, 0); // its start is a job: a wake-up
  REQUIRE(loop->wait_blocked(2)); // back in the IO once the job is done
  auto wakes = loop->wakes();
  auto worker = ask_where(sys, a); // sent from this thread: a wake-up
  CHECK(loop->wakes() > wakes);
  CHECK(worker == std::hash<std::thread::id>{}(loop->runner()));
  loop->close();
  // Closed: dropped, and the worker serves actors on as before.
  CHECK(ask_where(sys, a) == worker);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("worker_0_looks_at_the_io_between_jobs_while_jobs_keep_coming") {
  io_config cfg{1};
  caf::actor_system sys{cfg};
  auto loop = std::make_shared<fake_loop>();
  courier::node::attach_io_loop(sys, loop);
  REQUIRE(loop->wait_blocked(1));
  // Two actors bounce a counter: every message is a job of its own.
  constexpr int bounces = 3200;
  auto p = std::make_shared<std::promise<void>>();
  auto done = p->get_future();
  auto bouncer = [p](caf::event_based_actor* self, int) -> caf::behavior {
    return {[=](int left, caf::actor other) {
      if (left == 0)
        return p->set_value();
      self->send(other, left - 1, caf::actor_cast<caf::actor>(self));
    }};
  };
  auto x = sys.spawn(bouncer, 0);
  auto y = sys.spawn(bouncer, 0);
  caf::anon_send(x, bounces, y);
  REQUIRE(done.wait_for(30s) == std::future_status::ready);
  // One non-blocking look per io_jobs_between_polls jobs, none per job
  // (a few jobs more than the bounces: the actors' starts, the wake-ups).
  auto polls = loop->polls();
  auto every = static_cast<int>(courier::node::io_jobs_between_polls);
  CHECK(polls >= bounces / every - 5);
  CHECK(polls <= bounces / every + 5);
  loop->close();
  caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(y, caf::exit_reason::user_shutdown);
}

TEST_CASE("with_two_workers_jobs_still_run_while_worker_0_waits_in_the_io") {
  io_config cfg{2};
  caf::actor_system sys{cfg};
  auto loop = std::make_shared<fake_loop>();
  courier::node::attach_io_loop(sys, loop);
  REQUIRE(loop->wait_blocked(1));
  auto a = sys.spawn(where, 0);
  for (int i = 0; i < 100; ++i)
    ask_where(sys, a); // answered by whichever worker is free
  loop->close();
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
