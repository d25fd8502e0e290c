// Messages per second to one entity through the router, against a direct
// CAF send to the same kind of actor in the same run (the baseline). The
// entity only counts, so the difference is the router's own cost.
//
// usage: router_bench [MESSAGES] [RUNS]
#include "cluster/entity.hpp"
#include "cluster/journal_actor.hpp"
#include "cluster/registry.hpp"
#include "cluster/router_actor.hpp"
#include "storage/memory_backend.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using namespace courier;
using count_atom = caf::atom_constant<caf::atom("b.count")>;
using done_atom = caf::atom_constant<caf::atom("b.done")>;

/// Counts messages and tells `waiter` once it has seen `expected`.
caf::behavior counter(caf::event_based_actor* self, std::uint64_t expected,
                      caf::actor waiter) {
  auto seen = std::make_shared<std::uint64_t>(0);
  return {
    [=](count_atom) {
      if (++*seen == expected)
        self->send(waiter, done_atom::value);
    },
    [=](cluster::passivate_atom) { self->quit(); },
  };
}

template <class Send>
double rate(caf::actor_system& sys, std::uint64_t n, Send send) {
  caf::scoped_actor waiter{sys};
  auto t0 = std::chrono::steady_clock::now();
  send(caf::actor{waiter});
  waiter->receive([](done_atom) {});
  std::chrono::duration<double> s = std::chrono::steady_clock::now() - t0;
  return static_cast<double>(n) / s.count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  caf::actor_system_config cfg;
  cluster::register_cluster_types(cfg);
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto journal = cluster::spawn_journal_actor(
      sys, std::make_shared<storage::memory_backend>(), cluster::journal_spawn::detached);
  std::vector<double> direct, routed;
  for (int run = 0; run < runs; ++run) {
    direct.push_back(rate(sys, n, [&](caf::actor waiter) {
      auto c = sys.spawn(counter, n, waiter);
      for (std::uint64_t i = 0; i < n; ++i)
        caf::anon_send(c, count_atom::value);
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }));
    routed.push_back(rate(sys, n, [&](caf::actor waiter) {
      cluster::entity_factories f{
          {"bench", [=](caf::actor_system& s, const cluster::entity_context&) {
             return s.spawn(counter, n, waiter);
           }}};
      auto router = cluster::spawn_router(sys, {}, std::move(f), journal);
      cluster::entity_ref ref{"bench", "e-" + std::to_string(run)};
      for (std::uint64_t i = 0; i < n; ++i)
        cluster::tell_from_outside(router, ref, count_atom::value);
      caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    }));
    std::printf("run %d: direct %.0f msg/s, routed %.0f msg/s\n", run + 1,
                direct.back(), routed.back());
  }
  double d = median(direct), r = median(routed);
  std::printf("median of %d runs, %llu messages each: direct %.0f msg/s, via router "
              "%.0f msg/s, ratio routed/direct %.2f\n",
              runs, static_cast<unsigned long long>(n), d, r, r / d);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  return 0;
}
