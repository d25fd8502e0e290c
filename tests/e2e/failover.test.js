'use strict';
// Failover on a crash at default settings (issue #14): a real redis-server
// and three courier-nodes (n1, n2, n3, the default 3 s lease). Five times:
// place an order through n2 until one is owned by n1, SIGKILL n1, and time
// the kill to the first successful GET /v1/orders/{id} through n2 (a GET
// every 25 ms); then start n1 again and wait until the cluster has three
// members. Prints every kill->serving time and their p50/max, and checks
// the survivors fenced n1 (courier_cluster_fences_total) rather than
// waiting for its lease, and that the slowest kill->serving is under 1 s
// (measured ~40 ms p50, <= 84 ms max on a loaded 2-core VM: a wide margin).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const { orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(285000);

const LEASE_MS = 3000; // courier-node's default
const KILLS = Number(process.env.COURIER_FAILOVER_KILLS || 5);
const SERVING_BOUND_MS = 1000; // issue #14: under 1 s (measured p50 ~40 ms, max ~55 ms on 2 loaded cores)
// COURIER_FAILOVER_MEASURE_ONLY=1: print the times, assert nothing about
// fencing (to measure a build without it: the "before").
const MEASURE_ONLY = process.env.COURIER_FAILOVER_MEASURE_ONLY === '1';

let cluster;
const clients = [];

before(async () => {
  cluster = await C.Cluster.start(args, { nodes: 3, leaseMs: LEASE_MS });
});

after(async () => {
  for (const c of clients) c.close();
  if (cluster) await cluster.stop();
});

async function metric(node, name) {
  const r = await H.http(node, 'GET', '/metrics');
  assert.equal(r.status, 200, `/metrics of ${node.id}`);
  let sum = 0;
  for (const line of r.text.split('\n')) {
    if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/// Waits until every running node's router routes by the table's view (its
/// courier_cluster_view_version), so "owned by n1" is what the routers do.
async function waitViews(nodes, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const st = await cluster.status();
    const versions = await Promise.all(nodes.map((n) => metric(n, 'courier_cluster_view_version')));
    if (versions.every((v) => v === st.view)) return;
    if (Date.now() - t0 > ms) throw new Error(`views ${versions} never reached ${st.view}`);
    await H.sleep(100);
  }
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

describe('failover at default settings', () => {
  test(`sigkill_owner_${KILLS}_times_survivors_fence_it_and_serve_within_the_bound`, async () => {
    await C.withDiagnostics(cluster, async () => {
      const tally = new C.Tally();
      const n2 = cluster.node('n2');
      const n3 = cluster.node('n3');
      await cluster.waitStatus((s) => s.members && s.members.length === 3, 20000, '3 members');
      const base = { lat: 37.5512, lng: 126.9882 };
      const admin = await H.connectAs(n2, WebSocket, 'admin', 'ops-failover');
      clients.push(admin);
      const up = await C.call(admin, { type: 'upsert_store', store_id: 's-fo', lat: base.lat, lng: base.lng,
        radius_m: 3000, open: true }, { tally });
      assert.equal(up.type, 'ok', `upsert_store: ${JSON.stringify(up)}`);
      const token = n2.token('customer', 'c-fo');
      const times = [];
      let placed = 0;
      for (let k = 0; k < KILLS; k++) {
        await waitViews([cluster.node('n1'), n2, n3]);
        const placer = await H.connectAs(n2, WebSocket, 'customer', 'c-fo');
        clients.push(placer);
        let orderId;
        for (let i = 0; i < 40 && !orderId; i++) {
          const r = await C.call(placer, orderBody('s-fo', offset(base, 900 + 10 * placed++, 300)),
            { tally, okType: 'order_placed' });
          assert.equal(r.type, 'order_placed', `place_order: ${JSON.stringify(r)}`);
          if (await cluster.owner('order', r.order_id) === 'n1') orderId = r.order_id;
        }
        assert.ok(orderId, `kill ${k + 1}: an order owned by n1 within 40 tries`);
        const fencesBefore = await metric(n2, 'courier_cluster_fences_total') +
          await metric(n3, 'courier_cluster_fences_total');
        const killAt = await cluster.kill('n1');
        const { ms } = await C.measureServing(n2, token, orderId, killAt,
          { timeoutMs: 30000, everyMs: 25, inFlightMax: 80 });
        times.push(ms);
        const fencesAfter = await metric(n2, 'courier_cluster_fences_total') +
          await metric(n3, 'courier_cluster_fences_total');
        console.log(`kill ${k + 1}: order ${orderId} kill->serving ms: ${ms} (fences by n2+n3: ${fencesAfter - fencesBefore})`);
        if (!MEASURE_ONLY) assert.equal(fencesAfter - fencesBefore, 1, `kill ${k + 1}: exactly one survivor fenced n1`);
        placer.close();
        // Back to three members: n1 joins at once (its lease was fenced away).
        const t0 = Date.now();
        await cluster.startNode('n1');
        await cluster.waitStatus((s) => s.members && s.members.length === 3, 30000, '3 members again');
        console.log(`kill ${k + 1}: n1 restarted and in the view after ${Date.now() - t0} ms`);
      }
      const p50 = percentile(times, 50);
      const max = Math.max(...times);
      console.log(`kill->serving ms over ${times.length} kills (lease ${LEASE_MS} ms): p50 ${p50}, max ${max}; all: ${times.join(' ')}`);
      if (!MEASURE_ONLY) assert.ok(max < SERVING_BOUND_MS, `max kill->serving ${max} ms < ${SERVING_BOUND_MS} ms (the lease would take ~${LEASE_MS})`);
      assert.deepEqual(tally.unexpected.map((u) => `${u.what}: ${JSON.stringify(u.reply)}`), [], 'unexpected error replies');
    });
  });
});
