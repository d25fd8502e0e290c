'use strict';
// Cluster failover end to end: a real redis-server and three courier-node
// processes (n1, n2, n3, --lease-ms 2000). Orders are placed through n1,
// tracked by their customer from n2, the store tablet and the rider are on
// n3. An order owned by n1 is driven to mid-flow (rider assigned), then n1
// is SIGKILLed; the rest of the flow is driven from n2/n3 (retrying
// `unavailable` and silence, bounded). Asserts: the order is delivered; the
// customer, connected to n2 the whole time and never reconnecting, got
// every status after its subscription in strictly increasing versions;
// every acknowledged command's effect is there; the cluster shows 2
// members. Prints "kill->serving ms": SIGKILL to the first successful
// GET /v1/orders/{id} through n2 (a GET every 50 ms).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const { Rider, orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(285000);

const LEASE_MS = 2000;
const KIND_ORDER = 'order';

let cluster;
const clients = [];
const connect = async (node, role, id) => {
  const c = await H.connectAs(node, WebSocket, role, id);
  clients.push(c);
  return c;
};

before(async () => {
  cluster = await C.Cluster.start(args, { nodes: 3, leaseMs: LEASE_MS });
});

after(async () => {
  for (const c of clients) c.close();
  if (!cluster) return;
  const r = await cluster.stop();
  for (const [id, exit] of Object.entries(r)) {
    assert.equal(exit.code, 0, `${id} exits 0 on SIGTERM (got ${JSON.stringify(exit)})`);
  }
});

describe('cluster failover', () => {
  test('sigkill_owner_mid_flow_order_completes_customer_on_other_node_sees_every_status', async () => {
    await C.withDiagnostics(cluster, async () => {
      const tally = new C.Tally();
      const n1 = cluster.node('n1');
      const n2 = cluster.node('n2');
      const n3 = cluster.node('n3');

      // The table lists all three, with the ports their ready lines printed.
      const st0 = await cluster.waitStatus((s) => s.members && s.members.length === 3, 20000, '3 members');
      assert.equal(typeof st0.view, 'number', `status has a view version: ${JSON.stringify(st0)}`);
      for (const n of [n1, n2, n3]) {
        const m = st0.members.find((x) => x.id === n.id);
        assert.ok(m, `${n.id} in status: ${JSON.stringify(st0)}`);
        assert.equal(m.http_port, n.http, `${n.id} http_port`);
        assert.equal(m.tcp_port, n.tcp, `${n.id} tcp_port`);
        assert.equal(m.cluster_port, n.clusterPort, `${n.id} cluster_port`);
        assert.equal(typeof m.epoch, 'number', `${n.id} epoch`);
        assert.equal(typeof m.lease_left_ms, 'number', `${n.id} lease_left_ms`);
        assert.equal(m.draining, false, `${n.id} not draining`);
      }

      const base = { lat: 37.5512, lng: 126.9882 };
      const drop = offset(base, 1100, 800);
      const admin = await connect(n2, 'admin', 'ops-cluster');
      const adminToken = n2.token('admin', 'ops-cluster');
      const custToken = n2.token('customer', 'c-cl');
      const up = await C.call(admin, { type: 'upsert_store', store_id: 's-cl', lat: base.lat, lng: base.lng,
        radius_m: 3000, open: true }, { tally });
      assert.equal(up.type, 'ok', `upsert_store: ${JSON.stringify(up)}`);

      const store = await connect(n3, 'store', 's-cl');
      const rider = await Rider.connect(n3, WebSocket, 'r-cl', offset(base, 400, -200));
      clients.push(rider.c);
      const av = await C.call(rider.c, { type: 'availability', available: true }, { tally });
      assert.equal(av.type, 'ok', `availability: ${JSON.stringify(av)}`);
      // The rider streams its position (dispatch wants a recent one).
      const stream = setInterval(() => {
        if (!rider.c.closeInfo) rider.moveNoWait(rider.at);
      }, 400);

      const placer = await connect(n1, 'customer', 'c-cl');
      const tracker = await connect(n2, 'customer', 'c-cl');

      try {
        // Place through n1 until an order is owned by n1.
        let orderId;
        const others = [];
        for (let i = 0; i < 30 && !orderId; i++) {
          const placed = await C.call(placer, orderBody('s-cl', offset(drop, 10 * i, 0)), { tally, okType: 'order_placed' });
          assert.equal(placed.type, 'order_placed', `place_order through n1: ${JSON.stringify(placed)}`);
          const owner = await cluster.owner(KIND_ORDER, placed.order_id);
          assert.ok(['n1', 'n2', 'n3'].includes(owner), `cluster owner prints a node id, got '${owner}'`);
          if (owner === 'n1') orderId = placed.order_id;
          else others.push(placed.order_id);
        }
        assert.ok(orderId, `an order owned by n1 within 30 tries (owners were elsewhere: ${others.length})`);
        console.log(`order ${orderId} is owned by n1 (after ${others.length} orders owned elsewhere)`);
        // The others are not needed: cancel them (acknowledged cancels must hold too).
        const cancelled = [];
        for (const id of others) {
          const r = await C.call(tracker, { type: 'cancel', order_id: id }, { tally });
          assert.equal(r.type, 'ok', `cancel ${id}: ${JSON.stringify(r)}`);
          cancelled.push(id);
        }

        const sub = await C.call(tracker, { type: 'subscribe', order_id: orderId }, { tally, okType: 'subscribed' });
        assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
        assert.ok(sub.snapshot && typeof sub.snapshot.version === 'number', `snapshot: ${JSON.stringify(sub)}`);
        await store.next((m) => m.type === 'new_order' && m.order_id === orderId, 15000, `new_order ${orderId}`);

        const acks = []; // {status, version}: acknowledged changes
        const acked = (status, r) => {
          if (r.type === 'ok') {
            assert.equal(typeof r.version, 'number', `${status} ok carries a version: ${JSON.stringify(r)}`);
            acks.push({ status, version: r.version });
          } else {
            assert.equal(r.type, 'settled', `${status}: ${JSON.stringify(r)}`);
          }
        };
        const reached = (target) => async () =>
          C.rank((await C.getOrder([n2, n3], adminToken, orderId, 15000)).status) >= C.rank(target);

        acked('accepted', await C.call(store, { type: 'accept_order', order_id: orderId, prep_minutes: 10 },
          { tally, settled: reached('accepted') }));
        const offer = await rider.nextOffer(20000, orderId);
        const acc = await C.call(rider.c, { type: 'accept', offer_id: offer.offer_id }, { tally });
        assert.equal(acc.type, 'ok', `rider accepts the offer: ${JSON.stringify(acc)}`);
        rider.at = offset(base, 200, -100);
        await tracker.next((m) => m.type === 'rider_position' && m.order_id === orderId, 10000, 'rider_position before the kill');
        assert.equal(await cluster.owner(KIND_ORDER, orderId), 'n1', 'still owned by n1 before the kill');

        // -- SIGKILL the owner mid-flow --------------------------------------
        const trackerSeenBeforeKill = tracker.all.length;
        const killAt = await cluster.kill('n1');
        console.log(`SIGKILL n1 at ${new Date(killAt).toISOString()}`);
        const serving = C.measureServing(n2, custToken, orderId, killAt);
        serving.catch(() => {}); // awaited below

        // Drive the rest from n3's clients while the key fails over.
        acked('cooking', await C.call(store, { type: 'cooking', order_id: orderId }, { tally, settled: reached('cooking') }));
        acked('ready', await C.call(store, { type: 'ready', order_id: orderId }, { tally, settled: reached('ready') }));
        rider.at = offset(base, 5, 5);
        acked('picked_up', await C.call(rider.c, { type: 'status', order_id: orderId, status: 'picked_up' },
          { tally, settled: reached('picked_up') }));
        acked('delivering', await C.call(rider.c, { type: 'status', order_id: orderId, status: 'delivering' },
          { tally, settled: reached('delivering') }));
        for (let i = 1; i <= 8; i++) {
          const f = i / 8;
          await rider.moveTo({ lat: base.lat + (drop.lat - base.lat) * f, lng: base.lng + (drop.lng - base.lng) * f }, 15000);
          await H.sleep(100);
        }
        acked('delivered', await C.call(rider.c, { type: 'status', order_id: orderId, status: 'delivered' },
          { tally, settled: reached('delivered') }));
        // (A missing push shows below, with everything the tracker got.)
        await tracker.next((m) => m.type === 'order_status' && m.order_id === orderId && m.status === 'delivered',
          20000, 'delivered push on the tracker (n2)').catch((e) => console.error(e.message));

        const { ms: servingMs } = await serving;
        console.log(`kill->serving ms: ${servingMs} (lease ${LEASE_MS} ms; GET /v1/orders/${orderId} through n2)`);

        // -- what must hold --------------------------------------------------
        for (const late of tally.lateAcks()) {
          console.log(`late reply to an abandoned attempt: ${late.what} -> ${JSON.stringify(late.late)}`);
        }
        const final = await C.getOrder([n2], custToken, orderId);
        assert.equal(final.status, 'delivered', `final order: ${JSON.stringify(final)}`);
        assert.equal(final.rider_id, 'r-cl', `final order keeps its rider: ${JSON.stringify(final)}`);
        const maxAcked = Math.max(...acks.map((a) => a.version));
        assert.ok(final.version >= maxAcked, `final version ${final.version} >= acked ${maxAcked}`);
        if (acks.at(-1).status === 'delivered') assert.equal(final.version, acks.at(-1).version, 'delivered is the last change');

        const problems = C.checkPushes(tracker, orderId, { snapshot: sub.snapshot, finalStatus: 'delivered' });
        const pushes = tracker.all.filter((m) => m.type === 'order_status' && m.order_id === orderId);
        for (const a of acks) {
          if (!pushes.some((p) => p.status === a.status && p.version === a.version)) {
            problems.push(`acked ${a.status}@${a.version} never pushed to the tracker`);
          }
        }
        const afterKill = tracker.all.slice(trackerSeenBeforeKill);
        if (!afterKill.some((m) => m.type === 'rider_position' && m.order_id === orderId)) {
          problems.push('no rider_position reached the tracker after the kill');
        }
        console.log(`tracker saw: snapshot ${sub.snapshot.status}@${sub.snapshot.version}, pushes ` +
          pushes.map((p) => `${p.status}@${p.version}`).join(' '));
        console.log(`acked: ${acks.map((a) => `${a.status}@${a.version}`).join(' ')}; tally ${JSON.stringify(tally.summary())}`);
        assert.deepEqual(problems, [], 'customer pushes');

        assert.equal(tracker.closeInfo, null, 'the tracker on n2 was never disconnected');
        assert.equal(rider.c.closeInfo, null, 'the rider on n3 was never disconnected');
        assert.equal(store.closeInfo, null, 'the store on n3 was never disconnected');
        assert.deepEqual(tally.unexpected.map((u) => `${u.what}: ${JSON.stringify(u.reply)}`), [], 'unexpected error replies');
        assert.deepEqual(C.bareErrors([tracker, rider.c, store, admin]), [], 'errors without a ref');

        // Acknowledged cancels of the orders owned elsewhere hold too.
        for (const id of cancelled) {
          const o = await C.getOrder([n2, n3], adminToken, id);
          assert.equal(o.status, 'cancelled', `acked cancel of ${id}: ${JSON.stringify(o)}`);
        }

        // The rider's acks never went back; a last position is acked.
        clearInterval(stream);
        const lastSeq = rider.seq + 1;
        await rider.moveTo(offset(drop, -5, 0), 15000);
        const ra = C.checkAcks(rider.c, rider.seq);
        assert.deepEqual(ra.problems, [], 'rider acks');
        assert.ok(ra.last >= lastSeq, `last ack ${ra.last} covers seq ${lastSeq}`);

        // The cluster lost n1: two members (n2, n3).
        const st = await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000, '2 members after the kill');
        assert.deepEqual(st.members.map((m) => m.id).sort(), ['n2', 'n3'], `members after the kill: ${JSON.stringify(st)}`);
        assert.ok(st.view > st0.view, `view version moved on: ${st0.view} -> ${st.view}`);
        assert.notEqual(await cluster.owner(KIND_ORDER, orderId), 'n1', 'the order has a new owner');
      } finally {
        clearInterval(stream);
      }
    });
  });
});
