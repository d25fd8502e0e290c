'use strict';
// Redis credentials (issue #14), end to end: a real redis-server with
// requirepass and two courier-nodes given the password by file.
//
// Proves:
// - n1 and n2 with --redis-password-file join, journal and serve an order
//   placed through n1 and read back as admin.
// - A node without the password, or with a wrong one, cannot join: it exits
//   non-zero at startup with a message that says why (and never prints the
//   password), and the membership view never lists it.
// - courier-ctl reads the view with --redis-password-file and says why it
//   cannot without it.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const { orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(110000);

const PASSWORD = 'e2e redis password';

describe('redis_auth', () => {
  let cluster;
  const clients = [];

  before(async () => {
    cluster = await C.Cluster.start(args, { nodes: 2, redisPassword: PASSWORD });
  });

  after(async () => {
    for (const c of clients) c.close();
    if (cluster) await cluster.stop();
  });

  test('nodes_with_the_password_join_and_serve', async () => {
    await C.withDiagnostics(cluster, async () => {
      await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000, '2 members');
      const n1 = cluster.node('n1');
      const tally = new C.Tally();
      const admin = await H.connectAs(n1, WebSocket, 'admin', 'ops-auth');
      clients.push(admin);
      const base = { lat: 37.5512, lng: 126.9882 };
      const up = await C.call(admin, { type: 'upsert_store', store_id: 's-auth', lat: base.lat, lng: base.lng,
        radius_m: 3000, open: true }, { tally });
      assert.equal(up.type, 'ok', `upsert_store: ${JSON.stringify(up)}`);
      const customer = await H.connectAs(n1, WebSocket, 'customer', 'c-auth');
      clients.push(customer);
      const placed = await C.call(customer, orderBody('s-auth', offset(base, 500, 300)),
        { tally, okType: 'order_placed', deadlineMs: 20000 });
      assert.equal(placed.type, 'order_placed', `place_order: ${JSON.stringify(placed)}`);
      const order = await C.getOrder([n1, cluster.node('n2')], n1.token('admin', 'ops-auth'), placed.order_id);
      assert.equal(order.order_id, placed.order_id);
      assert.deepEqual(tally.unexpected, [], 'no unexpected errors');
    });
  });

  test('a_node_without_the_password_or_with_a_wrong_one_cannot_join', async () => {
    const wrong = path.join(cluster.redis.dir, 'wrong-password');
    fs.writeFileSync(wrong, 'not the password\n');
    const cases = [
      { id: 'n-none', flags: ['--cluster', cluster.url], says: /wants a password and none was given/ },
      { id: 'n-wrong', flags: ['--cluster', cluster.url, '--redis-password-file', wrong],
        says: /refused the credentials of the default user/ },
    ];
    for (const c of cases) {
      const n = await H.CourierNode.start(args, { readyMs: 20000,
        extra: [...c.flags, '--node-id', c.id, '--cluster-port', '0', '--lease-ms', '2000'] })
        .then(() => null, (e) => e);
      assert.ok(n instanceof Error, `${c.id} must not start`);
      assert.match(n.message, /exited early \(code 1/, `${c.id} exits 1: ${n.message}`);
      assert.match(n.message, c.says, `${c.id} says why: ${n.message}`);
      assert.match(n.message, /--redis-password-file/, `${c.id} names the flag: ${n.message}`);
      assert.doesNotMatch(n.message, /not the password|e2e redis password/, `${c.id} never prints a password`);
    }
    const s = await cluster.status();
    assert.deepEqual(s.members.map((m) => m.id).sort(), ['n1', 'n2'], 'only the nodes with the password are members');
  });

  test('courier_ctl_needs_the_password_file_too', async () => {
    const without = await C.ctl(args, ['cluster', 'status', '--cluster', cluster.url, '--json']);
    assert.equal(without.code, 1, `without the password: ${without.stderr}`);
    assert.match(without.stderr, /wants a password/);
    const s = await cluster.status(); // with --redis-password-file
    assert.equal(s.members.length, 2);
  });
});
