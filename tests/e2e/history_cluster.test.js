'use strict';
// Location history in cluster mode (issue #13): a real redis-server and two
// courier-nodes. Riders connected to n1 send positions; wherever their
// entities run, the history lands in Redis, so n2, which never saw them,
// answers GET /v1/riders/{id}/history and `courier-ctl history` for every
// rider, raw and by the minute; `courier_history_bytes` counts what Redis holds.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const H = require('./lib/harness');
const C = require('./lib/cluster');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(150000);

const riders = ['r-hc-1', 'r-hc-2', 'r-hc-3', 'r-hc-4'];
const points = 24; // two minutes at one per 5 s
const firstAt = Math.floor((Date.now() - points * 5000 - 10000) / 1000) * 1000;
const at = (i) => firstAt + i * 5000;
const latOf = (r, i) => 37.49 + r * 0.01 + i * 1e-4;

let cluster;

before(async () => {
  cluster = await C.Cluster.start(args, { nodes: 2, leaseMs: 2000, extra: ['--history-flush-interval-s', '2'] });
  const n1 = cluster.node('n1');
  for (let r = 0; r < riders.length; r++) {
    const c = await H.connectAs(n1, WebSocket, 'rider', riders[r]);
    for (let i = 0; i < points; i++) {
      c.send({ type: 'position', seq: i + 1, lat: latOf(r, i), lng: 127.02, time_ms: at(i) });
    }
    await c.next((m) => m.type === 'ack' && m.seq >= points, 15000, `${riders[r]}: ack >= ${points}`);
    c.close();
  }
});

after(async () => {
  if (!cluster) return;
  const r = await cluster.stop();
  for (const [id, exit] of Object.entries(r)) {
    assert.equal(exit.code, 0, `${id} exits 0 on SIGTERM (got ${JSON.stringify(exit)})`);
  }
});

test('any_node_answers_for_any_rider_from_redis', async () => {
  const n2 = cluster.node('n2');
  const tok = n2.token('admin', 'ops-hc');
  // A node writes its history every --history-flush-interval-s (2 s here),
  // so the riders n1 owns show on n2 within that; the wait is bounded.
  const deadline = Date.now() + 20000;
  for (let r = 0; r < riders.length; r++) {
    let got;
    for (;;) {
      got = await H.http(n2, 'GET', `/v1/riders/${riders[r]}/history?from=${firstAt}`, { token: tok });
      assert.equal(got.status, 200, got.text);
      if (got.json.points.length === points || Date.now() > deadline) break;
      await H.sleep(500);
    }
    assert.equal(got.json.points.length, points, `${riders[r]} through n2: ${got.text.slice(0, 300)}`);
    got.json.points.forEach((p, i) => {
      assert.equal(p.at_ms, at(i));
      assert.ok(Math.abs(p.lat - latOf(r, i)) < 1e-6, `${riders[r]} point ${i}`);
    });
    const m = await H.http(n2, 'GET', `/v1/riders/${riders[r]}/history?from=${firstAt - 60000}&detail=minute`,
      { token: tok });
    // The open minute is written when its rider has been idle for 2 minutes
    // or its node stops: at least the closed ones are there now.
    const counted = m.json.points.reduce((n, x) => n + x.count, 0);
    assert.ok(counted > 0 && counted <= points, `${riders[r]} minutes: ${m.text}`);
  }
  const ctl = spawnSync(args.ctl, ['history', riders[0], '--node', n2.httpUrl, '--secret', n2.secret,
    '--from', String(firstAt)], { encoding: 'utf8', timeout: 20000 });
  assert.equal(ctl.status, 0, ctl.stderr);
  assert.equal(ctl.stdout.split('\n').filter((l) => l && !l.startsWith('#')).length, points, ctl.stdout);
  // The size gauge sums Redis's per-hour counters every 10 s.
  let bytes = 0;
  for (const until = Date.now() + 15000; Date.now() < until; await H.sleep(500)) {
    const metrics = await H.http(n2, 'GET', '/metrics');
    bytes = Number(/^courier_history_bytes ([0-9]+)$/m.exec(metrics.text)?.[1] ?? 0);
    if (bytes >= riders.length * points * 20) break;
  }
  assert.ok(bytes >= riders.length * points * 20, `courier_history_bytes counts Redis's samples: ${bytes}`);
});
