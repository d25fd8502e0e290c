#include "actors/region_actor.hpp"

#include "actors/dispatch_actor.hpp"
#include "actors/history_actor.hpp"
#include "actors/journal_events.hpp"
#include "actors/radius_policy.hpp"
#include "actors/rider_actor.hpp"
#include "actors/order_state.hpp"
#include "actors/region_index.hpp"
#include "cluster/entity.hpp"
#include "core/assert.hpp"
#include "geo/cell.hpp"
#include "geo/hierarchy.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace courier::actors {

namespace {

using r_tick_atom = caf::atom_constant<caf::atom("r.tick")>;
using r_prune_atom = caf::atom_constant<caf::atom("r.prune")>;
using r_load_atom = caf::atom_constant<caf::atom("r.load")>;

constexpr std::chrono::seconds region_ask_timeout{5};

struct region_actor_state {
  cluster::entity_context ctx;
  std::shared_ptr<const domain_services> svc;
  bool valid = false; ///< the key is a valid H3 cell
  geo::cell cell;
  int res = -1;
  storage::version_t version = 0;
  region_index index{region_riders_max};
  order_stats orders{region_orders_max};
  radius_policy radius;
  bool split = false;
  /// Below the root: the parent is split (region_actor.hpp, "in the tree").
  bool in_tree = false;
  split_children kids;
  std::vector<caf::actor> subscribers;
  bool tick_armed = false;
  bool prune_armed = false;
  bool load_armed = false;
  /// The counts last sent to the parent (region_load), to skip repeats.
  std::pair<std::uint32_t, std::uint32_t> load_sent{0, 0};
  msg::region_stats last_pushed;
  std::uint64_t dropped = 0;    ///< updates refused (full, foreign position, hops)
  std::uint64_t pruned = 0;     ///< riders dropped after cfg.region_rider_silence
  std::uint64_t rider_msgs = 0; ///< rider updates and leaves handled
  std::uint64_t stale = 0;      ///< forwarded rider messages older than what is held
  bool map_dirty = false;       ///< a rider or an order moved since the last push
  static inline const char* name = "courier.region";
};

using region_actor = caf::stateful_actor<region_actor_state>;

caf::error fail(core::errc code, std::string text) {
  return cluster::to_caf_error(core::make_error(code, std::move(text)));
}

const domain_config& cfg_of(region_actor* self) { return self->state.svc->cfg; }

core::time_ms now_ms(region_actor* self) { return self->state.svc->clock->now_ms(); }

rider_mode mode_of(rider_state s) {
  return s == rider_state::available ? rider_mode::available : rider_mode::busy;
}

region_rider_update to_update(const indexed_rider& r) {
  region_rider_update u{core::rider_id{r.rider_id}, r.lat, r.lng, r.at_ms,
                        r.mode == rider_mode::available ? rider_state::available
                                                        : rider_state::busy};
  u.seq = r.seq;
  return u;
}

template <class Done>
void journal(region_actor* self, const region_event& event, Done done) {
  cluster::persist(self, self->state.ctx, self->state.version, {encode(event)},
                   [=](core::result<storage::version_t> r) mutable {
                     if (r)
                       self->state.version = *r;
                     done(r.ok());
                   });
}

// -- where a cell stands in its tree ------------------------------------------------

/// A cell below the root that a split can make (it has a parent region).
bool nested(region_actor* self) {
  auto& st = self->state;
  return st.valid && st.res > cfg_of(self).region_res &&
         st.res <= cfg_of(self).region_split_max_res;
}

/// Indexes riders and counts orders: a root, or an in-tree cell, not split.
/// (A cell outside the split range is a plain cell, as before splits.)
bool owner(region_actor* self) {
  auto& st = self->state;
  return st.valid && !st.split && (!nested(self) || st.in_tree);
}

std::string parent_key(region_actor* self) {
  auto p = geo::cell_to_parent(self->state.cell, self->state.res - 1);
  COURIER_ASSERT(p.ok());
  return geo::cell_to_string(*p);
}

/// The child of this cell containing (lat,lng), "" if outside this cell.
std::string child_of(region_actor* self, double lat, double lng) {
  auto& st = self->state;
  auto c = region_cell_of(lat, lng, cfg_of(self).rider_index_res, st.res + 1);
  if (!c)
    return {};
  auto parent = geo::cell_to_parent(*c, st.res);
  if (!parent || *parent != st.cell)
    return {}; // a position outside this cell: not ours to place
  return geo::cell_to_string(*c);
}

/// Whether (lat,lng) is in this cell (by the same derivation as child_of).
bool contains(region_actor* self, double lat, double lng) {
  auto c = region_cell_of(lat, lng, cfg_of(self).rider_index_res, self->state.res);
  return c.ok() && *c == self->state.cell;
}

bool placed(const region_order_delta& d) { return d.store_lat != 0.0 || d.store_lng != 0.0; }

// -- stats ------------------------------------------------------------------------

/// Of the riders and orders one cell holds, how many one region_stats
/// message carries: ~80 bytes per rider and ~100 per order in JSON keep a
/// message inside one 64 KiB frame (the hot spot holds 1,000 riders);
/// beyond, `truncated` says the lists are cut.
constexpr std::size_t map_riders_per_message_max = 250;
constexpr std::size_t map_orders_per_message_max = 250;
/// Split cells one region_stats lists: a res-7 cell split down to res 9 has
/// at most 49 leaves.
constexpr std::size_t map_split_cells_max = 64;

/// This cell's own part of its stats (all of it unless split).
msg::region_stats own_stats(region_actor* self) {
  auto& st = self->state;
  msg::region_stats s;
  for (auto& r : st.index.some(map_riders_per_message_max))
    s.riders.push_back(msg::map_rider{core::rider_id{r.rider_id}, r.lat, r.lng,
                                      r.mode == rider_mode::available ? "available" : "busy"});
  for (auto& o : st.orders.some(map_orders_per_message_max))
    s.orders.push_back(msg::map_order{core::order_id{o.order_id}, o.status,
                                      o.place.dropoff_lat, o.place.dropoff_lng});
  s.truncated = st.index.size() > s.riders.size() || st.orders.active() > s.orders.size();
  s.cell = st.ctx.self.key;
  s.riders_available = st.index.available();
  s.riders_busy = st.index.busy();
  s.orders_by_status = st.orders.by_status();
  s.at_ms = now_ms(self);
  return s;
}

/// Adds a child's stats to `into` (counts summed, lists bounded).
void add_stats(msg::region_stats& into, const msg::region_stats& child) {
  into.riders_available += child.riders_available;
  into.riders_busy += child.riders_busy;
  for (auto& [k, v] : child.orders_by_status)
    into.orders_by_status[k] += v;
  into.truncated |= child.truncated;
  // The live map draws a split cell's deepest cells: a child that lists
  // none is one of them, a split child passes its own on.
  if (child.split_cells.empty()) {
    if (into.split_cells.size() < map_split_cells_max)
      into.split_cells.push_back(
          msg::map_cell{child.cell, child.riders_available, child.riders_busy});
  } else {
    for (auto& c : child.split_cells)
      if (into.split_cells.size() < map_split_cells_max)
        into.split_cells.push_back(c);
  }
  for (auto& r : child.riders) {
    if (into.riders.size() == map_riders_per_message_max) {
      into.truncated = true;
      break;
    }
    into.riders.push_back(r);
  }
  for (auto& o : child.orders) {
    if (into.orders.size() == map_orders_per_message_max) {
      into.truncated = true;
      break;
    }
    into.orders.push_back(o);
  }
}

/// The stats of this cell's whole subtree, then `done(stats)`: its own,
/// plus (split) every child's, asked (recursively); a child that does not
/// answer adds nothing.
template <class Done>
void gather_stats(region_actor* self, Done done) {
  auto& st = self->state;
  auto got = std::make_shared<msg::region_stats>(own_stats(self));
  if (!st.split) {
    done(*got);
    return;
  }
  auto kids = st.kids.children();
  auto pending = std::make_shared<std::size_t>(kids.size());
  // Children answer in any order; the split cells go out in one order, so
  // an unchanged split is not news.
  auto finish = [got](Done& d) {
    std::sort(got->split_cells.begin(), got->split_cells.end(),
              [](const msg::map_cell& a, const msg::map_cell& b) { return a.cell < b.cell; });
    d(*got);
  };
  for (auto& child : kids)
    cluster::ask(self, st.ctx.router, region_ask_timeout, region_ref(child),
                 region_stats_query{})
        .then(
            [=](msg::region_stats& s) mutable {
              add_stats(*got, s);
              if (--*pending == 0)
                finish(done);
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                finish(done);
            });
}

bool same_counts(const msg::region_stats& a, const msg::region_stats& b) {
  return a.riders_available == b.riders_available && a.riders_busy == b.riders_busy &&
         a.orders_by_status == b.orders_by_status;
}

bool same_map(const msg::region_stats& a, const msg::region_stats& b) {
  if (a.riders.size() != b.riders.size() || a.orders.size() != b.orders.size() ||
      a.split_cells.size() != b.split_cells.size())
    return false;
  for (std::size_t i = 0; i < a.split_cells.size(); ++i)
    if (a.split_cells[i].cell != b.split_cells[i].cell ||
        a.split_cells[i].riders_available != b.split_cells[i].riders_available ||
        a.split_cells[i].riders_busy != b.split_cells[i].riders_busy)
      return false;
  for (std::size_t i = 0; i < a.riders.size(); ++i)
    if (a.riders[i].rider_id != b.riders[i].rider_id || a.riders[i].lat != b.riders[i].lat ||
        a.riders[i].lng != b.riders[i].lng || a.riders[i].state != b.riders[i].state)
      return false;
  for (std::size_t i = 0; i < a.orders.size(); ++i)
    if (a.orders[i].order_id != b.orders[i].order_id || a.orders[i].status != b.orders[i].status)
      return false;
  return true;
}

/// Sends `atom` to itself after `delay` unless one is on its way (`armed`;
/// its handler clears it): one timer per purpose, however many triggers.
template <class Atom>
void arm_once(region_actor* self, bool& armed, std::chrono::milliseconds delay, Atom atom) {
  if (armed)
    return;
  armed = true;
  self->delayed_send(self, delay, atom);
}

/// Something changed: push at the next tick (at most one per interval).
void stats_changed(region_actor* self) {
  auto& st = self->state;
  if (!st.subscribers.empty())
    arm_once(self, st.tick_armed, cfg_of(self).region_stats_interval, r_tick_atom::value);
}

/// A split cell's subtree changes without it hearing of each change: while
/// it has subscribers it looks at its children every interval.
void on_tick(region_actor* self) {
  auto& st = self->state;
  st.tick_armed = false;
  if (st.split)
    stats_changed(self);
  gather_stats(self, [=](const msg::region_stats& s) {
    auto& cur = self->state;
    bool moved = cur.split ? !same_map(s, cur.last_pushed) : cur.map_dirty;
    if (same_counts(s, cur.last_pushed) && !moved)
      return;
    cur.map_dirty = false;
    cur.last_pushed = s;
    auto topic = "region:" + cur.ctx.self.key;
    for (auto& gw : cur.subscribers)
      self->send(gw, push_atom::value, topic, s);
  });
}

// -- loads (child -> parent) ----------------------------------------------------------

std::pair<std::uint32_t, std::uint32_t> subtree_load(region_actor* self) {
  auto& st = self->state;
  if (st.split)
    return {st.kids.available(), st.kids.busy()};
  return {st.index.available(), st.index.busy()};
}

void send_load(region_actor* self) {
  auto& st = self->state;
  auto load = subtree_load(self);
  st.load_sent = load;
  cluster::tell(self, st.ctx.router, region_ref(parent_key(self)),
                region_load{st.ctx.self.key, load.first, load.second});
}

/// The subtree's counts may have changed: an in-tree cell tells its parent
/// at the next load tick (at most one report per cfg.region_load_interval).
void load_changed(region_actor* self) {
  auto& st = self->state;
  if (nested(self) && st.in_tree)
    arm_once(self, st.load_armed, cfg_of(self).region_load_interval, r_load_atom::value);
}

void on_load_tick(region_actor* self) {
  auto& st = self->state;
  st.load_armed = false;
  if (nested(self) && st.in_tree && subtree_load(self) != st.load_sent)
    send_load(self);
}

// -- riders -------------------------------------------------------------------------

/// Passes a rider message on: down to `to` (a child) or up to the parent.
template <class Msg>
void pass_on(region_actor* self, Msg m, const std::string& to, region_via via) {
  auto& st = self->state;
  if (m.hops >= region_forward_hops_max) {
    st.dropped += 1;
    return;
  }
  m.hops += 1;
  m.via = via;
  cluster::tell(self, st.ctx.router, region_ref(to), std::move(m));
}

void pass_up(region_actor* self, region_rider_update u) {
  if (u.reported_to.empty())
    u.reported_to = self->state.ctx.self.key;
  pass_on(self, std::move(u), parent_key(self), region_via::child);
}

/// Tells a rider which cell to report to from now on (region_actor.hpp, I3).
void route_rider(region_actor* self, const std::string& rider, std::uint64_t seq) {
  auto& st = self->state;
  cluster::tell(self, st.ctx.router, rider_ref(core::rider_id{rider}),
                region_route{st.ctx.self.key, seq});
}

void arm_prune(region_actor* self) {
  arm_once(self, self->state.prune_armed, cfg_of(self).region_prune_interval,
           r_prune_atom::value);
}

/// A message from the parent (handed or forwarded down): the parent is
/// split, so this cell is in the tree.
void parent_speaks(region_actor* self, region_via via) {
  if (via == region_via::parent && nested(self))
    self->state.in_tree = true;
}

void split_now(region_actor* self);

bool may_split(region_actor* self) {
  auto& st = self->state;
  return owner(self) && st.res < cfg_of(self).region_split_max_res &&
         st.res < geo::res_max &&
         split_children::should_split(st.index.size(), cfg_of(self).region_split_riders);
}

/// The owner takes an update it found newer (I4).
void own_update(region_actor* self, const region_rider_update& u, arrival how,
                core::time_ms heard) {
  auto& st = self->state;
  auto id = u.rider_id.str();
  if (u.state == rider_state::offline) {
    // Offline is a leave as of the seq after this one: a late forward of
    // this seq's "available" must not bring the rider back.
    if (st.index.leave(id, u.seq + 1, arrival::direct, now_ms(self))) {
      st.map_dirty = true;
      load_changed(self);
      stats_changed(self);
    }
    return;
  }
  auto out = st.index.upsert(
      indexed_rider{id, u.lat, u.lng, u.at_ms, mode_of(u.state), heard, u.seq, how});
  if (out == region_index::upsert_outcome::full) {
    st.dropped += 1;
    return;
  }
  COURIER_ASSERT(st.index.find(id)->seq == u.seq);
  if (!u.reported_to.empty() && u.reported_to != st.ctx.self.key)
    route_rider(self, id, u.seq); // it addressed another cell: come here
  st.map_dirty = true;
  load_changed(self);
  arm_prune(self);
  stats_changed(self);
}

void on_update(region_actor* self, const region_rider_update& u) {
  auto& st = self->state;
  if (!st.valid)
    return;
  st.rider_msgs += 1;
  parent_speaks(self, u.via);
  bool direct = u.via == region_via::rider &&
                (u.reported_to.empty() || u.reported_to == st.ctx.self.key);
  auto how = direct ? arrival::direct : arrival::forwarded;
  if (st.split) {
    auto child = child_of(self, u.lat, u.lng);
    if (!child.empty()) {
      auto down = u;
      if (down.reported_to.empty())
        down.reported_to = st.ctx.self.key;
      pass_on(self, std::move(down), child, region_via::parent);
    } else if (nested(self)) {
      pass_up(self, u);
    } else {
      st.dropped += 1;
    }
    return;
  }
  // Not in the tree, or a position outside this cell: the parent places it.
  if (nested(self) && (!st.in_tree || !contains(self, u.lat, u.lng))) {
    auto* held = st.index.find(u.rider_id.str());
    if (held != nullptr && held->seq <= u.seq) {
      st.index.remove(u.rider_id.str()); // it moved out of this cell
      st.map_dirty = true;
      load_changed(self);
    }
    pass_up(self, u);
    return;
  }
  if (!st.index.is_newer(u.rider_id.str(), u.seq, how, now_ms(self))) {
    st.stale += 1;
    return;
  }
  own_update(self, u, how, now_ms(self));
  if (may_split(self))
    split_now(self);
}

void on_leave(region_actor* self, const region_rider_leave& l) {
  auto& st = self->state;
  if (!st.valid)
    return;
  st.rider_msgs += 1;
  parent_speaks(self, l.via);
  if (st.split) {
    // The position routes a leave, but after a rider's crash it may be an
    // older one than where the rider was last seen: every child is told
    // (a leave is rare next to updates; 7 per level).
    for (auto& child : st.kids.children())
      pass_on(self, l, child, region_via::parent);
    return;
  }
  if (nested(self) && !st.in_tree) {
    pass_on(self, l, parent_key(self), region_via::child);
    return;
  }
  auto how = l.via == region_via::rider ? arrival::direct : arrival::forwarded;
  if (st.index.leave(l.rider_id.str(), l.seq, how, now_ms(self))) {
    COURIER_ASSERT(!st.index.contains(l.rider_id.str()));
    st.map_dirty = true;
    load_changed(self);
    stats_changed(self);
  }
}

/// Drops riders not heard from for cfg.region_rider_silence: a rider whose
/// app died (or lost its connection for good) never sends offline or a
/// leave. At most region_prune_scan_max riders are looked at per tick; the
/// timer runs only while the cell holds riders (only owners hold any).
void on_prune(region_actor* self) {
  auto& st = self->state;
  st.prune_armed = false;
  auto before = now_ms(self) - cfg_of(self).region_rider_silence.count();
  auto gone = st.index.prune_silent(before, region_prune_scan_max).size();
  st.pruned += gone;
  if (gone > 0) {
    st.map_dirty = true;
    load_changed(self);
    stats_changed(self);
  }
  if (st.index.size() > 0)
    arm_prune(self);
}

// -- orders -------------------------------------------------------------------------

void on_order_delta(region_actor* self, const region_order_delta& d) {
  auto& st = self->state;
  if (!st.valid)
    return;
  parent_speaks(self, d.via);
  if (st.split && placed(d)) {
    auto child = child_of(self, d.store_lat, d.store_lng);
    if (!child.empty()) {
      auto down = d;
      down.via = region_via::parent;
      cluster::tell(self, st.ctx.router, region_ref(child), std::move(down));
      return;
    }
  }
  if (nested(self) && !st.in_tree) {
    // Deltas go to the root; one here came from an old sender.
    auto up = d;
    up.via = region_via::child;
    cluster::tell(self, st.ctx.router, region_ref(parent_key(self)), std::move(up));
    return;
  }
  // An owner, or a split cell keeping an order it cannot place (I1).
  order_place where{d.store_lat, d.store_lng, d.lat, d.lng};
  if (st.orders.apply(d.order_id.str(), d.to, d.is_new, d.from, where)) {
    st.map_dirty = true;
    stats_changed(self);
  }
}

// -- split and merge ----------------------------------------------------------------

handed_order to_handed(const active_order& o) {
  return handed_order{core::order_id{o.order_id}, o.status,      o.place.store_lat,
                      o.place.store_lng,          o.place.dropoff_lat, o.place.dropoff_lng};
}

/// Takes what another cell handed over: riders (telling each to report
/// here) and orders.
void take_cargo(region_actor* self, const region_handover& cargo) {
  auto& st = self->state;
  auto now = now_ms(self);
  for (auto& h : cargo.riders) {
    auto& u = h.rider;
    auto id = u.rider_id.str();
    if (!st.index.is_newer(id, u.seq, arrival::forwarded, now)) {
      st.stale += 1;
      continue;
    }
    auto out = st.index.upsert(indexed_rider{id, u.lat, u.lng, u.at_ms, mode_of(u.state),
                                             h.heard_ms, u.seq, arrival::forwarded});
    if (out == region_index::upsert_outcome::full) {
      st.dropped += 1;
      continue;
    }
    route_rider(self, id, u.seq);
  }
  for (auto& o : cargo.orders)
    st.orders.apply(o.order_id.str(), o.status, true, o.status,
                    order_place{o.store_lat, o.store_lng, o.dropoff_lat, o.dropoff_lng});
  for (auto& f : cargo.finished)
    st.orders.add_finished(f.status, f.count);
  if (st.index.size() > 0)
    arm_prune(self);
  st.map_dirty = true;
  load_changed(self);
  stats_changed(self);
}

/// Everything this cell holds, for a parent merging it.
region_handover own_cargo(region_actor* self) {
  auto& st = self->state;
  region_handover out;
  for (auto& r : st.index.all())
    out.riders.push_back(handed_rider{to_update(r), r.heard_ms});
  for (auto& o : st.orders.active_orders())
    out.orders.push_back(to_handed(o));
  for (auto& [status, n] : st.orders.finished())
    out.finished.push_back(handed_count{status, n});
  return out;
}

void split_now(region_actor* self) {
  journal(self, region_event{region_event::kind::split, {}, 0}, [=](bool ok) {
    if (!ok)
      return; // stays whole; the next update tries again
    auto& st = self->state;
    if (st.split || !owner(self))
      return; // drained or split meanwhile (journal awaits, but be sure)
    auto children = geo::cell_to_children(st.cell, st.res + 1);
    COURIER_ASSERT(children.ok());
    std::map<std::string, region_handover> cargo;
    std::vector<std::string> keys;
    for (auto c : *children) {
      keys.push_back(geo::cell_to_string(c));
      cargo[keys.back()];
    }
    st.split = true;
    st.kids.start(keys);
    auto riders = st.index.all();
    st.index.clear();
    for (auto& r : riders) {
      auto child = child_of(self, r.lat, r.lng);
      if (child.empty()) {
        st.dropped += 1; // cannot be (owners hold only their positions)
        continue;
      }
      auto u = to_update(r);
      cargo[child].riders.push_back(handed_rider{u, r.heard_ms});
    }
    for (auto& o : st.orders.active_orders()) {
      if (o.place.store_lat == 0.0 && o.place.store_lng == 0.0)
        continue; // stays here (I1)
      auto child = child_of(self, o.place.store_lat, o.place.store_lng);
      if (child.empty())
        continue;
      st.orders.remove(o.order_id);
      cargo[child].orders.push_back(to_handed(o));
    }
    for (auto& [child, c] : cargo) {
      std::uint32_t available = 0;
      for (auto& h : c.riders)
        available += h.rider.state == rider_state::available ? 1 : 0;
      st.kids.set_load(child, available, static_cast<std::uint32_t>(c.riders.size()) - available,
                       false);
      cluster::tell(self, st.ctx.router, region_ref(child), region_adopt{std::move(c)});
    }
    COURIER_ASSERT(st.index.size() == 0);
    COURIER_ASSERT(st.kids.riders() + st.dropped >= riders.size());
    load_changed(self); // a split child: its subtree count is now its children's
    stats_changed(self);
  });
}

void on_adopt(region_actor* self, const region_adopt& a) {
  auto& st = self->state;
  if (!st.valid || !nested(self))
    return;
  st.in_tree = true;
  st.split = false; // a stale split (journal) is replaced by the parent's word
  st.kids.clear();
  st.index.clear();
  st.orders.clear();
  take_cargo(self, a.cargo);
  // The parent merges only once every child reported: report even "none".
  st.load_sent = {~0U, ~0U};
  load_changed(self);
  if (may_split(self))
    split_now(self);
}

/// Asks every child for its riders and orders, blocking other messages
/// until all have answered; then `done(cargo)`. A child that does not
/// answer hands nothing (its riders come back with their next updates).
template <class Done>
void collect_children(region_actor* self, bool drain, Done done) {
  auto& st = self->state;
  auto kids = st.kids.children();
  auto pending = std::make_shared<std::size_t>(kids.size());
  auto got = std::make_shared<region_handover>();
  if (*pending == 0) {
    done(*got);
    return;
  }
  for (auto& child : kids) {
    cluster::ask(self, st.ctx.router, region_ask_timeout, region_ref(child),
                 region_handover_req{drain})
        .await(
            [=](region_handover& h) mutable {
              auto& g = *got;
              g.riders.insert(g.riders.end(), h.riders.begin(), h.riders.end());
              g.orders.insert(g.orders.end(), h.orders.begin(), h.orders.end());
              g.finished.insert(g.finished.end(), h.finished.begin(), h.finished.end());
              if (--*pending == 0)
                done(g);
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                done(*got);
            });
  }
}

/// Drains the children (recursively) and owns their riders and orders.
/// `done()` once whole again (or if the journal failed: then the cell
/// stays split and the drained riders come back with their next updates).
template <class Done>
void merge_now(region_actor* self, Done done) {
  collect_children(self, true, [=](const region_handover& cargo) {
    journal(self, region_event{region_event::kind::merged, {}, 0}, [=](bool ok) mutable {
      auto& st = self->state;
      if (ok) {
        COURIER_ASSERT(st.index.size() == 0); // I1: a split cell holds no rider
        st.split = false;
        st.kids.clear();
        take_cargo(self, cargo); // and tells each rider to report here
        COURIER_ASSERT(owner(self));
      }
      done();
    });
  });
}

void maybe_merge(region_actor* self) {
  auto& st = self->state;
  if (st.split && st.kids.all_reported() &&
      split_children::should_merge(st.kids.riders(), cfg_of(self).region_merge_riders))
    merge_now(self, [] {});
}

void on_load(region_actor* self, const region_load& l) {
  auto& st = self->state;
  if (!st.split || !st.kids.set_load(l.child, l.riders_available, l.riders_busy, true))
    return; // not (or no longer) split: the child learns when drained or re-adopted
  load_changed(self);
  stats_changed(self);
  maybe_merge(self);
}

caf::result<region_handover> on_handover(region_actor* self, const region_handover_req& req) {
  auto& st = self->state;
  auto rp = self->make_response_promise<region_handover>();
  auto finish = [=](region_handover below) mutable {
    auto& cur = self->state;
    auto mine = own_cargo(self);
    below.riders.insert(below.riders.end(), mine.riders.begin(), mine.riders.end());
    below.orders.insert(below.orders.end(), mine.orders.begin(), mine.orders.end());
    below.finished.insert(below.finished.end(), mine.finished.begin(), mine.finished.end());
    if (req.drain) {
      cur.index.clear();
      cur.orders.clear();
      cur.in_tree = false;
      cur.load_sent = {0, 0};
      stats_changed(self);
      COURIER_ASSERT(!owner(self) || !nested(self));
    }
    rp.deliver(std::move(below));
  };
  if (!st.split) {
    finish(region_handover{});
    return rp;
  }
  // A split child drains its own children first, then is whole (and then
  // not in the tree) again; "merged" is journaled so its recovery agrees.
  collect_children(self, req.drain, [=](const region_handover& below) mutable {
    if (!req.drain) {
      finish(below);
      return;
    }
    journal(self, region_event{region_event::kind::merged, {}, 0}, [=](bool) mutable {
      // Whatever the journal said: the parent owns these riders now. (A
      // failed write may replay "split" here later; region_adopt or a drain
      // then corrects it.)
      self->state.split = false;
      self->state.kids.clear();
      finish(below);
    });
  });
  return rp;
}

void on_activate(region_actor* self) {
  auto& st = self->state;
  if (!nested(self))
    return;
  st.in_tree = true;
  send_load(self);
}

// -- dispatch -------------------------------------------------------------------------

caf::result<region_candidates> on_find(region_actor* self, region_find_riders& q) {
  auto& st = self->state;
  if (!st.split) {
    rider_search s{q.lat, q.lng, q.radius_m, q.limit,
                   now_ms(self) - cfg_of(self).rider_position_fresh.count(), {}};
    for (auto& x : q.exclude)
      s.exclude.insert(x.str());
    region_candidates out;
    for (auto& n : st.index.nearest(s))
      out.riders.push_back(
          rider_candidate{core::rider_id{n.rider_id}, n.lat, n.lng, n.distance_m});
    return out;
  }
  auto rp = self->make_response_promise<region_candidates>();
  auto kids = st.kids.children();
  auto pending = std::make_shared<std::size_t>(kids.size());
  auto got = std::make_shared<region_candidates>();
  auto limit = q.limit;
  auto finish = [=]() mutable {
    auto& v = got->riders;
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m
                                          : a.rider_id < b.rider_id;
    });
    if (v.size() > limit)
      v.resize(limit);
    rp.deliver(std::move(*got));
  };
  for (auto& child : kids) {
    cluster::ask(self, st.ctx.router, region_ask_timeout, region_ref(child), q)
        .then(
            [=](region_candidates& c) mutable {
              got->riders.insert(got->riders.end(), c.riders.begin(), c.riders.end());
              if (--*pending == 0)
                finish();
            },
            [=](caf::error&) mutable {
              if (--*pending == 0)
                finish();
            });
  }
  return rp;
}

region_probe probe_of(region_actor* self) {
  auto& st = self->state;
  return region_probe{st.split,
                      owner(self),
                      static_cast<std::uint32_t>(st.index.size()),
                      static_cast<std::uint32_t>(st.orders.active()),
                      st.rider_msgs,
                      st.stale,
                      st.dropped};
}

// -- admin ----------------------------------------------------------------------------

msg::radius_result radius_reply(region_actor* self, std::int64_t effective, bool applied) {
  msg::radius_result res;
  res.target = self->state.ctx.self.key;
  res.applied = applied;
  if (effective == unset_m) {
    res.radius_m = 0.0;
    res.reason = "no radius cap held for this cell";
  } else {
    res.radius_m = static_cast<double>(effective);
  }
  return res;
}

caf::result<msg::radius_result> on_radius(region_actor* self, radius_trigger_cmd& cmd) {
  auto& st = self->state;
  if (cmd.who.role != msg::role::admin)
    return fail(core::errc::forbidden, "radius triggers are for admins");
  if (cmd.body.target != st.ctx.self.key)
    return fail(core::errc::bad_request, "target is not this cell");
  // Stores read the cap of their region cell (region_res); a cap on any
  // other cell would be `applied` and never consulted (issue #12, item 6).
  if (!st.valid || st.res != cfg_of(self).region_res)
    return fail(core::errc::bad_request,
                "radius triggers take a resolution-" + std::to_string(cfg_of(self).region_res) +
                    " H3 cell or store:<id>");
  auto kind = cmd.body.trigger;
  auto radius = static_cast<std::int64_t>(std::llround(cmd.body.radius_m));
  if (kind != msg::radius_trigger_kind::restore && radius <= 0)
    return fail(core::errc::bad_request, "radius_m must be positive");
  region_event event{region_event::kind::radius, kind, radius};
  auto rp = self->make_response_promise<msg::radius_result>();
  journal(self, event, [=](bool ok) mutable {
    if (!ok) {
      rp.deliver(fail(core::errc::unavailable, "journal unavailable"));
      return;
    }
    auto out = self->state.radius.apply(kind, radius, unset_m);
    rp.deliver(radius_reply(self, out.effective_m, out.applied));
  });
  return rp;
}

caf::result<msg::region_stats> on_subscribe(region_actor* self, subscribe_cmd& cmd) {
  auto& st = self->state;
  if (cmd.who.role != msg::role::admin)
    return fail(core::errc::forbidden, "region stats are for admins");
  if (!cmd.gateway)
    return fail(core::errc::bad_request, "no gateway");
  if (std::find(st.subscribers.begin(), st.subscribers.end(), cmd.gateway) ==
      st.subscribers.end()) {
    if (st.subscribers.size() >= cfg_of(self).subscribers_max)
      return fail(core::errc::overloaded, "too many subscribers");
    cluster::watch_gateway(self, st.ctx, cmd.gateway);
    st.subscribers.push_back(cmd.gateway);
  }
  if (st.split)
    stats_changed(self); // a split cell looks at its children every interval
  auto rp = self->make_response_promise<msg::region_stats>();
  gather_stats(self, [=](const msg::region_stats& s) mutable {
    self->state.last_pushed = s; // the subscriber has seen this
    rp.deliver(s);
  });
  return rp;
}

caf::result<msg::region_stats> on_stats(region_actor* self) {
  auto rp = self->make_response_promise<msg::region_stats>();
  gather_stats(self, [=](const msg::region_stats& s) mutable { rp.deliver(s); });
  return rp;
}

void drop_subscriber(region_actor* self, const caf::actor_addr& addr) {
  auto& subs = self->state.subscribers;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const caf::actor& a) { return a.address() == addr; }),
             subs.end());
}

// -- recovery ---------------------------------------------------------------------------

void replay(region_actor* self, const std::string& bytes) {
  auto& st = self->state;
  auto decoded = decode_region_event(bytes);
  COURIER_ASSERT(decoded.ok() && "corrupt region event");
  const auto& ev = *decoded;
  switch (ev.what) {
    case region_event::kind::split:
      st.split = true;
      break;
    case region_event::kind::merged:
      st.split = false;
      break;
    case region_event::kind::radius:
      st.radius.apply(ev.trigger, ev.radius_m, unset_m);
      break;
  }
}

/// After replay: a cell that recovers split is in the tree (a drained cell
/// journals "merged" first) and tells its children so; it merges only once
/// each has reported its load again.
void resume_split(region_actor* self) {
  auto& st = self->state;
  if (!st.split)
    return;
  auto children = geo::cell_to_children(st.cell, st.res + 1);
  COURIER_ASSERT(children.ok());
  std::vector<std::string> keys;
  for (auto c : *children)
    keys.push_back(geo::cell_to_string(c));
  st.kids.start(keys);
  st.in_tree = true;
  for (auto& k : keys)
    cluster::tell(self, st.ctx.router, region_ref(k), region_activate{});
}

caf::behavior region_behavior(region_actor* self, cluster::entity_context ctx,
                              std::shared_ptr<const domain_services> svc) {
  COURIER_ASSERT(svc != nullptr && svc->clock != nullptr);
  auto& st = self->state;
  st.ctx = ctx;
  st.svc = svc;
  auto parsed = geo::string_to_cell(ctx.self.key);
  st.valid = parsed.ok();
  if (st.valid) {
    st.cell = *parsed;
    st.res = geo::get_resolution(st.cell);
  }
  cluster::recover(self, ctx, [self](storage::recovered_stream& rec) {
    for (auto& e : rec.events)
      replay(self, e.payload);
    self->state.version = rec.version;
    if (self->state.valid && self->state.res < geo::res_max)
      resume_split(self);
  });
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(caf::drop);
  return {
    [=](region_rider_update& u) { on_update(self, u); },
    [=](region_rider_leave& l) { on_leave(self, l); },
    [=](region_find_riders& q) { return on_find(self, q); },
    [=](region_order_delta& d) { on_order_delta(self, d); },
    [=](region_stats_query&) { return on_stats(self); },
    [=](subscribe_cmd& cmd) { return on_subscribe(self, cmd); },
    [=](unsubscribe_cmd& cmd) {
      auto& subs = self->state.subscribers;
      auto before = subs.size();
      drop_subscriber(self, cmd.gateway.address());
      if (subs.size() != before)
        cluster::unwatch_gateway(self, self->state.ctx, cmd.gateway.address());
      return msg::ok_reply{};
    },
    [=](cluster::gateway_down_atom, const caf::actor_addr& gw) { drop_subscriber(self, gw); },
    [=](radius_trigger_cmd& cmd) { return on_radius(self, cmd); },
    [=](region_radius_query&) { return region_radius{self->state.radius.held_min()}; },
    [=](region_handover_req& req) { return on_handover(self, req); },
    [=](region_adopt& a) { on_adopt(self, a); },
    [=](region_activate&) { on_activate(self); },
    [=](region_load& l) { on_load(self, l); },
    [=](region_probe_query&) { return probe_of(self); },
    [=](r_tick_atom) { on_tick(self); },
    [=](r_prune_atom) { on_prune(self); },
    [=](r_load_atom) { on_load_tick(self); },
    cluster::passivation_handler(self, ctx, [=] {
      ask_to_resubscribe(self, self->state.subscribers, "region:" + ctx.self.key);
    }),
  };
}

} // namespace

caf::actor spawn_region_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                              std::shared_ptr<const domain_services> services) {
  return sys.spawn(region_behavior, ctx, std::move(services));
}

void register_rider_side_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<region_handover_req>("courier.a.region_handover_req");
  cfg.add_message_type<region_handover>("courier.a.region_handover");
  cfg.add_message_type<region_adopt>("courier.a.region_adopt");
  cfg.add_message_type<region_activate>("courier.a.region_activate");
  cfg.add_message_type<region_load>("courier.a.region_load");
  cfg.add_message_type<region_probe_query>("courier.a.region_probe_query");
  cfg.add_message_type<region_probe>("courier.a.region_probe");
  cfg.add_message_type<region_route>("courier.a.region_route");
  cfg.add_message_type<rider_view_query>("courier.a.rider_view_query");
  cfg.add_message_type<rider_view>("courier.a.rider_view");
  cfg.add_message_type<dispatch_view_query>("courier.a.dispatch_view_query");
  cfg.add_message_type<dispatch_view>("courier.a.dispatch_view");
  register_history_types(cfg);
}

} // namespace courier::actors
