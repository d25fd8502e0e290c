'use strict';
// The chaos run's verdict, as a pure function: the sim's order ledger
// (tools/sim/ledger.hpp: what customers and store tablets were told) and
// every acknowledged order's final state (GET /v1/orders/{id} as admin)
// in, a list of violations out. chaos.js feeds it; check_ledger.test.js
// proves each check fails on the ledger it is meant to catch.

const MAIN_LINE = ['placed', 'paid', 'accepted', 'cooking', 'ready', 'picked_up', 'delivering', 'delivered'];
const OFF_LINE = new Set(['payment_failed', 'rejected', 'cancelled']);

/// Rank for "never earlier than shown": the main line in order, endings off
/// it after everything they can follow.
function rank(status) {
  const i = MAIN_LINE.indexOf(status);
  return i >= 0 ? i : 100;
}

/// Parses JSON lines; a torn last line (the sim was killed mid-write) is
/// skipped and counted, anything else unparsable is a violation.
function parseLedger(text) {
  const events = [];
  const bad = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      events.push(JSON.parse(l));
    } catch (_) {
      if (i === lines.length - 1) return; // torn tail
      bad.push(`ledger line ${i + 1} is not JSON: ${l.slice(0, 120)}`);
    }
  });
  return { events, bad };
}

/// `events`: the parsed ledger. `finals`: Map order id -> the GET body, or
/// {missing: 'why'} when no node had it. `runEndMs`: when the sim stopped;
/// orders acknowledged within `graceMs` of it are not held to "the store saw
/// it" or "left placed" (their new_order may still have been in flight).
/// Returns {violations: [...], stats: {...}}.
function checkLedger(events, finals, { runEndMs, graceMs = 15000 } = {}) {
  const violations = [];
  const placed = new Map(); // order -> {store, t}
  const shown = new Map();  // order -> [{status, version, snapshot, t}]
  const tablets = new Map(); // order -> Set(store)
  for (const e of events) {
    if (e.e === 'placed') {
      if (!placed.has(e.order)) placed.set(e.order, { store: e.store, t: e.t });
    } else if (e.e === 'status') {
      if (!shown.has(e.order)) shown.set(e.order, []);
      shown.get(e.order).push(e);
    } else if (e.e === 'new_order') {
      if (!tablets.has(e.order)) tablets.set(e.order, new Set());
      tablets.get(e.order).add(e.store);
    }
  }

  const stats = { acknowledged: placed.size, byStatus: {}, payment: {}, statusesShown: 0, staleDropped: 0,
    tabletChecked: 0, inGrace: 0 };
  for (const [order, p] of placed) {
    const fin = finals.get(order);
    if (!fin || fin.missing) {
      violations.push(`lost: order ${order} was acknowledged (order_placed at ${p.t}) but no node has it: ${fin ? fin.missing : 'not read'}`);
      continue;
    }
    stats.byStatus[fin.status] = (stats.byStatus[fin.status] || 0) + 1;
    stats.payment[fin.payment] = (stats.payment[fin.payment] || 0) + 1;

    // What the customer displayed: a client drops a message whose version
    // it has already passed (PROTOCOL: clients dedupe by version); what is
    // left must never go back.
    let top = null; // {status, version}
    for (const s of shown.get(order) || []) {
      stats.statusesShown++;
      if (top && s.version < top.version) {
        stats.staleDropped++;
        continue;
      }
      if (top && s.version === top.version && s.status !== top.status) {
        violations.push(`disagreement: order ${order} shown ${top.status} and ${s.status} both at version ${s.version}`);
        break;
      }
      if (top && rank(s.status) < rank(top.status)) {
        violations.push(`regression: order ${order} shown ${s.status}@${s.version} after ${top.status}@${top.version}`);
        break;
      }
      top = { status: s.status, version: s.version };
    }
    if (top && (fin.version < top.version || rank(fin.status) < rank(top.status))) {
      violations.push(`regression: order ${order} is ${fin.status}@${fin.version} but the customer was shown ${top.status}@${top.version}`);
    }

    if (OFF_LINE.has(fin.status) && fin.payment === 'captured') {
      violations.push(`captured: order ${order} ended ${fin.status} with its payment captured`);
    }

    const inGrace = runEndMs !== undefined && p.t > runEndMs - graceMs;
    if (inGrace) {
      stats.inGrace++;
      continue;
    }
    if (fin.status === 'placed') {
      violations.push(`stuck: order ${order} still placed (payment never settled); acknowledged at ${p.t}`);
    }
    // Owed to the tablet: every order that was paid (every status but
    // placed and payment_failed; cancelled only if it was paid first, which
    // the final state cannot tell, so cancelled is left out).
    const owed = fin.status !== 'placed' && fin.status !== 'payment_failed' && fin.status !== 'cancelled';
    if (owed) {
      stats.tabletChecked++;
      const saw = tablets.get(order);
      if (!saw || !saw.has(p.store)) {
        violations.push(`tablet: store ${p.store} never got new_order for ${order} (now ${fin.status}@${fin.version})`);
      }
    }
  }
  return { violations, stats };
}

module.exports = { parseLedger, checkLedger, rank, MAIN_LINE };
