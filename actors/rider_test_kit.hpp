#pragma once
// Test kit of the rider side (rider, region, dispatch): a harness world
// with those entities, a durable fake order side, and one-line helpers.
// Header-only and used only by actors/*.test.cpp.

#include "actors/dispatch_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/region_actor.hpp"
#include "actors/region_index.hpp"
#include "actors/reminder_actor.hpp"
#include "actors/rider_actor.hpp"
#include "cluster/entity.hpp"
#include "geo/cell.hpp"
#include "tests/harness/harness.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace courier::actors::testkit {

inline constexpr double gangnam_lat = 37.4979;
inline constexpr double gangnam_lng = 127.0276;

/// A point `north_m` / `east_m` from (lat,lng) (flat-earth; fine at 1 km).
inline msg::lat_lng offset_m(double lat, double lng, double north_m, double east_m) {
  constexpr double m_per_deg = 111'195.0;
  return {lat + north_m / m_per_deg,
          lng + east_m / (m_per_deg * std::cos(lat * 3.14159265358979 / 180.0))};
}

/// The region cell string of a point under `cfg`.
inline std::string cell_of(const domain_config& cfg, msg::lat_lng p, int res = -1) {
  auto c = region_cell_of(p.lat, p.lng, cfg.rider_index_res, res < 0 ? cfg.region_res : res);
  REQUIRE(c.ok());
  return geo::cell_to_string(*c);
}

/// A point north of `a` in another region cell than `a`'s.
inline msg::lat_lng point_in_another_cell(const domain_config& cfg, msg::lat_lng a) {
  auto home = cell_of(cfg, a);
  msg::lat_lng b = a;
  for (double m = 100; cell_of(cfg, b) == home; m += 100)
    b = offset_m(a.lat, a.lng, m, 0);
  return b;
}

/// The order side, durable across crashes (it lives outside the world):
/// the first rider assigned to an order keeps it; anyone else is conflict.
struct fake_orders {
  std::map<std::string, std::string> rider_of; ///< order -> rider
  std::map<std::string, std::string> offer_of; ///< order -> offer
  std::set<std::string> cancelled;
  std::map<std::string, int> moved;            ///< order -> rider_moved count
  int assign_calls = 0;
};

inline caf::behavior fake_order(caf::event_based_actor* self, cluster::entity_context ctx,
                                std::shared_ptr<fake_orders> db) {
  return {
    [=](const assign_rider& a) -> caf::result<msg::ok_reply> {
      db->assign_calls += 1;
      auto key = ctx.self.key;
      if (db->cancelled.count(key) > 0)
        return cluster::to_caf_error({core::errc::conflict, "cancelled"});
      auto it = db->rider_of.find(key);
      if (it != db->rider_of.end() && it->second != a.rider_id.str())
        return cluster::to_caf_error({core::errc::conflict, "assigned to another rider"});
      db->rider_of[key] = a.rider_id.str();
      db->offer_of[key] = a.offer_id.str();
      msg::ok_reply ok;
      ok.version = 5;
      return ok;
    },
    [=](const order_cmd&) {
      msg::ok_reply ok;
      ok.version = 6;
      return ok;
    },
    [=](const rider_moved&) { db->moved[ctx.self.key] += 1; },
    cluster::passivation_handler(self, ctx),
  };
}

/// Small, test-friendly tunables.
inline domain_config test_config() {
  domain_config cfg;
  cfg.reminder_shards = 2;
  cfg.dispatch_retry = std::chrono::seconds{10};
  return cfg;
}

/// One world with riders, regions, dispatches and a fake order side.
struct rig {
  harness::world w;
  std::shared_ptr<domain_services> svc;
  std::shared_ptr<fake_orders> orders = std::make_shared<fake_orders>();
  dispatch_timers timers;
  caf::actor router;
  harness::probe p;

  explicit rig(std::uint64_t seed, domain_config cfg = test_config(),
               dispatch_timers t = dispatch_timers::local,
               harness::order_policy policy = harness::order_policy::random)
      : w(seed, policy), svc(std::make_shared<domain_services>()), timers(t) {
    svc->cfg = cfg;
    svc->clock = &w.clock();
    svc->seed = seed;
    router = w.spawn_router(factories());
    p = w.make_probe();
  }

  cluster::entity_factories factories() {
    std::shared_ptr<const domain_services> s = svc;
    auto db = orders;
    auto t = timers;
    cluster::entity_factories f;
    f[kind::rider] = [s](caf::actor_system& sys, const cluster::entity_context& c) {
      return spawn_rider_actor(sys, c, s);
    };
    f[kind::region] = [s](caf::actor_system& sys, const cluster::entity_context& c) {
      return spawn_region_actor(sys, c, s);
    };
    f[kind::dispatch] = [s, t](caf::actor_system& sys, const cluster::entity_context& c) {
      return spawn_dispatch_actor(sys, c, s, t);
    };
    f[kind::order] = [db](caf::actor_system& sys, const cluster::entity_context& c) {
      return sys.spawn(fake_order, c, db);
    };
    if (t == dispatch_timers::durable)
      f[kind::reminder] = [s](caf::actor_system& sys, const cluster::entity_context& c) {
        return spawn_reminder_actor(sys, c, s);
      };
    return f;
  }

  /// After w.crash(): a fresh router; reminder shards woken as a node start does.
  void restart() {
    router = w.spawn_router(factories());
    if (timers == dispatch_timers::durable)
      for (std::uint32_t s = 0; s < svc->cfg.reminder_shards; ++s)
        send(cluster::entity_ref{kind::reminder, std::to_string(s)}, reminder_wake{});
    w.run();
    p.clear();
  }

  template <class T>
  void send(cluster::entity_ref to, T x) {
    caf::send_as(p.handle, router, cluster::route_atom::value, std::move(to),
                 caf::make_message(std::move(x)));
  }

  /// Sends and runs until quiet; the reply (or error) is returned as a message.
  template <class T>
  caf::message ask(cluster::entity_ref to, T x) {
    p.clear();
    send(std::move(to), std::move(x));
    w.run();
    auto m = p.next_any();
    REQUIRE(m.has_value());
    return *m;
  }

  template <class R, class T>
  R ask_as(cluster::entity_ref to, T x) {
    auto m = ask(std::move(to), std::move(x));
    bool matches = m.template match_elements<R>();
    REQUIRE_MESSAGE(matches, "unexpected reply: " << caf::to_string(m));
    return m.template get_as<R>(0);
  }

  static caller rider_caller(const std::string& id) { return caller{msg::role::rider, id}; }
  static caller admin() { return caller{msg::role::admin, "ops"}; }

  msg::ack position(const std::string& rider, std::uint64_t seq, msg::lat_lng at) {
    msg::position pos;
    pos.seq = seq;
    pos.lat = at.lat;
    pos.lng = at.lng;
    pos.time_ms = w.clock().now_ms();
    return ask_as<msg::ack>(rider_ref(core::rider_id{rider}),
                            position_cmd{rider_caller(rider), pos});
  }

  void available(const std::string& rider, bool yes) {
    ask_as<msg::ok_reply>(rider_ref(core::rider_id{rider}),
                          availability_cmd{rider_caller(rider), yes});
  }

  /// Errors come back as caf::error; ok as msg::ok_reply.
  caf::message answer(const std::string& rider, const std::string& offer, bool accept) {
    return ask(rider_ref(core::rider_id{rider}),
               offer_answer_cmd{rider_caller(rider), core::offer_id{offer}, accept});
  }

  rider_view view(const std::string& rider) {
    return ask_as<rider_view>(rider_ref(core::rider_id{rider}), rider_view_query{});
  }

  dispatch_view dispatch(const std::string& order) {
    return ask_as<dispatch_view>(dispatch_ref(core::order_id{order}), dispatch_view_query{});
  }

  msg::region_stats stats(const std::string& cell) {
    return ask_as<msg::region_stats>(region_ref(cell), region_stats_query{});
  }

  /// Kills the live activation of `to` (activating it first) without a
  /// passivation, while every other entity lives on: what a rider sees when
  /// its node dies and its region's node does not. `query` is any request
  /// the entity answers with an `R`; the reply's sender is the activation.
  template <class R, class T>
  void kill_activation(cluster::entity_ref to, T query) {
    auto found = std::make_shared<caf::strong_actor_ptr>();
    auto rt = router;
    // The int is unused: CAF 0.17 dereferences an empty argument tuple for
    // argument-less function actors (UBSan reports it).
    w.sys().spawn([=](caf::event_based_actor* self, int) -> caf::behavior {
      self->request(rt, caf::infinite, cluster::route_atom::value, to,
                    caf::make_message(std::move(query)))
          .then([=](R&) {
            *found = self->current_sender();
            self->quit();
          });
      return {[](caf::unit_t) {}};
    }, 0);
    w.run();
    REQUIRE(*found != nullptr);
    caf::anon_send_exit(caf::actor_cast<caf::actor>(*found), caf::exit_reason::kill);
    w.run();
  }

  /// The router's counters.
  cluster::router_stats router_stats() {
    auto s = w.router_stats(p, router);
    REQUIRE(s.has_value());
    return *s;
  }

  void start(const std::string& order, msg::lat_lng store, double radius_m = 3000.0) {
    dispatch_start s{core::order_id{order}, core::store_id{"s-1"}, store,
                     offset_m(store.lat, store.lng, 500, 500), radius_m};
    ask_as<msg::ok_reply>(dispatch_ref(core::order_id{order}), s);
  }
};

/// The error code of a reply message, or none if it was not an error.
inline core::errc code_of(const caf::message& m) {
  if (!m.match_elements<caf::error>())
    return core::errc::none;
  return cluster::from_caf_error(m.get_as<caf::error>(0)).code;
}

} // namespace courier::actors::testkit
