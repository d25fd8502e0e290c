#pragma once
/// \file
/// payment:<order_id>: performs the order's payment operations against the
/// payment_provider exactly once per op_id.
///
/// Handles: payment_request (protocol.hpp) -> later payment_result to its
/// reply_to; payment_ledger_query -> payment_ledger.
///
/// Each request is journaled before the provider is called and its final
/// outcome is journaled before it is reported, so after a crash the entity
/// resumes unfinished calls (the provider deduplicates by op_id) and answers
/// repeats of finished ones from the journal. Transient failures and
/// timeouts retry with exponential backoff, at most payment_retries_max
/// times, then the op ends `failed`. The ledger refuses (ends `failed`) a
/// capture or void without an approved authorization, a capture after a
/// void, a void after a capture, and a refund without a capture.

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"

#include <memory>
#include <string>
#include <vector>

namespace courier::actors {

/// Operations this entity keeps per order (an order uses at most a few;
/// above it a request ends `failed` at once).
inline constexpr std::size_t payment_ops_max = 64;

/// Query for tests and operators: every op seen -> payment_ledger.
struct payment_ledger_query {
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payment_ledger_query&) {
    return f();
  }
};
/// One op of the ledger.
struct payment_op_record {
  std::string op_id;
  payment_op op = payment_op::authorize;
  std::int64_t amount_minor = 0;
  bool finished = false;
  payment_outcome outcome = payment_outcome::approved; ///< valid if finished

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payment_op_record& x) {
    return f(x.op_id, x.op, x.amount_minor, x.finished, x.outcome);
  }
};
/// The ledger of one order's payment, ops in request order.
struct payment_ledger {
  std::vector<payment_op_record> ops;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, payment_ledger& x) {
    return f(x.ops);
  }
};

/// Spawns the payment entity of `ctx.self` (a router factory calls this).
caf::actor spawn_payment_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                               std::shared_ptr<const domain_services> services);

} // namespace courier::actors
