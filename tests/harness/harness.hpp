#pragma once
/// \file
/// The actor test harness: one deterministic CAF actor system in a test.
///
/// - Scheduling: CAF 0.17's test_coordinator runs one message at a time.
///   `step()` picks which actor runs next: the oldest job (fifo) or a job
///   chosen by the seeded generator (random), which explores interleavings
///   while keeping CAF's per-sender order. The same seed gives the same
///   interleaving: `trace()` records it, and a test proves it.
/// - Time: virtual. Nothing fires until `advance(d)`; then every delayed
///   message, request timeout and `after()` due by then fires at once.
///   `clock()` is the wall clock in that virtual time, for domain code.
/// - Storage: an in-memory journal with fault injection, behind the same
///   journal actor production uses (`journal_backend()` to inject faults;
///   `restart_journal()` to simulate a crash that loses the unsynced tail).
/// - Seeds: from COURIER_SEED if set, else random; always printed, so a
///   failing run is replayed with `COURIER_SEED=<seed> ./test`.

#include "cluster/router_actor.hpp"
#include "core/clock.hpp"
#include "storage/archive.hpp"
#include "storage/memory_backend.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace courier::harness {

class crashable_backend;

/// Which job runs next.
enum class order_policy { fifo, random };

/// A seed for this run: COURIER_SEED if set, otherwise fresh. Printed with
/// `label` so the run can be replayed.
std::uint64_t pick_seed(const std::string& label);

/// The actor system config the harness uses: testing scheduler, Courier's
/// message types registered, quiet logging.
class harness_config : public caf::actor_system_config {
public:
  harness_config();
};

/// A wall clock that reads the test coordinator's virtual time.
class virtual_clock final : public core::clock {
public:
  /// Virtual time starts at this wall time (2026-01-01T00:00:00Z), fixed so
  /// runs are reproducible.
  static constexpr core::time_ms epoch_ms = 1'767'225'600'000;
  explicit virtual_clock(caf::scheduler::test_coordinator& sched);
  core::time_ms now_ms() const noexcept override;

private:
  caf::scheduler::test_coordinator& sched_;
  caf::actor_clock::time_point start_;
};

/// Messages received by a probe actor, in arrival order.
class probe {
public:
  caf::actor handle;

  /// Number of messages not yet taken.
  std::size_t size() const { return inbox_->size(); }
  /// Takes the oldest message if it holds exactly one T (asserting the type
  /// in tests is the caller's job: nullopt means "something else / empty").
  template <class T>
  std::optional<T> next() {
    if (inbox_->empty() || !inbox_->front().template match_elements<T>())
      return std::nullopt;
    T value = inbox_->front().template get_as<T>(0);
    inbox_->pop_front();
    return value;
  }
  /// Takes the oldest message, whatever it holds.
  std::optional<caf::message> next_any() {
    if (inbox_->empty())
      return std::nullopt;
    auto m = std::move(inbox_->front());
    inbox_->pop_front();
    return m;
  }
  /// Drops everything received so far.
  void clear() { inbox_->clear(); }

private:
  friend class world;
  std::shared_ptr<std::deque<caf::message>> inbox_ =
      std::make_shared<std::deque<caf::message>>();
};

/// One deterministic actor system with a journal (and optionally a router).
class world {
public:
  explicit world(std::uint64_t seed, order_policy policy = order_policy::random);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  caf::actor_system& sys() { return sys_; }
  caf::scheduler::test_coordinator& sched() { return sched_; }
  std::uint64_t seed() const { return seed_; }
  std::mt19937_64& rng() { return rng_; }
  core::clock& clock() { return clock_; }

  /// Runs one message of one actor; false if nothing is runnable.
  bool step();
  /// Runs until nothing is runnable (or `steps_max`); timers do not fire.
  std::size_t run(std::size_t steps_max = 10'000'000);
  /// Moves virtual time forward by `d`, firing what is due, running after
  /// each firing.
  void advance(std::chrono::milliseconds d);

  /// Actor ids in the order they ran: equal traces = equal interleavings.
  const std::vector<std::uint64_t>& trace() const { return trace_; }

  /// The in-memory journal backend, for fault injection.
  storage::memory_backend& journal_backend() { return *backend_; }
  /// The in-memory archive the journal actor owns (survives crash()).
  storage::memory_archive& archive() { return *archive_; }
  /// The journal actor over it.
  const caf::actor& journal() const { return journal_; }

  /// Spawns a router over `factories` with this world's journal.
  caf::actor spawn_router(cluster::entity_factories factories,
                          cluster::router_config cfg = {});

  /// Simulates a node crash: kills every actor spawned through this world
  /// (routers, their entities, the journal), loses the journal's unsynced
  /// tail, and starts a fresh journal actor over the surviving data.
  /// Routers must be spawned again (spawn_router).
  void crash();

  /// A probe: an actor that records every message it receives.
  probe make_probe();

  /// Asks `router` for its statistics as `p` (cleared first) and runs;
  /// nullopt if it did not answer.
  std::optional<cluster::router_stats> router_stats(probe& p, const caf::actor& router);

private:
  void start_journal();

  harness_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  std::uint64_t seed_;
  order_policy policy_;
  std::mt19937_64 rng_;
  virtual_clock clock_;
  std::shared_ptr<storage::memory_backend> backend_;
  std::shared_ptr<storage::memory_archive> archive_;
  std::shared_ptr<crashable_backend> live_backend_;
  caf::actor journal_;
  std::vector<caf::actor> routers_;
  std::vector<std::uint64_t> trace_;
};

} // namespace courier::harness
