// The README's harness example, compiled and run so it stays true.
#include "cluster/entity.hpp"
#include "tests/harness/harness.hpp"

#include <doctest/doctest.h>

using namespace courier;
using add_atom = caf::atom_constant<caf::atom("t.add")>;

struct tally_state {
  storage::version_t version = 0;
};

// An entity that journals each value before it acknowledges it.
caf::behavior tally(caf::stateful_actor<tally_state>* self,
                    cluster::entity_context ctx) {
  cluster::recover(self, ctx, [self](storage::recovered_stream& r) {
    self->state.version = r.version;
  });
  return {
    [=](add_atom, std::string v) -> caf::result<storage::version_t> {
      auto rp = self->make_response_promise<storage::version_t>();
      cluster::persist(self, ctx, self->state.version, {v}, [=](auto r) mutable {
        if (!r) {
          rp.deliver(cluster::to_caf_error(r.err()));
          return;
        }
        self->state.version = *r;
        rp.deliver(*r);
      });
      return rp;
    },
    cluster::passivation_handler(self, ctx),
  };
}

TEST_CASE("acknowledged_values_survive_a_crash") {
  harness::world w{harness::pick_seed("tally")}; // prints the seed
  cluster::entity_factories kinds{
      {"tally", [](auto& sys, auto& ctx) { return sys.spawn(tally, ctx); }}};
  auto router = w.spawn_router(kinds);
  auto p = w.make_probe();
  caf::send_as(p.handle, router, cluster::route_atom::value,
               cluster::entity_ref{"tally", "t-1"},
               caf::make_message(add_atom::value, std::string{"x"}));
  w.run();
  CHECK(p.next<storage::version_t>() == storage::version_t{1});
  w.crash(); // loses only unsynced writes
  CHECK(w.journal_backend().version("tally:t-1") == 1);
}
