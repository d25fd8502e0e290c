#include "cluster/membership_actor.hpp"

#include "cluster/atoms.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/router_actor.hpp"
#include "storage/redis_membership.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <utility>

namespace courier::cluster {

std::chrono::milliseconds membership_config::tick() const {
  return std::clamp(lease / 6, std::chrono::milliseconds{50}, std::chrono::milliseconds{500});
}

namespace {

/// How long a membership step waits for the local router.
constexpr std::chrono::seconds router_timeout{2};

/// A member whose connection broke, with the epoch we knew it by.
struct suspect {
  std::string id;
  std::uint64_t epoch = 0;
};

struct connected_member {
  std::uint64_t epoch = 0;
  caf::actor router; ///< null if the connect failed
};

struct membership_state {
  membership_config cfg;
  caf::actor router;
  std::vector<caf::actor> listeners;
  std::unique_ptr<storage::redis_membership> table;
  std::uint64_t epoch = 0;          ///< 0 = not joined
  std::uint64_t view_version = 0;   ///< last view sent
  bool in_view = false;             ///< the last view has us, not draining
  bool draining = false;            ///< our record says draining
  bool left = false;
  std::string stats = "{}";         ///< entity counts for the next renewal
  std::map<std::string, connected_member> connected;
  storage::membership_view last_view; ///< the view last published
  /// When the lease was last taken or renewed (the actor's clock): a node
  /// that could not renew for a whole lease may already be replaced.
  caf::actor_clock::time_point renewed_at;
  std::vector<caf::response_promise> waiting_join;
  /// Members whose connection broke and that are not settled yet (at most
  /// one entry per member; bounded by storage::members_max).
  std::vector<suspect> suspects;
  /// When our last fences were sent (at most fences_per_s_max in fence_window).
  std::deque<caf::actor_clock::time_point> fence_times;
  bool settling = false; ///< waiting for the router's knows_atom answer
  static inline const char* name = "courier.membership";
};

using membership_actor = caf::stateful_actor<membership_state>;

void log(const membership_state& st, const std::string& what) {
  std::fprintf(stderr, "courier-node: cluster %s: %s\n", st.cfg.node_id.c_str(), what.c_str());
}

/// "order=3,rider=2" -> {"order":3,"rider":2}
std::string counts_json(const std::string& counts) {
  std::string out = "{";
  std::size_t pos = 0;
  while (pos < counts.size()) {
    auto end = counts.find(',', pos);
    if (end == std::string::npos)
      end = counts.size();
    auto item = counts.substr(pos, end - pos);
    auto eq = item.find('=');
    if (eq != std::string::npos) {
      if (out.size() > 1)
        out += ',';
      out += '"' + item.substr(0, eq) + "\":" + item.substr(eq + 1);
    }
    pos = end + 1;
  }
  return out + "}";
}

caf::actor connect_to(membership_actor* self, const storage::member_record& m) {
  auto& st = self->state;
  auto& c = st.connected[m.id];
  if (c.epoch == m.epoch && c.router)
    return c.router;
  c.epoch = m.epoch;
  auto handle = connect_router(self->system(), m.host, m.cluster_port, st.cfg.transport);
  if (!handle) {
    log(st, "cannot reach " + m.id + " at " + m.host + ":" + std::to_string(m.cluster_port) +
                ": " + self->system().render(handle.error()));
    c.router = nullptr;
  } else {
    c.router = std::move(*handle);
    self->monitor(c.router); // a broken connection is made again (reconnect)
  }
  return c.router;
}

void publish_view(membership_actor* self, const storage::membership_view& v) {
  auto& st = self->state;
  cluster_view view;
  view.version = v.version;
  bool me = false, me_draining = false;
  for (auto& m : v.members) {
    member x;
    x.id = m.id;
    x.epoch = m.epoch;
    x.draining = m.draining;
    if (m.id == st.cfg.node_id) {
      if (m.epoch != st.epoch)
        continue; // an older incarnation of us, about to expire
      x.router = st.router;
      me = true;
      me_draining = m.draining;
    } else {
      x.router = connect_to(self, m);
    }
    view.members.push_back(std::move(x));
  }
  for (auto it = st.connected.begin(); it != st.connected.end();)
    it = std::any_of(v.members.begin(), v.members.end(),
                     [&](auto& m) { return m.id == it->first; })
             ? std::next(it)
             : st.connected.erase(it);
  st.view_version = v.version;
  st.last_view = v;
  st.in_view = me && !me_draining;
  if (me_draining && !st.draining)
    log(st, "draining: handing entities off");
  st.draining = me_draining;
  self->send(st.router, view_atom::value, view);
  for (auto& l : st.listeners)
    self->send(l, view_atom::value, view);
  if (me)
    for (auto& rp : st.waiting_join)
      rp.deliver(v.version);
  if (me)
    st.waiting_join.clear();
}

/// Tells the router until when it may serve: a tick before the lease taken
/// at `sent` (our clock) runs out, as the self-fence below counts.
void confirm_lease(membership_actor* self, caf::actor_clock::time_point sent) {
  auto& st = self->state;
  auto until = sent + st.cfg.lease - st.cfg.tick();
  self->send(st.router, lease_atom::value,
             std::chrono::duration_cast<caf::timespan>(until.time_since_epoch()));
}

/// Stops serving: the journal refuses our writes, the router passivates
/// everything and parks messages; the next tick joins again.
void fence(membership_actor* self, const std::string& why) {
  auto& st = self->state;
  log(st, "fenced (epoch " + std::to_string(st.epoch) + "): " + why + "; rejoining");
  st.epoch = 0;
  st.cfg.epoch->store(0);
  st.in_view = false;
  st.suspects.clear();
  self->send(st.router, fence_atom::value);
}

/// Connects again to members of the current view whose connection broke
/// or was never made; if one succeeds, the router (and the listeners) get
/// the same view with the new handle.
void reconnect(membership_actor* self) {
  auto& st = self->state;
  bool any = false;
  for (auto& m : st.last_view.members) {
    if (m.id == st.cfg.node_id)
      continue;
    auto it = st.connected.find(m.id);
    if (it != st.connected.end() && it->second.router)
      continue;
    any = connect_to(self, m) != nullptr || any;
  }
  if (any)
    publish_view(self, st.last_view);
}

/// Leaves once the router has handed off the draining view and runs nothing.
void maybe_leave(membership_actor* self) {
  auto version = self->state.view_version;
  self->request(self->state.router, router_timeout, stats_atom::value)
      .then([=](const router_stats& rs) {
        auto& st = self->state;
        if (st.left || !st.draining || rs.live > 0 || rs.handed_off_version < version)
          return;
        if (auto ok = st.table->leave(st.cfg.node_id, st.epoch); !ok) {
          log(st, "leave failed: " + ok.err().message);
          return;
        }
        st.left = true;
        st.cfg.epoch->store(0);
        log(st, "drained and left the cluster");
        for (auto& l : st.listeners)
          self->send(l, left_atom::value);
      }, [](caf::error&) {});
}

enum class renewal { renewed, refused, failed };

/// Renews our lease; if renewed, tells the router until when it may serve
/// (which also releases a hold, see failover.hpp). Refused: we were fenced
/// (expired, or fenced by a member), so we fence ourselves.
renewal renew_lease(membership_actor* self) {
  auto& st = self->state;
  // Redis starts the new lease after we send; our deadline counts from
  // the send, a tick early, so we stop serving before anyone replaces us.
  auto sent = self->clock().now();
  auto renewed = st.table->renew(st.cfg.node_id, st.epoch, st.cfg.lease, st.stats);
  if (!renewed) {
    log(st, "lease renewal failed: " + renewed.err().message);
    if (self->clock().now() - st.renewed_at >= st.cfg.lease - st.cfg.tick())
      fence(self, "no renewal for (nearly) a whole lease");
    return renewal::failed;
  }
  if (!*renewed) {
    fence(self, "the lease was lost");
    return renewal::refused;
  }
  st.renewed_at = sent;
  // While a broken connection is unsettled the router stays held.
  if (st.suspects.empty())
    confirm_lease(self, sent);
  return renewal::renewed;
}

/// Reads the view and publishes it if it is new (else reconnects broken
/// connections). false if Redis failed.
bool read_and_publish(membership_actor* self) {
  auto& st = self->state;
  auto v = st.table->read_view();
  if (!v) {
    log(st, "reading the view failed: " + v.err().message);
    return false;
  }
  if (v->version != st.view_version)
    publish_view(self, *v);
  else
    reconnect(self);
  return true;
}

/// Takes one of the fences_per_s_max slots of the current window.
bool take_fence_slot(membership_state& st, caf::actor_clock::time_point now) {
  while (!st.fence_times.empty() && now - st.fence_times.front() >= fence_window)
    st.fence_times.pop_front();
  if (st.fence_times.size() >= fences_per_s_max)
    return false;
  st.fence_times.push_back(now);
  return true;
}

enum class settled { done, pending, self_fenced };

/// Is the member we knew by `s` still in our view with that epoch?
const storage::member_record* still_there(const membership_state& st, const suspect& s) {
  for (auto& m : st.last_view.members)
    if (m.id == s.id)
      return m.epoch == s.epoch ? &m : nullptr;
  return nullptr;
}

/// Fences one member whose connection broke and could not be made again.
/// `changed`: the view changed (read it again).
settled fence_one(membership_actor* self, const suspect& s, bool& changed) {
  auto& st = self->state;
  auto& n = *st.cfg.fences;
  if (!take_fence_slot(st, self->clock().now())) {
    n.rate_limited += 1;
    return settled::pending;
  }
  auto r = st.table->fence(s.id, s.epoch, st.cfg.node_id, st.epoch);
  if (!r) {
    n.errors += 1;
    log(st, "fencing " + s.id + " failed: " + r.err().message + "; trying again next tick");
    return settled::pending;
  }
  switch (*r) {
    case storage::fence_outcome::fenced:
      n.fenced += 1;
      log(st, "fenced " + s.id + " (epoch " + std::to_string(s.epoch) +
                  "): its connection broke and a reconnect failed; taking over its keys");
      changed = true;
      return settled::done;
    case storage::fence_outcome::gone:
      n.gone += 1;
      changed = true;
      return settled::done;
    case storage::fence_outcome::not_member:
      n.self_fenced += 1;
      fence(self, "fenced by a member after the connection to " + s.id + " broke");
      return settled::self_fenced;
  }
  return settled::pending;
}

/// All settled: a renewal sent after the break releases the router's hold
/// (only then do we know no member fenced us meanwhile); a changed view is
/// read and published at once (the router takes the fenced members' keys).
void finish_settling(membership_actor* self, bool changed) {
  auto& st = self->state;
  if (renew_lease(self) != renewal::renewed)
    return;
  if (changed)
    read_and_publish(self);
  else
    publish_view(self, st.last_view); // the new handles of reconnected members
}

void fence_unreachable(membership_actor* self, const std::vector<suspect>& unreachable,
                       const std::vector<std::string>& knowing, bool gone);

/// Settles every member whose connection broke (failover.hpp): a member
/// replaced in our view meanwhile is done; each other one gets one
/// reconnect (a dead process refuses it at once; a live one across a blip
/// accepts it, and nobody is fenced); the rest are fenced. Once none is
/// left, a renewal sent after the break releases the router's hold: only
/// then do we know no member fenced us meanwhile. A changed view is read
/// and published at once (the router takes the fenced members' keys).
void settle_suspects(membership_actor* self) {
  auto& st = self->state;
  if (st.suspects.empty() || !st.table || st.settling)
    return;
  if (st.epoch == 0 || st.left) {
    st.suspects.clear(); // fenced or gone: the router holds nothing for us
    return;
  }
  std::vector<suspect> unreachable;
  bool gone = false; // replaced in our view meanwhile: publish the new one
  for (auto& s : st.suspects) {
    auto m = still_there(st, s);
    if (!m) {
      gone = true;
      continue;
    }
    if (connect_to(self, *m)) {
      st.cfg.fences->reconnected += 1;
      log(st, "connection to " + s.id + " broke and was made again: not fenced");
      continue;
    }
    unreachable.push_back(s);
  }
  // Cut off from most of the others (and at least two), we are more likely
  // the one partitioned than they all dead: fence nobody, keep holding, and
  // let them fence us (our next renewal is refused) or their leases run out.
  auto others = st.last_view.members.size() - 1;
  if (unreachable.size() >= 2 && 2 * unreachable.size() > others) {
    st.suspects = std::move(unreachable);
    st.cfg.fences->isolated += 1;
    return;
  }
  st.suspects = unreachable; // the others are settled
  if (unreachable.empty()) {
    finish_settling(self, gone);
    return;
  }
  // Only a member that knows us (its router holds a handle to ours) sees
  // the break and holds; ask our router which ones do.
  std::vector<std::string> ids;
  for (auto& s : unreachable)
    ids.push_back(s.id);
  st.settling = true;
  auto incarnation = st.epoch;
  self->request(st.router, router_timeout, knows_atom::value, std::move(ids))
      .then(
          [=](const std::vector<std::string>& knowing) {
            self->state.settling = false;
            if (self->state.epoch == incarnation)
              fence_unreachable(self, unreachable, knowing, gone);
          },
          [=](caf::error&) { self->state.settling = false; }); // the next tick asks again
}

/// The second half of settle_suspects: fences the unreachable members that
/// know us; the others are left to their lease, and we keep holding (they
/// may know us and fence us) until the next tick tries again.
void fence_unreachable(membership_actor* self, const std::vector<suspect>& unreachable,
                       const std::vector<std::string>& knowing, bool gone) {
  auto& st = self->state;
  bool changed = gone;
  for (auto& s : unreachable) {
    auto it = std::find_if(st.suspects.begin(), st.suspects.end(),
                           [&](const suspect& x) { return x.id == s.id && x.epoch == s.epoch; });
    if (it == st.suspects.end())
      continue; // settled meanwhile
    if (std::find(knowing.begin(), knowing.end(), s.id) == knowing.end()) {
      // Not ours to fence; but it may know us and fence us: keep holding
      // until it is gone (its lease), reconnected, or known.
      st.cfg.fences->unknown += 1;
      log(st, s.id + " is unreachable and not on our view: left to its lease; holding");
      continue;
    }
    auto r = fence_one(self, s, changed);
    if (r == settled::self_fenced)
      return;
    if (r == settled::done)
      st.suspects.erase(std::find_if(st.suspects.begin(), st.suspects.end(),
                                     [&](const suspect& x) { return x.id == s.id; }));
  }
  if (!st.suspects.empty())
    return; // still held; the next tick tries again
  finish_settling(self, changed);
}

void tick(membership_actor* self) {
  auto& st = self->state;
  if (st.left)
    return;
  if (!st.table) {
    // A call may block this long: a tick, so a Redis that hangs cannot keep
    // us from noticing the lease running out.
    // So may a WAIT for the replicas (sentinel mode), beyond which a
    // renewal that no replica holds does not count anyway.
    auto url = st.cfg.redis;
    url.wait.timeout = std::min(url.wait.timeout, st.cfg.tick());
    auto t = storage::redis_membership::connect(url, st.cfg.tick());
    if (!t) {
      log(st, "cannot reach " + st.cfg.redis.str() + ": " + t.err().message);
      return;
    }
    st.table = std::move(*t);
  }
  if (st.epoch == 0) {
    storage::member_record me;
    me.id = st.cfg.node_id;
    me.host = st.cfg.host;
    me.cluster_port = st.cfg.cluster_port;
    me.http_port = st.cfg.http_port;
    me.tcp_port = st.cfg.tcp_port;
    me.stats = st.stats;
    auto sent = self->clock().now();
    auto e = st.table->join(me, st.cfg.lease);
    if (!e) {
      if (e.err().code != core::errc::conflict)
        log(st, "join failed: " + e.err().message);
      return; // conflict: our previous incarnation's lease has not expired yet
    }
    st.epoch = *e;
    st.cfg.epoch->store(st.epoch);
    st.renewed_at = sent;
    confirm_lease(self, sent);
    log(st, "joined with epoch " + std::to_string(st.epoch));
  } else if (renew_lease(self) == renewal::failed) {
    return;
  }
  if (!read_and_publish(self))
    return;
  settle_suspects(self); // what the last attempt left (Redis failed, rate limit)
  if (st.draining)
    maybe_leave(self);
  self->request(st.router, router_timeout, counts_atom::value)
      .then([=](const std::string& counts) { self->state.stats = counts_json(counts); },
            [](caf::error&) {});
}

caf::behavior membership_behavior(membership_actor* self, membership_config cfg,
                                  caf::actor router, std::vector<caf::actor> listeners) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.router = std::move(router);
  st.listeners = std::move(listeners);
  if (!st.cfg.fences)
    st.cfg.fences = std::make_shared<fence_counters>();
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& s = self->state;
    bool any = false;
    for (auto& kv : s.connected)
      if (kv.second.router && kv.second.router.address() == msg.source) {
        log(s, "connection to " + kv.first + " broke: " + self->system().render(msg.reason));
        kv.second.router = nullptr; // settled below (else the next tick connects again)
        bool known = std::any_of(s.suspects.begin(), s.suspects.end(),
                                 [&](const suspect& x) { return x.id == kv.first; });
        if (!known && s.epoch != 0) {
          s.suspects.push_back({kv.first, kv.second.epoch});
          any = true;
        }
      }
    if (any)
      settle_suspects(self); // at once: the router holds meanwhile
  });
  // A broken connection holds the router until settled (failover.hpp).
  self->send(st.router, hold_atom::value);
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      tick(self);
      if (!self->state.left)
        self->delayed_send(self, self->state.cfg.tick(), tick_atom::value);
    },
    [=](joined_atom) -> caf::result<std::uint64_t> {
      auto& s = self->state;
      if (s.in_view)
        return s.view_version;
      s.waiting_join.push_back(self->make_response_promise());
      return caf::delegated<std::uint64_t>{};
    },
    [=](drain_atom) -> caf::result<caf::unit_t> {
      auto& s = self->state;
      if (s.left)
        return caf::unit;
      if (!s.table || s.epoch == 0)
        return caf::make_error(caf::sec::runtime_error, "not joined");
      if (auto ok = s.table->set_draining(s.cfg.node_id); !ok)
        return caf::make_error(caf::sec::runtime_error, ok.err().message);
      return caf::unit;
    },
  };
}

} // namespace

caf::actor spawn_membership_actor(caf::actor_system& sys, membership_config cfg,
                                  caf::actor router, std::vector<caf::actor> listeners) {
  return sys.spawn<caf::detached>(membership_behavior, std::move(cfg), std::move(router),
                                  std::move(listeners));
}

} // namespace courier::cluster
