#include "tests/harness/harness.hpp"
#include "tests/harness/seeds.hpp"

#include "cluster/atoms.hpp"
#include "cluster/journal_actor.hpp"
#include "cluster/registry.hpp"
#include "core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace courier::harness {

/// Puts a journal actor's view of the backend behind a switch: when the
/// simulated process dies, its journal actor may still have messages queued
/// (a commit, say), but like a dead process it must not touch storage again.
class crashable_backend final : public storage::journal_backend {
public:
  explicit crashable_backend(std::shared_ptr<storage::memory_backend> inner)
      : inner_(std::move(inner)) {}
  void kill() { dead_ = true; }

  core::result<storage::version_t> append(const storage::append_request& r) override {
    if (dead_)
      return gone();
    return inner_->append(r);
  }
  core::result<core::unit_t> sync() override {
    if (dead_)
      return gone();
    return inner_->sync();
  }
  core::result<storage::recovered_stream> read(const std::string& s) override {
    if (dead_)
      return gone();
    return inner_->read(s);
  }
  core::result<core::unit_t> save_snapshot(const std::string& s,
                                           storage::version_t v,
                                           std::string payload) override {
    if (dead_)
      return gone();
    return inner_->save_snapshot(s, v, std::move(payload));
  }
  storage::version_t version(const std::string& s) const override {
    return inner_->version(s);
  }
  std::vector<std::string> streams() const override { return inner_->streams(); }
  core::result<core::unit_t> drop(const std::string& s, storage::version_t expected) override {
    if (dead_)
      return gone();
    return inner_->drop(s, expected);
  }
  storage::journal_usage usage() const override { return inner_->usage(); }

private:
  static core::error gone() {
    return core::error{core::errc::unavailable, "journal process crashed"};
  }
  std::shared_ptr<storage::memory_backend> inner_;
  bool dead_ = false;
};

std::uint64_t pick_seed(const std::string& label) {
  // One policy with for_each_seed (seeds.hpp): fixed per label unless told.
  std::uint64_t seed = fixed_base(label);
  if (const char* env = std::getenv("COURIER_SEED"); env && *env) {
    seed = std::strtoull(env, nullptr, 10);
  } else if (const char* base = std::getenv("COURIER_SEED_BASE"); base && *base) {
    if (std::string{base} == "random") {
      std::random_device rd;
      seed = (std::uint64_t{rd()} << 32) ^ rd();
    } else {
      seed = std::strtoull(base, nullptr, 10);
    }
  }
  std::printf("harness: %s seed=%llu (replay: COURIER_SEED=%llu)\n",
              label.c_str(), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

harness_config::harness_config() {
  set("scheduler.policy", caf::atom("testing"));
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console-verbosity", caf::atom("quiet"));
  set("middleman.heartbeat-interval", caf::timespan{0});
  cluster::register_cluster_types(*this);
}

virtual_clock::virtual_clock(caf::scheduler::test_coordinator& sched)
    : sched_(sched), start_(sched.clock().now()) {}

core::time_ms virtual_clock::now_ms() const noexcept {
  auto elapsed = sched_.clock().now() - start_;
  return epoch_ms +
         std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

world::world(std::uint64_t seed, order_policy policy)
    : sys_(cfg_),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      seed_(seed),
      policy_(policy),
      rng_(seed),
      clock_(sched_),
      backend_(std::make_shared<storage::memory_backend>()),
      archive_(std::make_shared<storage::memory_archive>()) {
  // A failed check must not hang the test at shutdown waiting for actors.
  sys_.await_actors_before_shutdown(false);
  start_journal();
  run();
}

void world::start_journal() {
  live_backend_ = std::make_shared<crashable_backend>(backend_);
  journal_ = cluster::spawn_journal_actor(sys_, live_backend_,
                                          cluster::journal_spawn::scheduled,
                                          cluster::journal_archive{archive_, nullptr});
}

world::~world() {
  for (auto& r : routers_)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(journal_, caf::exit_reason::user_shutdown);
  run();
}

bool world::step() {
  auto& jobs = sched_.jobs;
  if (jobs.empty())
    return false;
  if (policy_ == order_policy::random && jobs.size() > 1) {
    auto pick = static_cast<std::size_t>(rng_() % jobs.size());
    std::swap(jobs.front(), jobs[pick]);
  }
  if (auto* actor = dynamic_cast<caf::abstract_actor*>(jobs.front()))
    trace_.push_back(actor->id());
  return sched_.try_run_once();
}

std::size_t world::run(std::size_t steps_max) {
  std::size_t steps = 0;
  while (steps < steps_max && step())
    ++steps;
  return steps;
}

void world::advance(std::chrono::milliseconds d) {
  auto& clk = sched_.clock();
  auto target = clk.now() + d;
  run();
  while (clk.has_pending_timeout() && clk.schedule().begin()->first <= target) {
    clk.trigger_timeout();
    run();
  }
  clk.current_time = target;
}

caf::actor world::spawn_router(cluster::entity_factories factories,
                               cluster::router_config cfg) {
  auto r = cluster::spawn_router(sys_, cfg, std::move(factories), journal_);
  routers_.push_back(r);
  return r;
}

void world::crash() {
  // The instant of the crash: what was not synced is gone, and the dead
  // process's journal actor can no longer reach storage.
  live_backend_->kill();
  backend_->drop_unsynced();
  archive_->drop_unsynced();
  // Not exit_reason::kill: that one skips the router's exit handler, which
  // is what takes its entities down with it.
  for (auto& r : routers_)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  routers_.clear();
  caf::anon_send_exit(journal_, caf::exit_reason::kill);
  run();
  start_journal();
  run();
}

std::optional<cluster::router_stats> world::router_stats(probe& p, const caf::actor& router) {
  p.clear();
  caf::send_as(p.handle, router, cluster::stats_atom::value);
  run();
  return p.next<cluster::router_stats>();
}

probe world::make_probe() {
  probe p;
  auto inbox = p.inbox_;
  // The inbox goes in as an argument: CAF 0.17 dereferences a null
  // argument tuple for argument-less function actors (UBSan reports it).
  p.handle = sys_.spawn([](caf::event_based_actor* self,
                           std::shared_ptr<std::deque<caf::message>> box) {
    self->set_default_handler(
        [box](caf::scheduled_actor*, caf::message_view& x)
            -> caf::result<caf::message> {
          box->push_back(x.move_content_to_message());
          return caf::message{};
        });
    self->set_error_handler([box](caf::scheduled_actor*, caf::error& err) {
      box->push_back(caf::make_message(err));
    });
    return caf::behavior{[](caf::unit_t) {}};
  }, inbox);
  run();
  return p;
}

} // namespace courier::harness
