#pragma once
/// \file
/// CAF atoms of the cluster layer's actor protocols. Their texts carry a
/// "c." prefix so they can never be ambiguous with CAF's predefined atoms
/// (STACK_NOTES: same name, other text is ambiguous under `using namespace`).

#include <caf/atom.hpp>

namespace courier::cluster {
/// router: deliver a payload to an entity, `(route, entity_ref, message)`.
using route_atom = caf::atom_constant<caf::atom("c.route")>;
/// router -> entity: finish what is queued, then stop.
using passivate_atom = caf::atom_constant<caf::atom("c.passiv")>;
/// entity -> router: I have stopped; `(passivated, entity_ref)`.
using passivated_atom = caf::atom_constant<caf::atom("c.passived")>;
/// entity -> router: nothing to do here, passivate me; `(idle, entity_ref)`.
/// Honoured only from the entity's current activation.
using idle_atom = caf::atom_constant<caf::atom("c.idle")>;
/// entity -> router: watch this gateway for me; `(watch_gateway, ref, gateway)`.
/// The router monitors each gateway once and, when it goes down, tells
/// every activation that asked with `(gateway_down, gateway_addr)`.
using watch_gateway_atom = caf::atom_constant<caf::atom("c.gwwatch")>;
/// entity -> router: stop watching; `(unwatch_gateway, ref, gateway_addr)`.
using unwatch_gateway_atom = caf::atom_constant<caf::atom("c.gwunwat")>;
/// router -> entity: a gateway it pushes to is gone; `(gateway_down, addr)`.
using gateway_down_atom = caf::atom_constant<caf::atom("c.gwdown")>;
/// router: periodic idle scan.
using idle_tick_atom = caf::atom_constant<caf::atom("c.idletick")>;
/// router: statistics query -> router_stats.
using stats_atom = caf::atom_constant<caf::atom("c.stats")>;
/// journal: `(append, stream, expected_version, events)` -> new version.
using append_atom = caf::atom_constant<caf::atom("c.append")>;
/// journal: `(read, stream)` -> recovered_stream.
using read_atom = caf::atom_constant<caf::atom("c.read")>;
/// journal: `(snapshot, stream, version, payload)` -> unit.
using snapshot_atom = caf::atom_constant<caf::atom("c.snapshot")>;
/// journal: internal group-commit trigger.
using commit_atom = caf::atom_constant<caf::atom("c.commit")>;
/// journal: periodic compaction step (production spawn only).
using compact_atom = caf::atom_constant<caf::atom("c.compact")>;
/// journal: `(streams)` -> vector<string>, for recovery scans.
using streams_atom = caf::atom_constant<caf::atom("c.streams")>;
/// entity -> journal: archive a finished entity's final state, then drop
/// its streams (journal_actor.hpp).
using archive_atom = caf::atom_constant<caf::atom("c.archive")>;
/// entity -> journal: read an archived final state.
using archived_atom = caf::atom_constant<caf::atom("c.archived")>;
/// router -> entity (kinds in router_config::moved_notice): an activation
/// of this key ran on another node (under an older view) and has stopped;
/// what it journaled may be newer than what this activation recovered.
using moved_atom = caf::atom_constant<caf::atom("c.moved")>;
} // namespace courier::cluster
