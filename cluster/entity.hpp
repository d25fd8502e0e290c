#pragma once
/// \file
/// What an entity actor gets and uses: its context (own ref, the router,
/// the journal), and helpers to talk to other entities by ref, recover
/// from the journal and journal events before acting on them.
///
/// The rules every entity follows (DESIGN.md, "Durability"):
/// - state changes are journaled (persist) before they are applied,
///   acknowledged, or cause any message to leave the entity;
/// - other entities are reached only through the router, by entity_ref;
/// - on passivate_atom the entity tells the router it is done and quits
///   (passivation_handler does both).

#include "cluster/atoms.hpp"
#include "cluster/entity_ref.hpp"
#include "cluster/errors.hpp"
#include "cluster/journal_actor.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <utility>

namespace courier::cluster {

/// Entities wait for the journal without a CAF timeout: the journal actor
/// is local and answers every request (I/O failures, and the Redis
/// client's own per-command timeout, come back as errors). A timed request
/// costs a registration with CAF's clock thread and a wake-up of it: 22% of
/// a node's CPU at 1,000 orders/s (bench/orders, issue #11).
inline constexpr auto journal_request_timeout = caf::infinite;

/// Everything an entity activation is given by the router.
struct entity_context {
  entity_ref self;
  caf::actor router;
  caf::actor journal;
  /// The node's membership epoch when this activation started (0: single
  /// node). Its writes carry it, so an activation that outlives a fence
  /// (busy awaiting a reply when told to stop) cannot write after the node
  /// rejoined under a new epoch and another member took its key.
  std::uint64_t epoch = 0;
};

/// Sends `xs...` to the entity `target` (fire and forget). Per-sender order
/// to one entity is kept.
template <class Self, class... Ts>
void tell(Self* self, const caf::actor& router, entity_ref target, Ts&&... xs) {
  self->send(router, route_atom::value, std::move(target),
             caf::make_message(std::forward<Ts>(xs)...));
}

/// Sends `xs...` to `target` from outside any actor (gateway, tests).
template <class... Ts>
void tell_from_outside(const caf::actor& router, entity_ref target, Ts&&... xs) {
  caf::anon_send(router, route_atom::value, std::move(target),
                 caf::make_message(std::forward<Ts>(xs)...));
}

/// Request to an entity through the router; the entity's reply comes back
/// directly. Use `.then(...)` / `.await(...)` on the result.
template <class Self, class Duration, class... Ts>
auto ask(Self* self, const caf::actor& router, Duration timeout,
         entity_ref target, Ts&&... xs) {
  return self->request(router, timeout, route_atom::value, std::move(target),
                       caf::make_message(std::forward<Ts>(xs)...));
}

/// Reads the entity's stream and calls `apply(recovered_stream&)` before
/// the entity handles any other message (await defers them). If the
/// journal fails, the activation stops with that error; the router will
/// activate a fresh one on the next message.
template <class Self, class Apply>
void recover(Self* self, const entity_context& ctx, Apply apply) {
  self->request(ctx.journal, journal_request_timeout, read_atom::value,
                ctx.self.str())
      .await([=](storage::recovered_stream& rec) mutable { apply(rec); },
             [=](caf::error& err) { self->quit(std::move(err)); });
}

namespace detail {

/// The journal append of `events` at `expected`, as the entity's request.
template <class Self>
auto append_request(Self* self, const entity_context& ctx, storage::version_t expected,
                    std::vector<std::string> events) {
  return self->request(ctx.journal, journal_request_timeout, append_atom::value,
                       ctx.self.str(), expected, std::move(events), ctx.epoch);
}

/// Both answers of an append as one `done(core::result<version_t>)`.
template <class Done>
auto append_answers(Done done) {
  return std::make_pair(
      [=](storage::version_t v) mutable { done(core::result<storage::version_t>{v}); },
      [=](caf::error& err) mutable { done(core::result<storage::version_t>{from_caf_error(err)}); });
}

} // namespace detail

/// Appends `events` at `expected` and then calls `done(core::result<version_t>)`.
/// Other messages wait (await) until the journal answers, so commands to
/// one entity apply strictly one after another.
template <class Self, class Done>
void persist(Self* self, const entity_context& ctx, storage::version_t expected,
             std::vector<std::string> events, Done done) {
  auto [ok, failed] = detail::append_answers(std::move(done));
  detail::append_request(self, ctx, expected, std::move(events)).await(ok, failed);
}

/// The same, but the entity keeps handling other messages while the
/// journal answers (`then`, not `await`). Only for an entity that orders its
/// own writes: one append in flight, later commands queued behind it (see
/// reminder_actor), so the mailbox never builds a skipped backlog.
template <class Self, class Done>
void persist_in_background(Self* self, const entity_context& ctx,
                           storage::version_t expected, std::vector<std::string> events,
                           Done done) {
  auto [ok, failed] = detail::append_answers(std::move(done));
  detail::append_request(self, ctx, expected, std::move(events)).then(ok, failed);
}

/// Stores a snapshot of the entity's state as of `version`. Fire and
/// forget: a lost snapshot only means a longer replay.
template <class Self>
void save_snapshot(Self* self, const entity_context& ctx, storage::version_t version,
                   std::string payload) {
  self->request(ctx.journal, journal_request_timeout, snapshot_atom::value, ctx.self.str(),
                version, std::move(payload))
      .then([](caf::unit_t) {}, [](caf::error&) {});
}

/// Asks the router to passivate this activation (it has nothing to do and
/// is cheaper to recover than to keep). The router answers with
/// passivate_atom, after whatever it already routed here.
template <class Self>
void request_passivation(Self* self, const entity_context& ctx) {
  self->send(ctx.router, idle_atom::value, ctx.self);
}

/// The entity pushes to gateway `gw` (a subscriber): its router watches the
/// gateway and sends `(gateway_down_atom, addr)` when it goes down. Instead
/// of the entity monitoring it: see router_state::gateway_holders. Repeats
/// are harmless.
template <class Self>
void watch_gateway(Self* self, const entity_context& ctx, const caf::actor& gw) {
  self->send(ctx.router, watch_gateway_atom::value, ctx.self, gw);
}

/// The entity no longer pushes to the gateway at `gw` (unsubscribed).
template <class Self>
void unwatch_gateway(Self* self, const entity_context& ctx, const caf::actor_addr& gw) {
  self->send(ctx.router, unwatch_gateway_atom::value, ctx.self, gw);
}

/// The handler every entity adds to its behavior: on passivate, confirm to
/// the router (which then may activate a successor) and stop.
template <class Self>
auto passivation_handler(Self* self, const entity_context& ctx) {
  return [self, ctx](passivate_atom) {
    self->send(ctx.router, passivated_atom::value, ctx.self);
    self->quit();
  };
}

/// The same, calling `before()` first (e.g. to tell subscribers).
template <class Self, class Before>
auto passivation_handler(Self* self, const entity_context& ctx, Before before) {
  return [self, ctx, before](passivate_atom) {
    before();
    self->send(ctx.router, passivated_atom::value, ctx.self);
    self->quit();
  };
}

/// The same for an entity whose state holds its context (`self->state.ctx`):
/// the handler keeps no copy of it (a copy in a behavior is ~150 bytes per
/// live entity, issue #11).
template <class Self, class Before>
auto passivation_handler_from_state(Self* self, Before before) {
  return [self, before](passivate_atom) {
    before();
    const auto& c = self->state.ctx;
    self->send(c.router, passivated_atom::value, c.self);
    self->quit();
  };
}

/// The same for an entity with one last write to make before it stops
/// (a checkpoint of soft state): `finish(stop)` calls `stop()` once the
/// write has been answered, either way. Safe because the router holds the
/// entity's messages until `passivated`, and a successor (on this node or,
/// after a handoff, on the next owner) activates only after it: the write
/// is in the journal before anyone recovers from it.
template <class Self, class Before, class Finish>
auto passivation_handler_from_state(Self* self, Before before, Finish finish) {
  return [self, before, finish](passivate_atom) {
    before();
    finish([self] {
      const auto& c = self->state.ctx;
      self->send(c.router, passivated_atom::value, c.self);
      self->quit();
    });
  };
}

} // namespace courier::cluster
