'use strict';
// Redis Sentinel failover under load (issue #15): a master, a replica and
// three sentinels (lib/sentinel.js, down-after 1 s), two courier-nodes with
// `--cluster redis-sentinel://.../courier` (journal commits, joins and
// renewals wait for the replica: WAIT 1). Two customers, one on each node,
// place orders back to back; the master is SIGKILLed under that load; the
// sentinels promote the replica; the dead server is restarted as the new
// master's replica (WAIT 1 needs one); placing goes on. Asserts: the cluster
// serves again (orders are acknowledged after the promotion), every order
// acknowledged before or after the kill is readable afterwards, nothing
// but retryable errors (unavailable, overloaded, silence) was answered, and
// `courier-ctl cluster status` works with the sentinel URL before and
// after. Prints the interruption: SIGKILL to the first acknowledgement of
// an order sent after it, and the longest gap between acknowledgements.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const S = require('./lib/sentinel');
const { orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(170000);

const LEASE_MS = 2000;
/// Load before the kill, and after the promotion at least this long and
/// this many acknowledgements.
const BEFORE_KILL_MS = 3000;
const AFTER_PROMOTION_MS = 3000;
const ACKS_AFTER_PROMOTION_MIN = 10;
/// Every placement must be acknowledged within this (retries included).
const PLACE_DEADLINE_MS = 45000;
const LOAD_DEADLINE_MS = 60000;

let sentinels;
let cluster;
const clients = [];

before(async () => {
  sentinels = await S.SentinelSet.start();
  cluster = new C.Cluster(args, sentinels, { leaseMs: LEASE_MS, extra: [], drainTimeoutS: 10 });
  try {
    await cluster.startNode('n1');
    await cluster.startNode('n2');
  } catch (e) {
    cluster.dump(`start failed: ${e.message}`);
    await cluster.stop({ quiet: true });
    cluster = null;
    throw e;
  }
});

after(async () => {
  for (const c of clients) c.close();
  if (cluster) await cluster.stop();
  else if (sentinels) await sentinels.stop();
});

describe('redis sentinel', () => {
  test('master_sigkilled_under_load_cluster_serves_after_promotion_and_no_acknowledged_order_is_lost', async () => {
    await C.withDiagnostics(cluster, async () => {
      const tally = new C.Tally();
      const n1 = cluster.node('n1');
      const n2 = cluster.node('n2');
      // courier-ctl with the sentinel URL.
      await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000, '2 members via sentinels');

      const base = { lat: 37.5512, lng: 126.9882 };
      const admin = await H.connectAs(n1, WebSocket, 'admin', 'ops-sentinel');
      clients.push(admin);
      const up = await C.call(admin, { type: 'upsert_store', store_id: 's-sen', lat: base.lat, lng: base.lng,
        radius_m: 3000, open: true }, { tally });
      assert.equal(up.type, 'ok', `upsert_store: ${JSON.stringify(up)}`);

      const placers = [];
      for (const [node, id] of [[n1, 'c-sen-1'], [n2, 'c-sen-2']]) {
        const c = await H.connectAs(node, WebSocket, 'customer', id);
        clients.push(c);
        placers.push({ c, id });
      }

      const acked = []; // {id, customer, sentAt, ackAt}
      let stop = false;
      let killAt = 0;
      let promotedAt = 0;
      const t0 = Date.now();
      const loop = async (p) => {
        for (let i = 0; !stop && Date.now() - t0 < LOAD_DEADLINE_MS; i++) {
          const sentAt = Date.now();
          const r = await C.call(p.c, orderBody('s-sen', offset(base, 900, 10 * (i % 50))),
            { tally, okType: 'order_placed', attemptMs: 4000, deadlineMs: PLACE_DEADLINE_MS,
              meta: { customer: p.id } });
          if (r.type !== 'order_placed') throw new Error(`${p.id} place_order: ${JSON.stringify(r)}`);
          acked.push({ id: r.order_id, customer: p.id, sentAt, ackAt: Date.now() });
        }
      };
      const loops = placers.map(loop);

      await H.sleep(BEFORE_KILL_MS);
      const ackedBefore = acked.length;
      assert.ok(ackedBefore >= 5, `orders are acknowledged before the kill (${ackedBefore})`);
      const old = await sentinels.master();
      assert.ok(old, 'the sentinels name the master');
      killAt = Date.now();
      await old.kill('SIGKILL');
      console.log(`SIGKILL master :${old.port} after ${ackedBefore} acknowledged orders`);
      const promoted = await sentinels.waitPromotion(old.port);
      promotedAt = Date.now();
      console.log(`sentinels promoted :${promoted.port} ${promotedAt - killAt} ms after the kill`);
      // Commits wait for one replica (WAIT 1), and the new master has none
      // until the dead one is back: its supervisor restarts it, as a
      // replica of the new master. Until then nothing is acknowledged.
      await sentinels.restartAsReplica(old);
      const replicaBackAt = Date.now();
      console.log(`old master back as a replica ${replicaBackAt - killAt} ms after the kill`);

      // Keep placing until the cluster has served a while on the new master.
      const t1 = Date.now();
      while (Date.now() - t1 < LOAD_DEADLINE_MS &&
        (Date.now() - promotedAt < AFTER_PROMOTION_MS ||
         acked.filter((a) => a.sentAt > promotedAt).length < ACKS_AFTER_PROMOTION_MIN)) {
        await H.sleep(100);
      }
      stop = true;
      await Promise.all(loops);

      const afterPromotion = acked.filter((a) => a.sentAt > promotedAt).length;
      assert.ok(afterPromotion >= ACKS_AFTER_PROMOTION_MIN,
        `orders are acknowledged after the promotion (${afterPromotion})`);
      const firstAfterKill = acked.filter((a) => a.sentAt >= killAt).sort((a, b) => a.ackAt - b.ackAt)[0];
      const times = acked.map((a) => a.ackAt).sort((a, b) => a - b);
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
      console.log(`interruption: kill->first ack of an order sent after the kill ${firstAfterKill.ackAt - killAt} ms; ` +
        `longest gap between acks ${gap} ms; acked ${acked.length} (${ackedBefore} before the kill, ` +
        `${afterPromotion} sent after the promotion); tally ${JSON.stringify(tally.summary())}`);

      // Every acknowledged order, before or after the kill (and any late
      // acknowledgement of an attempt given up on), is readable.
      for (const late of tally.lateAcks()) {
        if (late.late.type === 'order_placed') {
          acked.push({ id: late.late.order_id, customer: late.meta.customer, late: true });
        }
      }
      const adminToken = n1.token('admin', 'ops-sentinel');
      const missing = [];
      for (const a of acked) {
        try {
          const o = await C.getOrder([n2, n1], adminToken, a.id, 20000);
          if (o.order_id !== a.id && o.id !== a.id) missing.push(`${a.id}: body ${JSON.stringify(o).slice(0, 200)}`);
        } catch (e) {
          missing.push(`${a.id} (acked ${a.ackAt - killAt} ms from the kill): ${e.message}`);
        }
      }
      assert.deepEqual(missing, [], `every acknowledged order is readable (${acked.length} checked)`);
      assert.deepEqual(tally.unexpected, [], 'only retryable errors during the failover');

      // courier-ctl still reads the table through the sentinels.
      const st = await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000,
        '2 members via sentinels after the failover');
      console.log(`after the failover: view ${st.view}, epochs ${st.members.map((m) => `${m.id}=${m.epoch}`).join(' ')}`);
    });
  });
});
