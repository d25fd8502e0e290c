'use strict';
// SIGTERM with many live entities (issue #17): a node with ENTITIES live
// order entities and ORDERS acknowledged orders stops on SIGTERM with exit
// 0, and after a restart on the same data every acknowledged order reads
// back. Entities are activated with admin reads (GET /v1/orders/{id}: each
// read activates the order entity, which stays live until idle
// passivation); orders are placed with POST /v1/orders.
//
// Default run: 20,000 entities (the old router told them all to stop at
// once; CAF 0.17's work stealing made that quadratic). The slow label runs
// it with COURIER_SHUTDOWN_ENTITIES=1000000 (e2e_shutdown_1m). Prints
// `shutdown: entities=N live=L orders=K sigterm_to_exit_ms=T rss_kb=R`.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');

const args = H.parseArgs();
const ENTITIES = Number(process.env.COURIER_SHUTDOWN_ENTITIES || 20000);
const ORDERS = Number(process.env.COURIER_SHUTDOWN_ORDERS || 200);
const CONCURRENCY = 64;
// A hang guard, not a speed target: the bound the README documents is
// measured by the slow run and written in bench/README.md.
const EXIT_GUARD_MS = 60000;
H.watchdog(ENTITIES > 100000 ? 3300000 : 280000);

const gangnam = { lat: 37.4979, lng: 127.0276 };

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch (_) {
    return 0;
  }
}

/// Runs `n` jobs `job(i)` with at most `CONCURRENCY` in flight.
async function pool(n, job) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
}

async function liveEntities(node, admin) {
  const r = await H.http(node, 'GET', '/metrics', { token: admin });
  const m = /^courier_entities_live (\d+)/m.exec(r.text);
  return m ? Number(m[1]) : -1;
}

test(`SIGTERM with ${ENTITIES} live entities exits 0 and loses no acknowledged order`, async () => {
  // The reads come from one address and two tokens as fast as the node
  // answers: REST rate limits off (their own test is in admin_rest).
  const extra = ['--idle-passivation-s', '0', '--activations-max', String(Math.max(ENTITIES * 2, 1000)),
    '--rest-per-address-per-s', '1000000', '--rest-per-token-per-s', '1000000'];
  let node = await H.CourierNode.start(args, { extra });
  const admin = node.token('admin', 'a-1');
  const put = await H.http(node, 'PUT', '/v1/stores/s-1', {
    token: admin, body: { store_id: 's-1', lat: gangnam.lat, lng: gangnam.lng, radius_m: 3000, open: true },
  });
  assert.equal(put.status, 200, put.text);

  const placed = [];
  const customer = node.token('customer', 'c-1');
  await pool(ORDERS, async (i) => {
    const body = {
      request_id: `q-${i}`, store_id: 's-1', items: [{ sku: 'kimbap', qty: 1, price: 500 }], total: 500,
      dropoff: H.offset(gangnam, 300, 200),
    };
    const r = await H.http(node, 'POST', '/v1/orders', { token: customer, body });
    assert.equal(r.status, 201, r.text);
    placed.push(r.json.order_id);
  });

  await pool(ENTITIES, async (i) => {
    const r = await H.http(node, 'GET', `/v1/orders/o-shutdown-${i}`, { token: admin });
    assert.equal(r.status, 404, r.text);
  });
  const live = await liveEntities(node, admin);
  assert.ok(live >= ENTITIES, `only ${live} live entities`);
  const rss = rssKb(node.child.pid);

  const t0 = Date.now();
  const r = await node.stop(EXIT_GUARD_MS, { keepData: true });
  const ms = Date.now() - t0;
  console.log(`shutdown: entities=${ENTITIES} live=${live} orders=${ORDERS} sigterm_to_exit_ms=${ms} rss_kb=${rss}`);
  assert.equal(r.timedOut, undefined, `no exit within ${EXIT_GUARD_MS} ms of SIGTERM`);
  assert.equal(r.code, 0, `exit ${r.code} ${r.sig}`);

  node = await H.CourierNode.start(args, { dataDir: node.dataDir, extra });
  try {
    const reader = node.token('admin', 'a-1');
    for (const id of placed) {
      const g = await H.http(node, 'GET', `/v1/orders/${id}`, { token: reader });
      assert.equal(g.status, 200, `acknowledged order ${id} lost: ${g.text}`);
    }
  } finally {
    await node.stop();
  }
});
