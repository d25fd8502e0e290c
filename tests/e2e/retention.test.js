'use strict';
// Retention (issue #13): a finished order leaves the journal after
// --order-retention-min and stays readable from the archive, over REST and as
// the subscribe snapshot, also after a restart; a command to it is
// `conflict`, and the metrics show it archived and its streams gone.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const { upsertStore, orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
H.watchdog(120000);

// 0.02 min = 1.2 s after the final status.
const extra = ['--order-retention-min', '0.02'];
let node;
const as = (role, id) => H.connectAs(node, WebSocket, role, id);
const base = { lat: 36.5, lng: 127.5 };

function metric(text, name) {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

before(async () => { node = await H.CourierNode.start(args, { extra }); });
after(async () => {
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

test('a_cancelled_order_is_read_from_the_archive_after_its_streams_are_dropped', async () => {
  const admin = await as('admin', 'ops-ret');
  await upsertStore(admin, 's-ret', base, 3000, true);
  const store = await as('store', 's-ret');
  const cust = await as('customer', 'c-ret');
  const placed = await cust.expect(orderBody('s-ret', offset(base, 300, 0)), 'order_placed');
  const order_id = placed.order_id;
  await store.next((m) => m.type === 'new_order' && m.order_id === order_id, 5000, 'new_order');
  const cancelled = await cust.expect({ type: 'cancel', order_id }, 'ok');
  const before = metric((await H.http(node, 'GET', '/metrics')).text, 'courier_journal_streams');

  // Archived once its void and dispatch stop are confirmed and 1.2 s passed.
  let archived = 0;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    archived = metric((await H.http(node, 'GET', '/metrics')).text, 'courier_orders_archived_total');
    if (archived >= 1) break;
    await H.sleep(200);
  }
  assert.equal(archived, 1, 'courier_orders_archived_total');
  const m = (await H.http(node, 'GET', '/metrics')).text;
  assert.ok(metric(m, 'courier_journal_streams') < before, `streams dropped: ${before} -> ${metric(m, 'courier_journal_streams')}`);
  assert.ok(metric(m, 'courier_archive_bytes') > 0, 'courier_archive_bytes');
  assert.equal(metric(m, 'courier_archive_entries'), 1, 'courier_archive_entries');

  const path = `/v1/orders/${encodeURIComponent(order_id)}`;
  const got = await H.http(node, 'GET', path, { token: node.token('customer', 'c-ret') });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.json.order_id, order_id);
  assert.equal(got.json.status, 'cancelled');
  assert.equal(got.json.version, cancelled.version);
  assert.equal(got.json.payment, 'voided', 'the archive keeps how the payment ended');
  const other = await H.http(node, 'GET', path, { token: node.token('customer', 'c-other') });
  assert.equal(other.status, 403, other.text);
  const snap = await cust.expect({ type: 'subscribe', order_id }, 'subscribed');
  assert.equal(snap.snapshot.status, 'cancelled', JSON.stringify(snap));
  assert.equal(snap.snapshot.version, cancelled.version, JSON.stringify(snap));
  const again = await cust.request({ type: 'cancel', order_id });
  assert.equal(again.type, 'error', JSON.stringify(again));
  assert.equal(again.code, 'conflict', JSON.stringify(again));
  for (const c of [admin, store, cust]) c.close();

  // After a restart the archive files answer.
  const dataDir = node.dataDir;
  const r = await node.stop(10000, { keepData: true });
  assert.equal(r.code, 0);
  node = await H.CourierNode.start(args, { extra, dataDir });
  const after = await H.http(node, 'GET', path, { token: node.token('admin', 'ops-ret') });
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.status, 'cancelled');
  assert.equal(after.json.version, cancelled.version);
  assert.equal(after.json.payment, 'voided');
});
