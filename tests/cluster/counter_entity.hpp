#pragma once
// A tiny journaled entity for router and harness tests: it appends each
// value it is given and can list every value it has ever accepted.

#include "cluster/entity.hpp"
#include "cluster/placement.hpp"
#include "cluster/router_actor.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace courier::testing {

using add_atom = caf::atom_constant<caf::atom("t.add")>;
using get_atom = caf::atom_constant<caf::atom("t.get")>;
using boom_atom = caf::atom_constant<caf::atom("t.boom")>;

struct counter_state {
  std::vector<std::string> values;
  storage::version_t version = 0;
};

/// `(add, value) -> version`, `(get) -> vector<string>`, `(boom)`: stops
/// with an error (a crashing activation).
inline caf::behavior counter_entity(caf::stateful_actor<counter_state>* self,
                                    cluster::entity_context ctx) {
  cluster::recover(self, ctx, [self](storage::recovered_stream& rec) {
    for (auto& ev : rec.events)
      self->state.values.push_back(ev.payload);
    self->state.version = rec.version;
  });
  return {
    [=](add_atom, std::string& value)
        -> caf::result<storage::version_t> {
      auto rp = self->make_response_promise<storage::version_t>();
      cluster::persist(self, ctx, self->state.version, {value},
                       [=](core::result<storage::version_t> r) mutable {
                         if (!r) {
                           rp.deliver(cluster::to_caf_error(r.err()));
                           return;
                         }
                         self->state.version = *r;
                         self->state.values.push_back(value);
                         rp.deliver(*r);
                       });
      return rp;
    },
    [=](get_atom) { return self->state.values; },
    [=](boom_atom) { self->quit(caf::sec::runtime_error); },
    cluster::passivation_handler(self, ctx),
  };
}

/// Factories for a router that knows only counters; counts activations.
inline cluster::entity_factories counter_factories(
    std::shared_ptr<std::atomic<int>> activations = nullptr) {
  return {{"counter",
           [activations](caf::actor_system& sys, const cluster::entity_context& ctx) {
             if (activations)
               ++*activations;
             return sys.spawn(counter_entity, ctx);
           }}};
}

/// The counter entity with this key.
inline cluster::entity_ref counter(const std::string& key) { return {"counter", key}; }

/// Where rendezvous hashing over `ids` places counter `key`.
inline std::string owner_in(const std::vector<std::string>& ids, const std::string& key) {
  return ids[static_cast<std::size_t>(cluster::place(ids, counter(key)))];
}

/// The first key "k<i>" (i >= salt) that `ids` place on `owner` and, if
/// `later_ids` is given, `later_ids` place on `later_owner`.
inline std::string key_owned_by(const std::vector<std::string>& ids, const std::string& owner,
                                int salt = 0, const std::vector<std::string>& later_ids = {},
                                const std::string& later_owner = {}) {
  for (int i = salt;; ++i) {
    auto key = "k" + std::to_string(i);
    if (owner_in(ids, key) == owner &&
        (later_ids.empty() || owner_in(later_ids, key) == later_owner))
      return key;
  }
}

} // namespace courier::testing
