// bench/entities/entity_probe: where the bytes of one live entity go,
// measured in one process with glibc's malloc counters (mallinfo2: bytes in
// use, chunk headers included) before and after making K of something.
// Uses the deterministic harness (one thread, virtual time, the in-memory
// journal), so nothing else allocates meanwhile. Not linked with mimalloc
// (courier-node is): its size classes round differently; the ranking holds.
//
// usage: entity_probe [K]   (default 20000)
// Prints `probe: component=... bytes_per_entity=... how=...`, one per line.
#include "actors/domain.hpp"
#include "actors/order_actor.hpp"
#include "actors/order_state.hpp"
#include "actors/payment_actor.hpp"
#include "actors/payment_provider.hpp"
#include "actors/protocol.hpp"
#include "actors/rider_state.hpp"
#include "cluster/entity.hpp"
#include "storage/history_file_backend.hpp"
#include "storage/history_writer.hpp"
#include "storage/stream_index.hpp"
#include "tests/harness/harness.hpp"

#include <caf/all.hpp>

// The harness library reports through doctest: link its implementation
// (without doctest's main) into this plain program.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <malloc.h>

#include <filesystem>

#include <cstdio>
#include <cstdlib>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace courier;

std::size_t heap_in_use() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void report(const char* component, double bytes, const char* how) {
  std::printf("probe: component=%s bytes_per_entity=%.0f how=%s\n", component, bytes, how);
}

/// Bytes per item of what `make(k)` allocates and keeps, for `k` items.
template <class Make>
double per_item(std::size_t k, Make make) {
  auto before = heap_in_use();
  make(k);
  auto after = heap_in_use();
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(k);
}

/// An order key as the node makes them ("o-" + 32 hex digits).
std::string order_key(std::size_t i) {
  return actors::order_id_for(core::customer_id{"c-probe"},
                              core::request_id{"rq-" + std::to_string(i)})
      .str();
}

struct empty_state {
  static inline const char* name = "probe.empty";
};
using probe_actor = caf::stateful_actor<empty_state>;
using ping_atom = caf::atom_constant<caf::atom("p.ping")>;

/// The `int` is unused: CAF 0.17 dereferences an empty argument tuple when
/// a function actor takes no arguments (UBSan: reference binding to a null
/// pointer in init_fun_factory), so every probe actor takes one.
caf::behavior one_handler(probe_actor* self, int) {
  return {[=](ping_atom) { self->quit(); }};
}

/// Twelve handlers, each holding a copy of the entity context, as the
/// order actor's behavior does (the lambdas capture `ctx` by value).
caf::behavior twelve_with_ctx(probe_actor* self, cluster::entity_context ctx) {
  auto h = [=](auto) { return ctx.self.key.size() + self->id(); };
  return {
    [=](int) { h(0); }, [=](double) { h(0); }, [=](float) { h(0); },
    [=](std::string) { h(0); }, [=](char) { h(0); }, [=](short) { h(0); },
    [=](long) { h(0); }, [=](unsigned) { h(0); }, [=](unsigned long) { h(0); },
    [=](unsigned short) { h(0); }, [=](bool) { h(0); },
    cluster::passivation_handler(self, ctx, [=] { h(0); }),
  };
}

/// The same twelve handlers holding only `self` (context kept in state).
caf::behavior twelve_self_only(probe_actor* self, cluster::entity_context) {
  return {
    [=](int) { self->id(); }, [=](double) { self->id(); }, [=](float) { self->id(); },
    [=](std::string) { self->id(); }, [=](char) { self->id(); }, [=](short) { self->id(); },
    [=](long) { self->id(); }, [=](unsigned) { self->id(); }, [=](unsigned long) { self->id(); },
    [=](unsigned short) { self->id(); }, [=](bool) { self->id(); },
    [=](cluster::passivate_atom) { self->quit(); },
  };
}

cluster::entity_context context_of(harness::world& w, std::size_t i) {
  return {cluster::entity_ref{"order", order_key(i)}, caf::actor{}, w.journal(), 0};
}

void probe_caf(harness::world& w, std::size_t k) {
  std::vector<caf::actor> keep;
  keep.reserve(3 * k);
  auto bare = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      keep.push_back(w.sys().spawn(one_handler, 0));
    w.run();
  });
  report("caf_actor_bare", bare,
         "stateful_actor<empty>, one handler: actor storage, control block, mailbox, behavior");
  std::vector<cluster::entity_context> ctxs;
  for (std::size_t i = 0; i < k; ++i)
    ctxs.push_back(context_of(w, i));
  auto with_ctx = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      keep.push_back(w.sys().spawn(twelve_with_ctx, ctxs[i]));
    w.run();
  });
  auto self_only = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      keep.push_back(w.sys().spawn(twelve_self_only, ctxs[i]));
    w.run();
  });
  report("behavior_12_handlers_capturing_ctx", with_ctx - bare,
         "12 lambdas each copying entity_context (order key 34 chars) minus caf_actor_bare");
  report("behavior_12_handlers_capturing_self", self_only - bare,
         "the same 12 lambdas capturing only self, minus caf_actor_bare");
  // The router monitors every activation: one attachable per entity.
  auto watcher = w.sys().spawn(
      [](caf::event_based_actor* self, int) -> caf::behavior {
        return {[=](caf::actor& a) { self->monitor(a); }};
      },
      0); // the int: see one_handler
  w.run();
  auto monitors = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      caf::anon_send(watcher, keep[i]);
    w.run();
  });
  report("caf_monitor", monitors, "one monitor attachable on the watched actor");
  for (auto& a : keep)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(watcher, caf::exit_reason::kill);
  w.run();
}

/// The router's per-activation bookkeeping, mirrored: the same containers
/// and element types as router_state (live, lru, by_addr).
void probe_router_tables(harness::world& w, std::size_t k) {
  struct activation_mirror {
    caf::actor handle;
    caf::actor_clock::time_point last_used;
    std::list<cluster::entity_ref>::iterator lru_pos;
    bool passivating = false;
    bool told = false;
    std::vector<int> held; // held_message vector: empty, 24 bytes inline
  };
  std::vector<caf::actor> actors;
  for (std::size_t i = 0; i < k; ++i)
    actors.push_back(w.sys().spawn(one_handler, 0));
  w.run();
  std::unordered_map<cluster::entity_ref, activation_mirror> live;
  std::list<cluster::entity_ref> lru;
  std::unordered_map<caf::actor_addr, cluster::entity_ref> by_addr;
  auto bytes = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      cluster::entity_ref ref{"order", order_key(i)};
      lru.push_front(ref);
      live[ref] = activation_mirror{actors[i], {}, lru.begin(), false, false, {}};
      by_addr.emplace(actors[i].address(), ref);
    }
  });
  report("router_bookkeeping", bytes,
         "live (unordered_map<entity_ref, activation>) + lru list + by_addr, order keys, mirrored");
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  w.run();
}

void probe_stream_index(std::size_t k) {
  storage::stream_index order_index, rider_index;
  auto orders = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      for (storage::version_t v = 1; v <= 6; ++v)
        order_index.add_event("order:" + order_key(i), v, {1, 100, v * 100});
    order_index.commit();
  });
  report("stream_index_order", orders, "file journal index: one order stream with 6 events");
  auto payments = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      for (storage::version_t v = 1; v <= 2; ++v)
        order_index.add_event("payment:" + order_key(i), v, {1, 100, v * 100});
    order_index.commit();
  });
  report("stream_index_payment", payments, "its payment stream with 2 events");
  auto riders = per_item(k, [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      rider_index.add_event("rider:r-e-" + std::to_string(i), 1, {1, 100, i * 100});
    rider_index.commit();
  });
  report("stream_index_rider", riders, "a rider stream with 1 event (availability)");
}

actors::caller admin() { return {msg::role::admin, "a-probe"}; }

template <class T>
void route(const caf::actor& router, cluster::entity_ref to, T x) {
  caf::anon_send(router, cluster::route_atom::value, std::move(to), caf::make_message(std::move(x)));
}

/// One scenario in a fresh world with a real router over the domain's
/// factories: `load(router, k)` makes K entities (measured), then the router
/// stops every activation (measured again: what is freed is what live
/// entities cost; what stays is journal and other entities' bookkeeping).
template <class Load>
void scenario(const char* name, std::size_t k, const char* how, Load load) {
  harness::world w(1, harness::order_policy::fifo);
  auto svc = std::make_shared<actors::domain_services>();
  svc->clock = &w.clock();
  svc->seed = 1;
  svc->payments = actors::make_simulated_provider(svc->cfg, svc->seed);
  cluster::router_config rc;
  rc.activations_max = 100 * k;
  rc.idle_timeout = std::chrono::milliseconds{0};
  auto router = w.spawn_router(actors::make_domain_factories(svc), rc);
  msg::upsert_store up{core::store_id{"s-probe"}, 37.4979, 127.0276, 3000, true};
  route(router, actors::store_ref(core::store_id{"s-probe"}),
        actors::store_upsert_cmd{admin(), up});
  w.run();
  auto before = heap_in_use();
  load(w, router, k);
  auto loaded = heap_in_use();
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  w.run();
  auto stopped = heap_in_use();
  auto per = [k](std::size_t a, std::size_t b) {
    return (static_cast<double>(a) - static_cast<double>(b)) / static_cast<double>(k);
  };
  std::printf("probe: component=%s bytes_per_entity=%.0f freed_on_stop=%.0f how=%s\n", name,
              per(loaded, before), per(loaded, stopped), how);
}

void place_orders(harness::world& w, const caf::actor& router, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    msg::place_order p{core::request_id{"rq-" + std::to_string(i)}, core::store_id{"s-probe"},
                       {msg::item{"sku-" + std::to_string(i % 500), 1, msg::money{1000}},
                        msg::item{"sku-x", 2, msg::money{500}}},
                       msg::money{2000}, msg::lat_lng{37.5029, 127.0306}};
    core::order_id id{order_key(i)};
    route(router, actors::order_ref(id),
          actors::place_order_cmd{{msg::role::customer, "c-probe"}, id, p});
  }
  w.run();
  w.advance(std::chrono::seconds{2}); // payments answer
  w.run();
}

void add_riders(harness::world& w, const caf::actor& router, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto id = "r-e-" + std::to_string(i);
    actors::caller who{msg::role::rider, id};
    auto ref = actors::rider_ref(core::rider_id{id});
    route(router, ref, actors::availability_cmd{who, true});
    msg::position pos{1, 37.45 + 0.2 * double(i % 1000) / 1000,
                      126.85 + 0.3 * double(i / 1000 % 1000) / 1000, w.clock().now_ms(), {}, {}, {}};
    route(router, ref, actors::position_cmd{who, pos});
  }
  w.run();
}

/// Whole entities through a real router and the domain's factories.
void probe_entities(std::size_t k) {
  scenario("order_entity_empty", k,
           "an order activated by a read (not found): router + CAF + behavior + empty state",
           [](harness::world& w, const caf::actor& router, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i)
               route(router, actors::order_ref(core::order_id{order_key(i)}),
                     actors::order_query{admin()});
             w.run();
           });
  scenario("payment_entity_empty", k,
           "a payment entity activated by a ledger read: router + CAF + behavior + empty state",
           [](harness::world& w, const caf::actor& router, std::size_t n) {
             for (std::size_t i = 0; i < n; ++i)
               route(router, actors::payment_ref(core::order_id{order_key(i)}),
                     actors::payment_ledger_query{});
             w.run();
           });
  scenario("order_placed_paid", k,
           "place_order + payment: order and payment entities, timers, region stats, "
           "in-memory journal (freed_on_stop: the two live entities only)",
           place_orders);
  scenario("rider_available_positioned", k,
           "availability + one position: rider entity, region index, in-memory journal; "
           "no location history (its row is below) (freed_on_stop: the live rider and its "
           "region entry)",
           add_riders);
  {
    // The writer's state per rider plus the open segments' chain heads (the
    // points themselves go to the files under a temp dir).
    char dir[] = "/tmp/courier-probe-history-XXXXXX";
    if (::mkdtemp(dir) != nullptr) {
      storage::history_limits limits;
      auto files = storage::history_file_backend::open(dir, limits);
      if (files) {
        storage::history_writer history{std::move(*files), limits};
        const core::time_ms t = 1'767'225'600'000;
        auto history_bytes = per_item(k, [&](std::size_t n) {
          for (std::size_t i = 0; i < n; ++i)
            history.add({"r-e-" + std::to_string(i), 37.5, 127.0, t}, t);
          history.flush(t);
        });
        report("location_history_1_point", history_bytes,
               "the node's location history after one position per rider (writer state + "
               "open segments' chain heads; points on disk)");
      }
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  harness::world w(1, harness::order_policy::fifo);
  auto journal_bytes = per_item(k, [&](std::size_t n) {
    auto& b = w.journal_backend();
    for (std::size_t i = 0; i < n; ++i)
      b.append({"probe:" + order_key(i), 0, {std::string(180, 'x'), std::string(20, 'y')}, 0});
  });
  report("memory_journal_2_events", journal_bytes,
         "the in-memory journal keeps payloads (the file backend keeps them on disk)");
}

void print_sizes() {
  auto line = [](const char* what, std::size_t n) {
    std::printf("probe: sizeof %s = %zu\n", what, n);
  };
  line("caf::stateful_actor<empty>", sizeof(probe_actor));
  line("cluster::entity_context", sizeof(cluster::entity_context));
  line("cluster::entity_ref", sizeof(cluster::entity_ref));
  line("actors::order_state", sizeof(actors::order_state));
  line("actors::order_event", sizeof(actors::order_event));
  line("actors::rider_logic", sizeof(actors::rider_logic));
  line("actors::held_offer", sizeof(actors::held_offer));
  line("storage::stream_entry", sizeof(storage::stream_entry));
  line("std::string", sizeof(std::string));
}

} // namespace

int main(int argc, char** argv) {
  std::size_t k = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20'000;
  if (k == 0)
    return 2;
  print_sizes();
  probe_stream_index(k);
  harness::world w(1, harness::order_policy::fifo);
  probe_caf(w, k);
  probe_router_tables(w, k);
  probe_entities(k);
  return 0;
}
