// Dispatch benchmark at the Gangnam hot spot (DESIGN.md): riders within
// 1 km of (37.4979, 127.0276) on one node (real scheduler, 2 threads,
// in-memory journal behind the real journal actor).
//  1. baseline: raw CAF one-way messages/s to one counting actor;
//  2. positions/s through rider entities (each also updates its region),
//     with a bounded window of requests in flight, until every region has
//     handled what it was sent;
//  3. dispatch latency: orders at --order-rate/s (10,000/min = 167/s) with
//     200 positions/s alongside; a client accepts every offer at once; a
//     fake order side answers assign_rider ok and releases the rider.
//     p50/p99/max from dispatch_start to the order's assign_rider.
//
// Usage: dispatch_bench [--riders N] [--positions N] [--orders N]
//                       [--order-rate N] [--baseline N]
#include "actors/dispatch_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/region_actor.hpp"
#include "actors/region_index.hpp"
#include "actors/rider_actor.hpp"
#include "cluster/entity.hpp"
#include "cluster/journal_actor.hpp"
#include "cluster/registry.hpp"
#include "geo/cell.hpp"
#include "storage/memory_backend.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

using namespace courier;
using namespace courier::actors;
using steady = std::chrono::steady_clock;

namespace {

constexpr double gangnam_lat = 37.4979;
constexpr double gangnam_lng = 127.0276;
constexpr std::size_t window_max = 2000; ///< position requests in flight

struct options {
  std::size_t riders = 1000;
  std::size_t positions = 200000;
  std::size_t orders = 3340;
  std::size_t order_rate = 167;
  std::size_t baseline = 2000000;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    auto v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--riders")) o.riders = v;
    else if (!std::strcmp(argv[i], "--positions")) o.positions = v;
    else if (!std::strcmp(argv[i], "--orders")) o.orders = v;
    else if (!std::strcmp(argv[i], "--order-rate")) o.order_rate = v;
    else if (!std::strcmp(argv[i], "--baseline")) o.baseline = v;
    else return false;
  }
  return o.riders > 0 && o.order_rate > 0;
}

msg::lat_lng random_point(std::mt19937_64& rng, double radius_m) {
  std::uniform_real_distribution<double> u{0.0, 1.0};
  double r = radius_m * std::sqrt(u(rng));
  double a = 2 * 3.14159265358979 * u(rng);
  double north = r * std::cos(a), east = r * std::sin(a);
  return {gangnam_lat + north / 111'195.0,
          gangnam_lng + east / (111'195.0 * std::cos(gangnam_lat * 3.14159265358979 / 180))};
}

/// Latencies recorded by the fake order side.
struct latency_book {
  std::mutex mtx;
  std::unordered_map<std::string, steady::time_point> started;
  std::vector<double> ms;
  std::set<std::string> assigned;
};

caf::behavior fake_order(caf::event_based_actor* self, cluster::entity_context ctx,
                         std::shared_ptr<latency_book> book) {
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](const assign_rider& a) {
      auto now = steady::now();
      {
        std::lock_guard<std::mutex> g{book->mtx};
        if (book->assigned.insert(ctx.self.key).second) {
          auto it = book->started.find(ctx.self.key);
          if (it != book->started.end())
            book->ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
        }
      }
      // The delivery "happens" at once: the rider is free for the next order.
      cluster::tell(self, ctx.router, rider_ref(a.rider_id),
                    rider_released{core::order_id{ctx.self.key}});
      msg::ok_reply ok;
      ok.version = 1;
      return ok;
    },
    [=](const rider_moved&) {},
    cluster::passivation_handler(self, ctx),
  };
}

/// The riders' apps: accept every offer at once.
caf::behavior rider_client(caf::event_based_actor* self, caf::actor router) {
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](push_atom, const std::string& topic, const msg::offer& o) {
      auto rider = topic.substr(6); // "rider:<id>"
      cluster::tell(self, router, rider_ref(core::rider_id{rider}),
                    offer_answer_cmd{caller{msg::role::rider, rider}, o.offer_id, true});
    },
  };
}

double baseline_msgs_per_s(caf::actor_system& sys, std::size_t n) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto counter = sys.spawn([done](caf::event_based_actor*, std::size_t expected) -> caf::behavior {
    auto seen = std::make_shared<std::size_t>(0);
    return {[=](std::uint64_t) {
      if (++*seen == expected)
        done->store(true);
    }};
  }, n);
  auto t0 = steady::now();
  for (std::size_t i = 0; i < n; ++i)
    caf::anon_send(counter, std::uint64_t{i});
  while (!done->load())
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  double s = std::chrono::duration<double>(steady::now() - t0).count();
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
  return static_cast<double>(n) / s;
}

position_cmd position_of(std::size_t rider, std::uint64_t seq, msg::lat_lng at,
                         core::time_ms now) {
  auto id = "r-" + std::to_string(rider);
  msg::position p;
  p.seq = seq;
  p.lat = at.lat;
  p.lng = at.lng;
  p.time_ms = now;
  return position_cmd{caller{msg::role::rider, id}, p};
}

double positions_per_s(caf::scoped_actor& self, const caf::actor& router, const options& o,
                       const core::clock& clock, std::vector<std::uint64_t>& seq,
                       std::mt19937_64& rng, std::set<std::string>& cells,
                       const domain_config& cfg) {
  std::size_t sent = 0, acked = 0;
  auto t0 = steady::now();
  while (acked < o.positions) {
    while (sent < o.positions && sent - acked < window_max) {
      auto r = sent % o.riders;
      auto at = random_point(rng, 1000);
      auto cell = region_cell_of(at.lat, at.lng, cfg.rider_index_res, cfg.region_res);
      if (cell)
        cells.insert(geo::cell_to_string(*cell));
      self->send(router, cluster::route_atom::value,
                 rider_ref(core::rider_id{"r-" + std::to_string(r)}),
                 caf::make_message(position_of(r, ++seq[r], at, clock.now_ms())));
      ++sent;
    }
    self->receive([&](const msg::ack&) { ++acked; }, [&](caf::error&) { ++acked; });
  }
  // Regions handle their updates in mailbox order: a stats query per cell
  // returns once each has caught up.
  for (auto& c : cells)
    self->request(router, std::chrono::seconds{30}, cluster::route_atom::value, region_ref(c),
                  caf::make_message(region_stats_query{}))
        .receive([](const msg::region_stats&) {}, [](caf::error&) {});
  double s = std::chrono::duration<double>(steady::now() - t0).count();
  return static_cast<double>(o.positions) / s;
}

double pct(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) ;
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: dispatch_bench [--riders N] [--positions N] [--orders N] "
                         "[--order-rate N] [--baseline N]\n");
    return 2;
  }
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", 2);
  sys_cfg.set("logger.console-verbosity", caf::atom("quiet"));
  cluster::register_cluster_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  core::system_clock clock;

  auto base = baseline_msgs_per_s(sys, o.baseline);

  auto svc = std::make_shared<domain_services>();
  svc->clock = &clock;
  std::shared_ptr<const domain_services> s = svc;
  auto book = std::make_shared<latency_book>();
  auto journal = cluster::spawn_journal_actor(sys, std::make_shared<storage::memory_backend>(),
                                              cluster::journal_spawn::detached);
  cluster::entity_factories f;
  f[kind::rider] = [s](caf::actor_system& as, const cluster::entity_context& c) {
    return spawn_rider_actor(as, c, s);
  };
  f[kind::region] = [s](caf::actor_system& as, const cluster::entity_context& c) {
    return spawn_region_actor(as, c, s);
  };
  f[kind::dispatch] = [s](caf::actor_system& as, const cluster::entity_context& c) {
    return spawn_dispatch_actor(as, c, s, dispatch_timers::local);
  };
  f[kind::order] = [book](caf::actor_system& as, const cluster::entity_context& c) {
    return as.spawn(fake_order, c, book);
  };
  auto router = cluster::spawn_router(sys, {}, std::move(f), journal);
  auto client = sys.spawn(rider_client, router);
  caf::scoped_actor self{sys};
  std::mt19937_64 rng{42};
  std::vector<std::uint64_t> seq(o.riders, 0);

  // Riders come online: subscribed, available, placed.
  for (std::size_t r = 0; r < o.riders; ++r) {
    auto id = "r-" + std::to_string(r);
    auto ref = rider_ref(core::rider_id{id});
    caller me{msg::role::rider, id};
    for (auto m : {caf::make_message(subscribe_cmd{me, client}),
                   caf::make_message(availability_cmd{me, true})})
      self->request(router, std::chrono::seconds{30}, cluster::route_atom::value, ref, m)
          .receive([](const msg::ok_reply&) {}, [](caf::error&) {});
  }
  std::set<std::string> cells;
  auto pos_rate = positions_per_s(self, router, o, clock, seq, rng, cells, svc->cfg);

  // Dispatch at the hot-spot mix: orders paced at order_rate/s, positions at 200/s.
  auto t0 = steady::now();
  auto positions_per_order = std::max<std::size_t>(1, 200 / o.order_rate);
  for (std::size_t i = 0; i < o.orders; ++i) {
    auto due = t0 + std::chrono::microseconds{i * 1'000'000 / o.order_rate};
    std::this_thread::sleep_until(due);
    auto id = "b-" + std::to_string(i);
    {
      std::lock_guard<std::mutex> g{book->mtx};
      book->started[id] = steady::now();
    }
    auto store = random_point(rng, 1000);
    cluster::tell_from_outside(router, dispatch_ref(core::order_id{id}),
                               dispatch_start{core::order_id{id}, core::store_id{"s"}, store,
                                              random_point(rng, 2000), 3000.0});
    for (std::size_t k = 0; k < positions_per_order; ++k) {
      auto r = rng() % o.riders;
      cluster::tell_from_outside(router, rider_ref(core::rider_id{"r-" + std::to_string(r)}),
                                 position_of(r, ++seq[r], random_point(rng, 1000),
                                             clock.now_ms()));
    }
  }
  auto deadline = steady::now() + std::chrono::seconds{60};
  std::size_t assigned = 0;
  while (steady::now() < deadline) {
    {
      std::lock_guard<std::mutex> g{book->mtx};
      assigned = book->assigned.size();
    }
    if (assigned >= o.orders)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  double run_s = std::chrono::duration<double>(steady::now() - t0).count();
  std::vector<double> lat;
  {
    std::lock_guard<std::mutex> g{book->mtx};
    lat = book->ms;
  }
  std::printf("dispatch_bench: riders=%zu (1 km of Gangnam, %zu region cells), 2 threads\n",
              o.riders, cells.size());
  std::printf("  baseline raw CAF one-way:      %12.0f msgs/s\n", base);
  std::printf("  positions via rider+region:    %12.0f positions/s  (ratio to baseline %.3f)\n",
              pos_rate, pos_rate / base);
  std::printf("  dispatch at %zu orders/s:      %zu/%zu assigned in %.1f s\n", o.order_rate,
              assigned, o.orders, run_s);
  std::printf("  dispatch_start -> assign:      p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
              pct(lat, 50), pct(lat, 99), pct(lat, 100));
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  return assigned == o.orders ? 0 : 1;
}
