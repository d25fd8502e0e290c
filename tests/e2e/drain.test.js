'use strict';
// Drain under load, end to end: a real redis-server and three courier-node
// processes. Orders are driven concurrently (place, subscribe, store accept,
// rider offer/accept, cooking, ready, picked_up, delivering, delivered; some
// cancelled instead) through clients connected only to the nodes that stay,
// while every rider streams positions with an increasing seq. Mid-load the
// third node leaves: `courier-ctl drain n3` (must print `drained n3`, and n3
// must exit 0), or, in the second test, SIGTERM to n2 (exit 0). Then more
// orders. Asserts zero lost (every acknowledged request's effect is there,
// every order reaches its target state, every acknowledged change was
// pushed to its customer), zero reordered (each customer's pushes strictly
// increasing in version; each rider's acks never decrease), and no error
// replies but retried `unavailable`/`rate_limited`.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const { Rider, orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(290000);

const LEASE_MS = 2000;
const jitter = (lo, hi) => H.sleep(lo + Math.floor(Math.random() * (hi - lo)));

/// Runs the load against `cluster`: clients only on `clientIds`; `leave()`
/// makes the victim leave once enough orders are mid-flow. Resolves a
/// report; asserts nothing itself except what makes continuing pointless.
async function runLoad(cluster, { clientIds, victimId, leave, orders: N, stores: S, tag }) {
  const tally = new C.Tally();
  const clientNodes = clientIds.map((id) => cluster.node(id));
  const nodeFor = (i) => clientNodes[i % clientNodes.length];
  const all = [];
  const connect = async (node, role, id) => {
    const c = await H.connectAs(node, WebSocket, role, id);
    all.push(c);
    return c;
  };
  const admin = await connect(clientNodes[0], 'admin', `ops-${tag}`);
  const adminToken = clientNodes[0].token('admin', `ops-${tag}`);

  // Stores 5.5 km apart (beyond each other's 3 km dispatch radius), riders
  // around each store, one customer per order.
  const base = { lat: 37.40, lng: 127.10 };
  const storeAt = (k) => offset(base, 5500 * k, 0);
  const stores = [];
  for (let k = 0; k < S; k++) {
    const p = storeAt(k);
    const r = await C.call(admin, { type: 'upsert_store', store_id: `s-${tag}-${k}`, lat: p.lat, lng: p.lng,
      radius_m: 3000, open: true }, { tally });
    assert.equal(r.type, 'ok', `upsert_store: ${JSON.stringify(r)}`);
    stores.push({ id: `s-${tag}-${k}`, at: p, c: await connect(nodeFor(k), 'store', `s-${tag}-${k}`) });
  }
  const ridersPerStore = Math.ceil(N / S);
  const riders = [];
  for (let k = 0; k < S; k++) {
    for (let j = 0; j < ridersPerStore; j++) {
      const id = `r-${tag}-${k}-${j}`;
      const r = await Rider.connect(nodeFor(k * ridersPerStore + j), WebSocket, id,
        offset(storeAt(k), 150 + 60 * j, -100 + 40 * j));
      all.push(r.c);
      r.home = r.at;
      r.acceptedOk = [];
      const av = await C.call(r.c, { type: 'availability', available: true }, { tally });
      assert.equal(av.type, 'ok', `availability ${id}: ${JSON.stringify(av)}`);
      riders.push(r);
    }
  }

  const ctx = { stopped: false, assigned: new Map(), positions: 0 };
  // Every rider streams its position (increasing seq) every 300 ms.
  const stream = setInterval(() => {
    for (const r of riders) {
      if (r.c.closeInfo) continue;
      r.moveNoWait(offset(r.at, Math.random() - 0.5, Math.random() - 0.5));
      ctx.positions++;
    }
  }, 300);
  // Every rider accepts whatever it is offered (the node offers a rider one
  // order at a time).
  const agents = riders.map((r) => (async () => {
    while (!ctx.stopped && !r.c.closeInfo) {
      let offer;
      try {
        offer = await r.c.next((m) => m.type === 'offer', 1000, 'offer');
      } catch (_) {
        continue;
      }
      const res = await C.call(r.c, { type: 'accept', offer_id: offer.offer_id }, {
        tally, what: `accept ${offer.order_id}`,
        settled: async () => (await C.getOrder(clientNodes, adminToken, offer.order_id, 15000)).rider_id === r.id,
      }).catch((e) => ({ type: 'failed', error: e.message }));
      if (res.type === 'ok') r.acceptedOk.push(offer.order_id);
      if (res.type === 'ok' || res.type === 'settled') ctx.assigned.set(offer.order_id, r);
    }
  })());

  const orders = [];
  const progress = { placed: 0, accepted: 0, done: 0, failed: 0 };

  /// One order from place to its target state, through its own customer.
  async function drive(i) {
    const store = stores[i % S];
    const target = i % 6 === 5 ? 'cancelled' : 'delivered';
    const o = { i, target, acks: [], store, step: 'connect', missedNewOrder: false };
    orders.push(o);
    o.cust = await connect(nodeFor(i + 1), 'customer', `c-${tag}-${i}`);
    const drop = offset(store.at, 800 + 20 * i, 600 - 30 * i);
    const reached = (t) => async () =>
      C.rank((await C.getOrder(clientNodes, adminToken, o.id, 15000)).status) >= C.rank(t);
    const acked = (status, r) => {
      if (r.type === 'ok') {
        if (typeof r.version !== 'number') throw new Error(`${status} ok without a version: ${JSON.stringify(r)}`);
        o.acks.push({ status, version: r.version });
      } else if (r.type !== 'settled') {
        throw new Error(`order ${i} ${status}: ${JSON.stringify(r)}`);
      }
    };

    o.step = 'place';
    const placed = await C.call(o.cust, orderBody(store.id, drop), { tally, okType: 'order_placed' });
    if (placed.type !== 'order_placed') throw new Error(`order ${i} place_order: ${JSON.stringify(placed)}`);
    o.id = placed.order_id;
    progress.placed++;
    o.step = 'subscribe';
    const sub = await C.call(o.cust, { type: 'subscribe', order_id: o.id }, { tally, okType: 'subscribed' });
    if (sub.type !== 'subscribed') throw new Error(`order ${i} subscribe: ${JSON.stringify(sub)}`);
    o.snapshot = sub.snapshot;

    o.step = 'paid';
    try {
      await store.c.next((m) => m.type === 'new_order' && m.order_id === o.id, 20000, `new_order ${o.id}`);
    } catch (_) {
      o.missedNewOrder = true; // asserted at the end; go on if the order is paid anyway
      const t0 = Date.now();
      while (Date.now() - t0 < 20000 && C.rank((await C.getOrder(clientNodes, adminToken, o.id)).status) < C.rank('paid')) {
        await H.sleep(200);
      }
    }
    await jitter(300, 1000);

    if (target === 'cancelled') {
      o.step = 'cancel';
      const r = await C.call(o.cust, { type: 'cancel', order_id: o.id }, {
        tally, settled: async () => (await C.getOrder(clientNodes, adminToken, o.id, 15000)).status === 'cancelled',
      });
      acked('cancelled', r);
    } else {
      o.step = 'accept_order';
      acked('accepted', await C.call(store.c, { type: 'accept_order', order_id: o.id, prep_minutes: 8 },
        { tally, settled: reached('accepted') }));
      progress.accepted++;
      o.step = 'offer';
      const t0 = Date.now();
      while (!ctx.assigned.has(o.id)) {
        if (Date.now() - t0 > 60000) throw new Error(`order ${i} (${o.id}): no rider accepted an offer within 60 s`);
        await H.sleep(100);
      }
      const rider = ctx.assigned.get(o.id);
      o.rider = rider.id;
      await jitter(300, 1000);
      o.step = 'cooking';
      acked('cooking', await C.call(store.c, { type: 'cooking', order_id: o.id }, { tally, settled: reached('cooking') }));
      await jitter(300, 1000);
      o.step = 'ready';
      acked('ready', await C.call(store.c, { type: 'ready', order_id: o.id }, { tally, settled: reached('ready') }));
      rider.at = offset(store.at, 5, 5);
      await jitter(100, 400);
      o.step = 'picked_up';
      acked('picked_up', await C.call(rider.c, { type: 'status', order_id: o.id, status: 'picked_up' },
        { tally, settled: reached('picked_up') }));
      o.step = 'delivering';
      acked('delivering', await C.call(rider.c, { type: 'status', order_id: o.id, status: 'delivering' },
        { tally, settled: reached('delivering') }));
      for (let s = 1; s <= 5; s++) {
        rider.at = { lat: store.at.lat + (drop.lat - store.at.lat) * s / 5, lng: store.at.lng + (drop.lng - store.at.lng) * s / 5 };
        await H.sleep(200);
      }
      o.step = 'delivered';
      acked('delivered', await C.call(rider.c, { type: 'status', order_id: o.id, status: 'delivered' },
        { tally, settled: reached('delivered') }));
      rider.at = rider.home;
    }
    o.step = 'final push';
    await o.cust.next((m) => m.type === 'order_status' && m.order_id === o.id && m.status === target,
      30000, `${target} push for ${o.id}`);
    o.step = 'done';
    progress.done++;
  }

  const runs = [];
  const start = (i) => {
    const p = drive(i).catch((e) => {
      progress.failed++;
      const o = orders.find((x) => x.i === i);
      if (o) o.error = e.message;
      else orders.push({ i, error: e.message, acks: [] });
      console.error(`order ${i} failed at ${o ? o.step : 'start'}: ${e.message}`);
    });
    runs.push(p);
    return p;
  };

  // Phase A: half the orders, staggered; the victim leaves once some of
  // them are mid-flow (accepted, not done).
  const half = Math.ceil(N / 2);
  const t0 = Date.now();
  for (let i = 0; i < half; i++) {
    start(i);
    await H.sleep(200);
  }
  const waitMid = Date.now();
  while (progress.accepted < Math.min(6, half) && Date.now() - waitMid < 30000 && progress.failed === 0) await H.sleep(100);
  console.log(`[${tag}] ${victimId} leaves at +${Date.now() - t0} ms with ${JSON.stringify(progress)}`);
  const leaveReport = await leave();
  console.log(`[${tag}] ${victimId} left: ${JSON.stringify(leaveReport)} at +${Date.now() - t0} ms, ${JSON.stringify(progress)}`);
  const st = await cluster.waitStatus((s) => s.members && !s.members.some((m) => m.id === victimId), 20000,
    `${victimId} out of the table`);

  // Phase B: the rest, on the survivors.
  for (let i = half; i < N; i++) {
    start(i);
    await H.sleep(150);
  }
  await H.withTimeout(Promise.all(runs), 150000, `all ${N} orders done (${JSON.stringify(progress)})`)
    .catch((e) => { console.error(e.message); });
  ctx.stopped = true;
  clearInterval(stream);
  await Promise.all(agents);

  // Every rider's last position is acknowledged (retrying a lost one).
  const riderProblems = [];
  for (const r of riders) {
    let ok = false;
    for (let k = 0; k < 3 && !ok; k++) {
      try {
        await r.moveTo(r.home, 8000);
        ok = true;
      } catch (_) { /* again with a newer seq */ }
    }
    if (!ok) riderProblems.push(`${r.id}: last position (seq ${r.seq}) never acked`);
    riderProblems.push(...C.checkAcks(r.c, r.seq).problems);
  }

  // -- verification ---------------------------------------------------------
  const late = tally.lateAcks();
  const lost = [];
  const reordered = [];
  let pushes = 0;
  for (const o of orders) {
    if (o.error || !o.id) {
      lost.push(`order ${o.i} (${o.id || 'not placed'}) did not finish: ${o.error}`);
      if (!o.id) continue;
    }
    const final = await C.getOrder(clientNodes, adminToken, o.id).catch((e) => ({ error: e.message }));
    if (final.status !== o.target) lost.push(`order ${o.i} ${o.id}: ends ${final.status || final.error}, want ${o.target}`);
    const maxAcked = Math.max(0, ...o.acks.map((a) => a.version));
    if (!(final.version >= maxAcked)) lost.push(`order ${o.i} ${o.id}: version ${final.version} < acked ${maxAcked}`);
    if (o.rider && final.rider_id !== o.rider) lost.push(`order ${o.i} ${o.id}: rider ${final.rider_id}, acked ${o.rider}`);
    if (o.missedNewOrder) lost.push(`order ${o.i} ${o.id}: the store never got new_order`);
    const mine = o.cust ? o.cust.all.filter((m) => m.type === 'order_status' && m.order_id === o.id) : [];
    pushes += mine.length;
    for (const a of o.acks) {
      if (!mine.some((p) => p.status === a.status && p.version === a.version)) {
        lost.push(`order ${o.i} ${o.id}: acked ${a.status}@${a.version} never pushed (${mine.map((p) => `${p.status}@${p.version}`).join(' ')})`);
      }
    }
    if (o.cust && o.snapshot) {
      for (const p of C.checkPushes(o.cust, o.id, { snapshot: o.snapshot, finalStatus: o.target })) {
        (/missed|last push/.test(p) ? lost : reordered).push(`order ${o.i} ${o.id}: ${p}`);
      }
    }
  }
  for (const r of riders) {
    for (const id of r.acceptedOk) {
      const o = orders.find((x) => x.id === id);
      if (o && o.rider && o.rider !== r.id) lost.push(`${r.id} acked accept of ${id} but the order has ${o.rider}`);
    }
  }
  for (const a of late) {
    console.log(`[${tag}] late reply to an abandoned attempt: ${a.what} -> ${JSON.stringify(a.late)}`);
  }
  const errors = [
    ...tally.unexpected.map((u) => `${u.what}: ${JSON.stringify(u.reply)} after ${u.history.join(',')}`),
    ...C.bareErrors(all).map((b) => `${b.client}: ${JSON.stringify(b.error)}`),
  ];
  if (tally.retried.overloaded) errors.push(`${tally.retried.overloaded} overloaded replies (retried)`);
  const disconnected = all.filter((c) => c.closeInfo).map((c) => c.name);

  const report = {
    orders: N,
    finished: progress.done,
    delivered: orders.filter((o) => o.target === 'delivered' && !o.error).length,
    cancelled: orders.filter((o) => o.target === 'cancelled' && !o.error).length,
    acked_changes: orders.reduce((n, o) => n + o.acks.length, 0),
    customer_pushes: pushes,
    positions_sent: ctx.positions,
    rider_acks: riders.reduce((n, r) => n + r.c.received('ack').length, 0),
    tally: tally.summary(),
    late_acks: late.length,
    members_after: st.members.map((m) => m.id),
    leave: leaveReport,
    ms: Date.now() - t0,
  };
  console.log(`[${tag}] counts: ${JSON.stringify(report)}`);
  for (const c of all) c.close();
  return { report, lost, reordered: [...reordered, ...riderProblems], errors, disconnected };
}

function assertClean(r, tag) {
  const show = (xs) => xs.slice(0, 20).join('\n  ');
  assert.deepEqual(r.disconnected, [], `[${tag}] no client was disconnected`);
  assert.equal(r.lost.length, 0, `[${tag}] lost (${r.lost.length}):\n  ${show(r.lost)}`);
  assert.equal(r.reordered.length, 0, `[${tag}] reordered (${r.reordered.length}):\n  ${show(r.reordered)}`);
  assert.equal(r.errors.length, 0, `[${tag}] error replies other than retried unavailable/rate_limited (${r.errors.length}):\n  ${show(r.errors)}`);
  assert.equal(r.report.finished, r.report.orders, `[${tag}] every order reached its target`);
}

/// Starts a cluster, runs `body(cluster)`, stops the survivors (exit 0
/// each), printing diagnostics on failure.
async function withCluster(body) {
  const cluster = await C.Cluster.start(args, { nodes: 3, leaseMs: LEASE_MS });
  let failed = false;
  try {
    return await body(cluster);
  } catch (e) {
    failed = true;
    cluster.dump(e.message.slice(0, 300));
    throw e;
  } finally {
    const exits = await cluster.stop();
    if (!failed) {
      for (const [id, exit] of Object.entries(exits)) {
        assert.equal(exit.code, 0, `${id} exits 0 on SIGTERM (got ${JSON.stringify(exit)})`);
      }
    }
  }
}

describe('drain under load', () => {
  test('drain_n3_mid_load_zero_lost_zero_reordered', async () => {
    await withCluster(async (cluster) => {
      const victim = cluster.node('n3');
      const r = await runLoad(cluster, {
        tag: 'drain', clientIds: ['n1', 'n2'], victimId: 'n3', orders: 30, stores: 5,
        leave: async () => {
          const d = await cluster.drain('n3', 90000);
          const exit = await H.withTimeout(victim.exit, 30000, 'n3 exit after drained');
          console.log(`courier-ctl drain n3: code ${d.code} in ${d.ms} ms, stdout '${d.stdout.trim()}', stderr '${d.stderr.trim()}'; n3 exit ${JSON.stringify(exit)}`);
          assert.equal(d.code, 0, `courier-ctl drain n3 exits 0: ${d.stderr}`);
          assert.match(d.stdout, /^drained n3$/m, 'courier-ctl drain prints "drained n3"');
          assert.equal(exit.code, 0, `n3 exits 0 after its drain (got ${JSON.stringify(exit)})`);
          return { drain_ms: d.ms, exit };
        },
      });
      assertClean(r, 'drain');
    });
  });

  test('sigterm_n2_mid_load_zero_lost_zero_reordered', async () => {
    await withCluster(async (cluster) => {
      const victim = cluster.node('n2');
      const r = await runLoad(cluster, {
        tag: 'term', clientIds: ['n1', 'n3'], victimId: 'n2', orders: 18, stores: 3,
        leave: async () => {
          const t0 = Date.now();
          victim.child.kill('SIGTERM');
          const exit = await H.withTimeout(victim.exit, 60000, 'n2 exit after SIGTERM');
          console.log(`n2 SIGTERM -> exit ${JSON.stringify(exit)} in ${Date.now() - t0} ms; stdout: ${victim.lines.slice(-3).join(' | ')}`);
          assert.equal(exit.code, 0, `n2 exits 0 after SIGTERM (got ${JSON.stringify(exit)})`);
          // It drained and left, rather than giving up and just stopping.
          assert.doesNotMatch(victim.stderr, /stopping anyway/, `n2 drained: ${victim.stderrTail()}`);
          assert.match(victim.stderr, /drained and left the cluster/, `n2 left: ${victim.stderrTail()}`);
          return { term_ms: Date.now() - t0, exit };
        },
      });
      assertClean(r, 'term');
    });
  });
});
