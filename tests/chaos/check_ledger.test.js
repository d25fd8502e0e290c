'use strict';
// The chaos run's checks, on hand-written ledgers: a clean run passes, and
// each kind of violation is caught (so the run cannot pass by checking
// nothing).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { parseLedger, checkLedger } = require('./check_ledger');

const T = 1000000;
const placed = (order, store = 's-1', t = T) => ({ e: 'placed', t, order, store, customer: 'c', request: 'q' });
const status = (order, s, version, snapshot = false) => ({ e: 'status', t: T, order, status: s, version, snapshot });
const tablet = (order, store = 's-1') => ({ e: 'new_order', t: T, order, store });
const fin = (s, version, payment = 'authorized') => ({ status: s, version, payment });
const run = (events, finals, opts = { runEndMs: T + 60000 }) =>
  checkLedger(events, new Map(Object.entries(finals)), opts);

test('a clean run has no violations', () => {
  const { violations, stats } = run(
    [placed('o1'), status('o1', 'placed', 1, true), status('o1', 'paid', 2), tablet('o1'),
      status('o1', 'accepted', 3), status('o1', 'paid', 2) /* stale re-send, dropped */,
      status('o1', 'accepted', 3, true) /* snapshot after a reconnect */, status('o1', 'delivered', 8)],
    { o1: fin('delivered', 8, 'captured') });
  assert.deepEqual(violations, []);
  assert.equal(stats.staleDropped, 1);
  assert.equal(stats.tabletChecked, 1);
});

test('an acknowledged order no node has is lost', () => {
  const { violations } = run([placed('o1')], { o1: { missing: '404' } });
  assert.match(violations[0], /^lost: order o1/);
});

test('a status shown after a later one is a regression', () => {
  const { violations } = run(
    [placed('o1'), tablet('o1'), status('o1', 'ready', 5), status('o1', 'cooking', 6)],
    { o1: fin('ready', 6) });
  assert.match(violations[0], /^regression: order o1 shown cooking@6 after ready@5/);
});

test('a final state behind what the customer saw is a regression', () => {
  const { violations } = run([placed('o1'), tablet('o1'), status('o1', 'accepted', 3)], { o1: fin('paid', 2) });
  assert.match(violations[0], /^regression: order o1 is paid@2/);
});

test('two statuses at one version disagree', () => {
  const { violations } = run([placed('o1'), tablet('o1'), status('o1', 'accepted', 3), status('o1', 'rejected', 3)],
    { o1: fin('rejected', 3, 'voided') });
  assert.match(violations[0], /^disagreement/);
});

test('an order ended off the main line with a captured payment is caught', () => {
  const { violations } = run([placed('o1'), tablet('o1')], { o1: fin('rejected', 3, 'captured') });
  assert.match(violations[0], /^captured: order o1 ended rejected/);
});

test('a paid order its store never saw is caught, unless it came in the last seconds', () => {
  const late = T + 55000;
  const { violations, stats } = run(
    [placed('o1'), placed('o2', 's-2', late), tablet('o1', 's-9')],
    { o1: fin('paid', 2), o2: fin('paid', 2) });
  assert.equal(violations.length, 1);
  assert.match(violations[0], /^tablet: store s-1 never got new_order for o1/);
  assert.equal(stats.inGrace, 1);
});

test('an order whose payment never settled is stuck; a declined one is not owed to its store', () => {
  const { violations } = run([placed('o1'), placed('o2')],
    { o1: fin('placed', 1, 'pending'), o2: fin('payment_failed', 2, 'declined') });
  assert.equal(violations.length, 1);
  assert.match(violations[0], /^stuck: order o1/);
});

test('the ledger parser skips a torn last line and reports any other bad line', () => {
  const ok = parseLedger(`${JSON.stringify(placed('o1'))}\n{"e":"pla`);
  assert.equal(ok.events.length, 1);
  assert.deepEqual(ok.bad, []);
  const bad = parseLedger(`{oops\n${JSON.stringify(placed('o1'))}\n`);
  assert.equal(bad.bad.length, 1);
});
