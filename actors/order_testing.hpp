#pragma once
// Test kit for the order-side entities: a harness world with the domain's
// factories, fake dispatch/rider/region entities that record what they get,
// and helpers that send commands as a probe and take the reply.

#include "actors/domain.hpp"
#include "actors/order_actor.hpp"
#include "actors/payment_actor.hpp"
#include "actors/payment_provider.hpp"
#include "actors/protocol.hpp"
#include "actors/reminder_actor.hpp"
#include "cluster/entity.hpp"
#include "tests/harness/harness.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::actors::testing {

/// What the fake entities received: (entity, message).
struct fake_log {
  std::vector<std::pair<cluster::entity_ref, caf::message>> got;
  std::int64_t region_cap_m = none_i64;
  /// The next this many reminder_fired are recorded but answered with an
  /// error, as a target that never got them would (the reminder tries again).
  int reminders_unanswered = 0;

  /// Messages of type T that `ref` received.
  template <class T>
  std::vector<T> of(const cluster::entity_ref& ref) const {
    std::vector<T> out;
    for (auto& [to, m] : got)
      if (to == ref && m.template match_elements<T>())
        out.push_back(m.template get_as<T>(0));
    return out;
  }
};

/// A fake entity: records everything and answers requests with nothing
/// (as a void handler does), except region_radius_query.
inline cluster::entity_factory fake_factory(std::shared_ptr<fake_log> log) {
  return [log](caf::actor_system& sys, const cluster::entity_context& ctx) {
    return sys.spawn([log](caf::event_based_actor* self,
                           cluster::entity_context me) -> caf::behavior {
      self->set_default_handler(
          [log, me](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
            auto m = x.move_content_to_message();
            log->got.emplace_back(me.self, m);
            if (m.match_elements<region_radius_query>())
              return caf::make_message(region_radius{log->region_cap_m});
            if (m.match_elements<reminder_fired>() && log->reminders_unanswered > 0) {
              --log->reminders_unanswered;
              return caf::make_message(caf::make_error(caf::sec::request_timeout));
            }
            return caf::message{};
          });
      return {cluster::passivation_handler(self, me)};
    }, ctx);
  };
}

inline const msg::lat_lng gangnam{37.4979, 127.0276};
/// ~550 m north-east of gangnam.
inline const msg::lat_lng nearby_dropoff{37.5020, 127.0310};

/// A harness world running the order side with fake neighbours.
struct domain_world {
  harness::world w;
  std::shared_ptr<domain_services> svc = std::make_shared<domain_services>();
  std::shared_ptr<fake_log> log = std::make_shared<fake_log>();
  caf::actor router;
  harness::probe p;
  cluster::router_config router_cfg;

  explicit domain_world(std::uint64_t seed, domain_config cfg = {},
                        harness::order_policy policy = harness::order_policy::random,
                        cluster::router_config rcfg = {})
      : w(seed, policy), router_cfg(std::move(rcfg)) {
    svc->cfg = cfg;
    svc->clock = &w.clock();
    svc->seed = seed;
    svc->payments = make_simulated_provider(cfg, seed);
    start();
    p = w.make_probe();
  }

  /// Spawns (or re-spawns after crash()) the router with the factories.
  void start() {
    auto f = make_domain_factories(svc);
    for (auto k : {kind::dispatch, kind::rider, kind::region})
      f[k] = fake_factory(log);
    router = w.spawn_router(f, router_cfg);
  }

  /// The router's statistics (live entities by kind, passivations).
  cluster::router_stats router_stats() {
    auto s = w.router_stats(p, router);
    REQUIRE(s.has_value());
    return *s;
  }

  std::size_t live(const std::string& kind) {
    auto s = router_stats();
    auto it = s.live_by_kind.find(kind);
    return it == s.live_by_kind.end() ? 0 : it->second;
  }

  /// Crash the node, restart it and wake every reminder shard.
  void crash_and_restart() {
    w.crash();
    restart();
  }

  /// After w.crash(): what a node does at start (router, reminder_wake).
  void restart() {
    start();
    for (std::uint32_t s = 0; s < svc->cfg.reminder_shards; ++s)
      cluster::tell_from_outside(router, {kind::reminder, std::to_string(s)},
                                 reminder_wake{});
    w.run();
  }

  template <class... Ts>
  void send(const harness::probe& from, cluster::entity_ref to, Ts... xs) {
    caf::send_as(from.handle, router, cluster::route_atom::value, std::move(to),
                 caf::make_message(std::move(xs)...));
  }

  /// Sends as the probe, runs, and returns the one reply (or nullopt).
  template <class... Ts>
  caf::message ask(cluster::entity_ref to, Ts... xs) {
    p.clear();
    send(p, std::move(to), std::move(xs)...);
    w.run();
    auto m = p.next_any();
    REQUIRE_MESSAGE(m.has_value(), "no reply");
    return *m;
  }

  /// The protocol error code of a reply (none if it is not an error).
  static core::errc code_of(const caf::message& m) {
    if (!m.match_elements<caf::error>())
      return core::errc::none;
    return cluster::from_caf_error(m.get_as<caf::error>(0)).code;
  }

  caf::message upsert_store(const std::string& id, msg::lat_lng at, double radius_m,
                            bool open = true) {
    msg::upsert_store b;
    b.store_id = core::store_id{id};
    b.lat = at.lat;
    b.lng = at.lng;
    b.radius_m = static_cast<decltype(b.radius_m)>(radius_m);
    b.open = open;
    return ask(store_ref(core::store_id{id}), store_upsert_cmd{{msg::role::admin, "a-1"}, b});
  }

  static msg::place_order order_body(const std::string& request, const std::string& store,
                                     msg::lat_lng dropoff = nearby_dropoff) {
    msg::place_order b;
    b.request_id = core::request_id{request};
    b.store_id = core::store_id{store};
    b.items = {{"kimbap", 2, msg::money{450}}, {"ramyeon", 1, msg::money{600}}};
    b.total = msg::money{1500};
    b.dropoff = dropoff;
    return b;
  }

  caf::message place(const std::string& customer, const std::string& request,
                     const std::string& store, msg::lat_lng dropoff = nearby_dropoff) {
    auto id = order_id_for(core::customer_id{customer}, core::request_id{request});
    return ask(order_ref(id), place_order_cmd{{msg::role::customer, customer}, id,
                                              order_body(request, store, dropoff)});
  }

  caf::message act(const core::order_id& id, msg::role role, const std::string& who,
                   order_action a) {
    order_cmd c;
    c.who = {role, who};
    c.action = a;
    return ask(order_ref(id), c);
  }

  order_view view(const core::order_id& id) {
    auto m = ask(order_ref(id), order_query{{msg::role::admin, "a-1"}});
    REQUIRE(m.match_elements<order_view>());
    return m.get_as<order_view>(0);
  }

  payment_ledger ledger(const core::order_id& id) {
    auto m = ask(payment_ref(id), payment_ledger_query{});
    REQUIRE(m.match_elements<payment_ledger>());
    return m.get_as<payment_ledger>(0);
  }

  /// Subscribes `gw` to the order as `who`; returns the reply.
  caf::message subscribe(const core::order_id& id, const harness::probe& gw,
                         caller who) {
    return ask(order_ref(id), subscribe_cmd{std::move(who), gw.handle});
  }
};

/// The statuses (with versions) of order_status pushes a gateway probe got,
/// in arrival order; other pushes are skipped.
inline std::vector<msg::order_status_msg> status_pushes(harness::probe& gw) {
  std::vector<msg::order_status_msg> out;
  while (auto m = gw.next_any()) {
    if (m->match_elements<push_atom, std::string, msg::order_status_msg>())
      out.push_back(m->get_as<msg::order_status_msg>(2));
  }
  return out;
}

/// Counts finished ops of `op` with `outcome` in a ledger.
inline int count_ops(const payment_ledger& l, payment_op op, payment_outcome outcome) {
  int n = 0;
  for (auto& r : l.ops)
    n += r.op == op && r.finished && r.outcome == outcome;
  return n;
}

} // namespace courier::actors::testing
