'use strict';
// Mutual TLS between cluster nodes (issue #14), end to end: a real
// redis-server, certificates from scripts/make-cluster-certs.sh (a cluster
// CA signing n1, n2 and a probe identity; a second, foreign CA signing
// `rogue`).
//
// Proves:
// - n1 and n2 with CA-signed certificates form a cluster and serve orders
//   across nodes (an order owned by n2 placed and read through n1).
// - The cluster port speaks only verified TLS: a TLS client with a
//   cluster-CA certificate gets CAF's handshake bytes (the positive
//   control), one with a foreign-CA certificate or with none gets no byte
//   of application data and is cut off, and a plaintext client gets
//   nothing but (at most) a TLS alert. The same plaintext probe does get
//   CAF bytes from a plaintext (loopback, development) node, so the probe
//   would see a listener that lets plaintext through.
// - A node with a foreign-CA certificate (`a-rogue`) and a plaintext node
//   (`plain`) that reach the same Redis never get a router connection:
//   both sides log `cannot reach`, and they cannot forward (an order owned
//   by n1/n2 is not readable through them), while n1 still serves it.
//   After they are killed, the cluster serves as before.
// - Startup errors: a certificate the cluster CA did not sign, a key of
//   another certificate, an incomplete flag set, a non-loopback plaintext
//   bind: clear message, non-zero exit.
//
// Self-check: COURIER_TLS_TEST_TRUST_ROGUE=1 gives n1, n2 and a-rogue a CA
// file that trusts both CAs (verification that lets the foreign
// certificate through); the rejection checks must then fail.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const H = require('./lib/harness');
const C = require('./lib/cluster');
const { orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
C.requireRedis();
H.watchdog(170000);
try {
  execFileSync('openssl', ['version'], { timeout: 10000 });
} catch (_) {
  console.log('SKIP: no openssl command to make the test certificates (scripts/bootstrap.sh installs it)');
  process.exit(H.SKIP);
}

const LEASE_MS = 2000;
const SCRIPT = path.resolve(__dirname, '../../scripts/make-cluster-certs.sh');
/// How long a probe waits for the server's first bytes: CAF's server
/// handshake comes right after the TLS handshake (well under 100 ms here).
const PROBE_MS = 2500;
/// Orders placed while only n1 and n2 are members: later, with rogue and
/// plain in the view too, at least one of them is still owned by n1 or n2
/// (each stays with probability 1/2 under rendezvous hashing).
const ORDERS = 12;

let work;
let caDir;
let rogueDir;
let cluster;
let rogueCa; // the CA file a-rogue trusts
const clients = [];

function tlsFlags(dir, id, caFile = path.join(dir, 'ca.pem')) {
  return ['--cluster-cert', path.join(dir, `${id}.pem`), '--cluster-key', path.join(dir, `${id}.key`),
    '--cluster-ca', caFile];
}

function makeCerts(dir, nodes) {
  execFileSync('bash', [SCRIPT, '--out', dir, '--nodes', nodes], { timeout: 30000 });
}

/// Connects to 127.0.0.1:port (TLS with `tlsOpts`, else plain TCP, writing
/// `hello` once connected) and collects what the server sends for at most
/// PROBE_MS. Resolves {secure, bytes, closed, error}: `secure` says whether
/// a TLS handshake completed from the client's side, `bytes` what arrived
/// as application data (TLS) or raw (TCP).
function probe(port, { tlsOpts, hello } = {}) {
  return new Promise((res) => {
    const out = { secure: false, bytes: Buffer.alloc(0), closed: false, error: null };
    const sock = tlsOpts
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...tlsOpts })
      : net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      res(out);
    };
    const timer = setTimeout(finish, PROBE_MS);
    sock.on(tlsOpts ? 'secureConnect' : 'connect', () => {
      if (tlsOpts) out.secure = true;
      else if (hello) sock.write(hello);
    });
    sock.on('data', (d) => { out.bytes = Buffer.concat([out.bytes, d]); });
    sock.on('error', (e) => { out.error = e.code || e.message; });
    sock.on('close', () => { out.closed = true; finish(); });
  });
}

/// A TLS record's content type is its first byte: 21 alert, 22 handshake.
function onlyTlsRecords(buf) {
  return buf.length === 0 || buf[0] === 21 || buf[0] === 22;
}

/// Runs courier-node expecting it to refuse to start; resolves {code, stderr}.
function startFails(argv) {
  return new Promise((res) => {
    execFile(args.node, ['--secret', 's', '--http-port', '0', '--tcp-port', '0',
      '--data-dir', fs.mkdtempSync(path.join(work, 'data-')), ...argv], { timeout: 20000 },
    (err, stdout, stderr) => res({ code: err ? err.code : 0, stderr: String(stderr), stdout: String(stdout) }));
  });
}

/// GET /v1/orders/{id} through `node`: the HTTP status, or 0 if no answer
/// came within the harness' 5 s.
async function getStatus(node, token, orderId) {
  try {
    return (await H.http(node, 'GET', `/v1/orders/${encodeURIComponent(orderId)}`, { token })).status;
  } catch (_) {
    return 0;
  }
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-e2e-tls-'));
  caDir = path.join(work, 'cluster-ca');
  rogueDir = path.join(work, 'rogue-ca');
  makeCerts(caDir, 'n1,n2,probe');
  makeCerts(rogueDir, 'a-rogue');
  let goodCa = path.join(caDir, 'ca.pem');
  rogueCa = path.join(rogueDir, 'ca.pem');
  if (process.env.COURIER_TLS_TEST_TRUST_ROGUE === '1') {
    goodCa = path.join(work, 'both-cas.pem');
    rogueCa = goodCa;
    fs.writeFileSync(goodCa, fs.readFileSync(path.join(caDir, 'ca.pem')) + fs.readFileSync(path.join(rogueDir, 'ca.pem')));
    console.log('self-check: n1, n2 and a-rogue trust both CAs; the rejection checks must fail');
  }
  const redis = await C.Redis.start();
  cluster = new C.Cluster(args, redis, { leaseMs: LEASE_MS, extra: [], drainTimeoutS: 10 });
  try {
    for (const id of ['n1', 'n2']) await cluster.startNode(id, tlsFlags(caDir, id, goodCa));
  } catch (e) {
    cluster.dump(`start failed: ${e.message}`);
    throw e;
  }
});

after(async () => {
  for (const c of clients) c.close();
  if (cluster) {
    for (const id of ['a-rogue', 'plain']) {
      const n = cluster.node(id);
      if (n && n.child.exitCode === null && n.child.signalCode === null) await cluster.kill(id);
    }
    await cluster.stop({ quiet: true });
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('cluster mutual TLS', () => {
  let orders = []; // order ids placed through n1
  let adminToken;

  test('nodes_with_cluster_ca_certs_form_a_cluster_and_serve_an_order_across_nodes', async () => {
    await C.withDiagnostics(cluster, async () => {
      const n1 = cluster.node('n1');
      const n2 = cluster.node('n2');
      for (const n of [n1, n2]) {
        assert.ok(n.lines.some((l) => /cluster port 0\.0\.0\.0:\d+, mutual TLS/.test(l)),
          `${n.id} says it listens with mutual TLS on all interfaces: ${JSON.stringify(n.lines)}`);
      }
      await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000, '2 members');
      const tally = new C.Tally();
      const admin = await H.connectAs(n1, WebSocket, 'admin', 'ops-tls');
      clients.push(admin);
      adminToken = n1.token('admin', 'ops-tls');
      const base = { lat: 37.5512, lng: 126.9882 };
      const up = await C.call(admin, { type: 'upsert_store', store_id: 's-tls', lat: base.lat, lng: base.lng,
        radius_m: 3000, open: true }, { tally });
      assert.equal(up.type, 'ok', `upsert_store: ${JSON.stringify(up)}`);
      const customer = await H.connectAs(n1, WebSocket, 'customer', 'c-tls');
      clients.push(customer);
      const owners = {};
      for (let i = 0; i < ORDERS; i++) {
        const placed = await C.call(customer, orderBody('s-tls', offset(base, 500 + 10 * i, 300)),
          { tally, okType: 'order_placed', deadlineMs: 20000 });
        assert.equal(placed.type, 'order_placed', `place_order through n1: ${JSON.stringify(placed)}`);
        orders.push(placed.order_id);
        owners[placed.order_id] = await cluster.owner('order', placed.order_id);
      }
      const remote = orders.filter((id) => owners[id] === 'n2');
      assert.ok(remote.length > 0, `some of ${ORDERS} orders are owned by n2: ${JSON.stringify(owners)}`);
      for (const id of remote) {
        const r = await H.http(n1, 'GET', `/v1/orders/${encodeURIComponent(id)}`, { token: adminToken });
        assert.equal(r.status, 200, `order ${id} (owned by n2) read through n1: ${r.status} ${r.text.slice(0, 200)}`);
      }
      console.log(`${remote.length} of ${ORDERS} orders owned by n2, placed and read through n1 over TLS`);
      assert.deepEqual(tally.unexpected, [], 'no unexpected errors');
      for (const n of [n1, n2]) {
        assert.doesNotMatch(n.stderr, /cannot reach n[12]|connection to n[12] broke/, `${n.id} reached its peer and kept it`);
      }
    });
  });

  test('the_cluster_port_gives_nothing_to_a_foreign_or_missing_certificate_or_to_plaintext', async () => {
    await C.withDiagnostics(cluster, async () => {
      const port = cluster.node('n1').clusterPort;
      const cert = (dir, id) => ({ cert: fs.readFileSync(path.join(dir, `${id}.pem`)),
        key: fs.readFileSync(path.join(dir, `${id}.key`)) });
      // Positive control: a certificate the cluster CA signed gets CAF's
      // server handshake as application data.
      const good = await probe(port, { tlsOpts: cert(caDir, 'probe') });
      assert.ok(good.secure && good.bytes.length > 0,
        `a cluster-CA certificate gets CAF bytes: ${JSON.stringify({ ...good, bytes: good.bytes.length })}`);
      const foreign = await probe(port, { tlsOpts: cert(rogueDir, 'a-rogue') });
      assert.equal(foreign.bytes.length, 0, `a foreign-CA certificate gets no application data (error ${foreign.error})`);
      assert.ok(foreign.closed, `the server cuts a foreign-CA client off (error ${foreign.error})`);
      const none = await probe(port, { tlsOpts: {} });
      assert.equal(none.bytes.length, 0, `no certificate: no application data (error ${none.error})`);
      assert.ok(none.closed, `the server cuts a client without a certificate off (error ${none.error})`);
      // Plaintext: what a CAF node without TLS would send first (any bytes
      // that are not a TLS ClientHello).
      const plain = await probe(port, { hello: Buffer.alloc(64, 7) });
      assert.ok(onlyTlsRecords(plain.bytes),
        `plaintext gets at most a TLS alert, got ${plain.bytes.subarray(0, 16).toString('hex')}`);
      assert.ok(plain.closed, 'the server closes a plaintext connection');
      console.log(`probes: good=${good.bytes.length} bytes, foreign=${foreign.error}, none=${none.error}, plaintext=${plain.bytes.length} bytes`);
    });
  });

  test('a_foreign_ca_node_and_a_plaintext_node_never_get_a_router_connection', async () => {
    await C.withDiagnostics(cluster, async () => {
      const n1 = cluster.node('n1');
      const rogue = await cluster.startNode('a-rogue', tlsFlags(rogueDir, 'a-rogue', rogueCa));
      const plain = await cluster.startNode('plain', []);
      assert.ok(plain.lines.some((l) => /cluster port 127\.0\.0\.1:\d+, plaintext/.test(l)),
        `without certificates the port is on loopback: ${JSON.stringify(plain.lines)}`);
      // The probe that found nothing on n1 finds CAF bytes on a plaintext port.
      const control = await probe(plain.clusterPort, { hello: Buffer.alloc(64, 7) });
      assert.ok(control.bytes.length > 0 && !onlyTlsRecords(control.bytes),
        `a plaintext CAF port answers the plaintext probe: ${control.bytes.length} bytes`);
      await cluster.waitStatus((s) => s.members && s.members.length === 4, 20000, '4 members in Redis');
      // A few ticks: every member tries to connect to every other.
      const seen = (n, re) => re.test(n.stderr);
      const t0 = Date.now();
      const want = () => seen(rogue, /cannot reach n1/) && seen(rogue, /cannot reach n2/) &&
        seen(plain, /cannot reach n1/) && seen(n1, /cannot reach a-rogue/) && seen(n1, /cannot reach plain/);
      while (!want() && Date.now() - t0 < 10000) await H.sleep(200);
      assert.ok(seen(rogue, /cannot reach n1/) && seen(rogue, /cannot reach n2/), `a-rogue cannot connect to n1, n2:\n${rogue.stderrTail()}`);
      assert.ok(seen(plain, /cannot reach n1/), `plain cannot connect to n1:\n${plain.stderrTail()}`);
      assert.ok(seen(n1, /cannot reach a-rogue/) && seen(n1, /cannot reach plain/), `n1 cannot connect to a-rogue, plain:\n${n1.stderrTail()}`);
      // The refused handshakes leave the good link alone.
      for (const n of [n1, cluster.node('n2')]) {
        assert.doesNotMatch(n.stderr, /cannot reach n[12]|connection to n[12] broke/, `${n.id} keeps its peer`);
      }
      // An order still owned by a good node: n1 serves it, the others cannot
      // forward to its owner.
      let kept;
      for (const id of orders) {
        const owner = await cluster.owner('order', id);
        if (owner === 'n1' || owner === 'n2') { kept = { id, owner }; break; }
      }
      assert.ok(kept, `one of ${orders.length} orders is still owned by n1 or n2`);
      const [fromRogue, fromPlain] = await Promise.all([getStatus(rogue, adminToken, kept.id),
        getStatus(plain, adminToken, kept.id)]);
      assert.notEqual(fromRogue, 200, `a-rogue cannot read order ${kept.id} owned by ${kept.owner}`);
      assert.notEqual(fromPlain, 200, `plain cannot read order ${kept.id} owned by ${kept.owner}`);
      const fromN1 = await getStatus(n1, adminToken, kept.id);
      assert.equal(fromN1, 200, `n1 serves order ${kept.id} owned by ${kept.owner} meanwhile`);
      console.log(`order ${kept.id} (${kept.owner}): n1 ${fromN1}, rogue ${fromRogue}, plain ${fromPlain}`);

      await cluster.kill('a-rogue');
      await cluster.kill('plain');
      await cluster.waitStatus((s) => s.members && s.members.length === 2, 20000, 'back to 2 members');
      for (const id of orders) {
        const r = await C.getOrder([n1], adminToken, id, 20000);
        assert.equal(r.order_id, id, `order ${id} readable through n1 again`);
      }
    });
  });

  test('bad_tls_settings_are_startup_errors', async () => {
    const url = cluster.url;
    const base = ['--cluster', url, '--node-id', 'bad', '--cluster-port', '0'];
    const foreign = await startFails([...base, '--cluster-cert', path.join(rogueDir, 'a-rogue.pem'),
      '--cluster-key', path.join(rogueDir, 'a-rogue.key'), '--cluster-ca', path.join(caDir, 'ca.pem')]);
    assert.notEqual(foreign.code, 0, 'a certificate from another CA: non-zero exit');
    assert.match(foreign.stderr, /does not verify against the cluster CA/, foreign.stderr);
    const wrongKey = await startFails([...base, '--cluster-cert', path.join(caDir, 'n1.pem'),
      '--cluster-key', path.join(caDir, 'n2.key'), '--cluster-ca', path.join(caDir, 'ca.pem')]);
    assert.notEqual(wrongKey.code, 0, 'the key of another certificate: non-zero exit');
    assert.match(wrongKey.stderr, /does not belong to the certificate/, wrongKey.stderr);
    const noKey = await startFails([...base, '--cluster-cert', path.join(caDir, 'n1.pem'),
      '--cluster-ca', path.join(caDir, 'ca.pem')]);
    assert.notEqual(noKey.code, 0, 'a certificate without a key: non-zero exit');
    assert.match(noKey.stderr, /missing --cluster-key/, noKey.stderr);
    const unreadable = await startFails([...base, '--cluster-cert', path.join(work, 'nope.pem'),
      '--cluster-key', path.join(caDir, 'n1.key'), '--cluster-ca', path.join(caDir, 'ca.pem')]);
    assert.notEqual(unreadable.code, 0, 'an unreadable certificate: non-zero exit');
    assert.match(unreadable.stderr, /--cluster-cert: cannot read/, unreadable.stderr);
    const open = await startFails([...base, '--cluster-bind', '0.0.0.0']);
    assert.notEqual(open.code, 0, 'plaintext on all interfaces: non-zero exit');
    assert.match(open.stderr, /development only/, open.stderr);
  });
});
