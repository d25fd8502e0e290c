'use strict';
// Cluster helpers for the e2e scripts: a real redis-server on a free port, a
// set of courier-node processes joined to it (`--cluster`), courier-ctl's
// cluster commands, and a request helper that retries what a failover or a
// drain may answer (`unavailable`, `rate_limited`, `overloaded`, a reply that
// never comes) while keeping count of every retry, every ambiguous attempt
// and every unexpected error, so a test can assert "nothing lost" at the end.
// Every wait is bounded.

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const H = require('./harness');

/// `--redis PATH` (ctest passes what CMake found), else $REDIS_SERVER, else
/// Debian's path.
function redisPath() {
  const argv = process.argv;
  const i = argv.indexOf('--redis');
  if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
  return process.env.REDIS_SERVER || '/usr/bin/redis-server';
}
const REDIS_SERVER = redisPath();

/// Exits 77 (skip) when there is no redis-server to start.
function requireRedis() {
  try {
    fs.accessSync(REDIS_SERVER, fs.constants.X_OK);
  } catch (_) {
    console.log(`SKIP: no redis-server at ${REDIS_SERVER} (set REDIS_SERVER to another path)`);
    process.exit(H.SKIP);
  }
}

/// A port that was free a moment ago on 127.0.0.1.
function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/// One RESP command over a fresh connection; resolves with the raw reply.
function redisCommand(port, words, ms = 2000) {
  return new Promise((res, rej) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const t = setTimeout(() => { sock.destroy(); rej(new Error(`redis ${words[0]}: timeout`)); }, ms);
    sock.once('error', (e) => { clearTimeout(t); rej(e); });
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        clearTimeout(t);
        sock.end();
        res(buf);
      }
    });
    sock.on('connect', () => {
      sock.write(`*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`);
    });
  });
}

/// A redis-server child on 127.0.0.1 with AOF on and no RDB snapshots, in a
/// temp dir that stop() removes. `password`: the server requires it
/// (requirepass); `passwordFile` then names a file holding it.
class Redis {
  static async start({ readyMs = 15000, tries = 3, password = '' } = {}) {
    let lastErr;
    for (let i = 0; i < tries; i++) {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-e2e-redis-'));
      const r = new Redis(port, dir, password);
      try {
        await r.waitReady(readyMs);
        return r;
      } catch (e) {
        lastErr = e;
        await r.stop();
      }
    }
    throw lastErr;
  }

  constructor(port, dir, password = '') {
    this.port = port;
    this.dir = dir;
    this.log = '';
    this.passwordFile = null;
    const auth = [];
    if (password) {
      this.passwordFile = path.join(dir, 'redis-password');
      fs.writeFileSync(this.passwordFile, `${password}\n`, { mode: 0o600 });
      auth.push('--requirepass', password);
    }
    this.child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'yes', '--dir', dir, '--daemonize', 'no', ...auth], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => { this.log = (this.log + d.toString()).slice(-20000); };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exit = new Promise((res) => this.child.on('exit', (code, sig) => res({ code, sig })));
    redisChildren.add(this.child);
  }

  get url() { return `redis://127.0.0.1:${this.port}`; }
  get alive() { return this.child.exitCode === null && this.child.signalCode === null; }
  logTail(n = 15) { return this.log.split('\n').slice(-n).join('\n'); }

  async waitReady(ms) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (!this.alive) throw new Error(`redis-server exited early on port ${this.port}: ${this.logTail()}`);
      try {
        // A server that wants a password answers -NOAUTH: it is up.
        if (/^(\+PONG|-NOAUTH)/.test(await redisCommand(this.port, ['PING']))) return;
      } catch (_) { /* not listening yet */ }
      await H.sleep(100);
    }
    throw new Error(`redis-server not answering PING on ${this.port} within ${ms} ms: ${this.logTail()}`);
  }

  async stop() {
    if (this.alive) {
      this.child.kill('SIGTERM');
      try {
        await H.withTimeout(this.exit, 10000, 'redis-server exit');
      } catch (_) {
        this.child.kill('SIGKILL');
      }
    }
    redisChildren.delete(this.child);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const redisChildren = new Set();
process.on('exit', () => {
  for (const c of redisChildren) {
    try { c.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

/// Runs courier-ctl; resolves {code, stdout, stderr} (never rejects on a
/// non-zero exit; a timeout shows as code null).
function ctl(args, argv, ms = 15000) {
  return new Promise((res) => {
    execFile(args.ctl, argv, { timeout: ms }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
        stdout: String(stdout), stderr: String(stderr), err });
    });
  });
}

/// redis + courier-nodes n1..nN joined to it.
class Cluster {
  /// Starts redis and `nodes` nodes (ids n1..nN).
  /// `together`: all at once (their first views disagree), else in turn.
  /// `redisPassword`: Redis requires it; nodes and courier-ctl get it by file.
  static async start(args, { nodes = 3, leaseMs = 2000, extra = [], drainTimeoutS = 15, together = false,
    redisPassword = '' } = {}) {
    const redis = await Redis.start({ password: redisPassword });
    const c = new Cluster(args, redis, { leaseMs, extra, drainTimeoutS });
    try {
      const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
      if (together) await Promise.all(ids.map((id) => c.startNode(id)));
      else for (const id of ids) await c.startNode(id);
    } catch (e) {
      c.dump(`cluster start failed: ${e.message}`);
      await c.stop({ quiet: true });
      throw e;
    }
    return c;
  }

  constructor(args, redis, opts) {
    this.args = args;
    this.redis = redis;
    this.opts = opts;
    this.nodes = new Map(); // id -> CourierNode (also the dead ones)
  }

  get url() { return this.redis.url; }
  node(id) { return this.nodes.get(id); }
  /// --cluster URL, and the password file when Redis wants one.
  get redisFlags() {
    return ['--cluster', this.url,
      ...(this.redis.passwordFile ? ['--redis-password-file', this.redis.passwordFile] : [])];
  }

  /// Starts one node with `id`; resolves when its ready line names the
  /// cluster port and the id. `httpPort`/`tcpPort`/`dataDir`: a restart
  /// where the last incarnation was (see restart()).
  async startNode(id, extra = [], { httpPort = 0, tcpPort = 0, dataDir } = {}) {
    const fresh = !dataDir;
    dataDir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), `courier-e2e-${id}-`));
    const n = await H.CourierNode.start(this.args, {
      readyMs: 40000,
      dataDir,
      httpPort,
      tcpPort,
      extra: [...this.redisFlags, '--node-id', id, '--cluster-port', '0',
        '--lease-ms', String(this.opts.leaseMs),
        ...(this.opts.drainTimeoutS ? ['--drain-timeout-s', String(this.opts.drainTimeoutS)] : []),
        ...this.opts.extra, ...extra],
    }).catch((e) => {
      if (fresh) fs.rmSync(dataDir, { recursive: true, force: true });
      throw e;
    });
    if (n.nodeId !== id || !(n.clusterPort > 0)) {
      throw new Error(`${id}: ready line lacks ' cluster=P node=${id}': ${JSON.stringify(n.lines.slice(-3))}`);
    }
    n.id = id;
    this.nodes.set(id, n);
    return n;
  }

  /// SIGKILL; resolves with the kill time (Date.now()) once the process is gone.
  async kill(id) {
    const n = this.node(id);
    const at = Date.now();
    n.child.kill('SIGKILL');
    await H.withTimeout(n.exit, 10000, `${id} gone after SIGKILL`);
    return at;
  }

  /// Starts `id` again after it died: same ports (its clients come back to
  /// them) and the same data dir, as a supervisor restarting it would.
  async restart(id, extra = []) {
    const old = this.node(id);
    return this.startNode(id, extra, { httpPort: old.http, tcpPort: old.tcp, dataDir: old.dataDir });
  }

  /// `courier-ctl cluster status --json`, parsed.
  async status() {
    const r = await ctl(this.args, ['cluster', 'status', ...this.redisFlags, '--json']);
    if (r.code !== 0) throw new Error(`cluster status exited ${r.code}: ${r.stderr || r.stdout}`);
    try {
      return JSON.parse(r.stdout);
    } catch (e) {
      throw new Error(`cluster status --json is not JSON: ${r.stdout.slice(0, 500)}`);
    }
  }

  /// Polls status until `pred(status)` holds; resolves with that status.
  async waitStatus(pred, ms, what) {
    const t0 = Date.now();
    let last;
    let lastErr;
    while (Date.now() - t0 < ms) {
      try {
        last = await this.status();
        if (pred(last)) return last;
      } catch (e) { lastErr = e; }
      await H.sleep(200);
    }
    throw new Error(`cluster status: ${what} not reached within ${ms} ms; last: ${JSON.stringify(last)}` +
      (lastErr ? `; last error: ${lastErr.message}` : ''));
  }

  /// The owner node id of `kind:key` (`courier-ctl cluster owner`).
  async owner(kind, key) {
    const r = await ctl(this.args, ['cluster', 'owner', kind, key, ...this.redisFlags]);
    if (r.code !== 0) throw new Error(`cluster owner ${kind} ${key} exited ${r.code}: ${r.stderr || r.stdout}`);
    return r.stdout.trim();
  }

  /// `courier-ctl drain ID`: resolves {code, stdout, stderr, ms}.
  async drain(id, ms = 90000) {
    const t0 = Date.now();
    const r = await ctl(this.args, ['drain', id, ...this.redisFlags], ms);
    return { ...r, ms: Date.now() - t0 };
  }

  /// Prints what helps to understand a failure: every node's state, stdout
  /// and stderr tails, and redis' log tail.
  dump(why) {
    const out = [`===== cluster diagnostics: ${why} =====`, `redis ${this.url} alive=${this.redis.alive}`];
    for (const [id, n] of this.nodes) {
      const state = n.child.exitCode !== null || n.child.signalCode !== null
        ? `exited code=${n.child.exitCode} signal=${n.child.signalCode}` : 'running';
      out.push(`--- ${id} (http=${n.http} tcp=${n.tcp} cluster=${n.clusterPort}) ${state}`);
      out.push(`stdout: ${n.lines.slice(-6).join(' | ')}`);
      out.push(`stderr:\n${n.stderr.split('\n').slice(-25).join('\n')}`);
    }
    out.push(`--- redis log\n${this.redis.logTail(10)}`, '=====');
    console.error(out.join('\n'));
  }

  /// SIGTERM the running nodes one by one (each drains to the rest, the
  /// last has nobody to hand off to); resolves {id: exit} for each.
  async stop({ quiet = false, order } = {}) {
    const results = {};
    const ids = order || [...this.nodes.keys()].reverse();
    for (const id of ids) {
      const n = this.nodes.get(id);
      if (!n) continue;
      const wasRunning = n.child.exitCode === null && n.child.signalCode === null;
      const r = await n.stop(((this.opts.drainTimeoutS || 30) + 15) * 1000);
      if (wasRunning) results[id] = r;
    }
    await this.redis.stop();
    if (!quiet) console.log(`cluster stopped: ${JSON.stringify(results)}`);
    return results;
  }
}

// -- requests that survive failover -----------------------------------------

const RETRY_CODES = new Set(['unavailable', 'rate_limited', 'overloaded']);
// Codes after which the command may or may not have taken effect.
const AMBIGUOUS_CODES = new Set(['unavailable', 'overloaded']);

/// Counts of everything a test must account for.
class Tally {
  constructor() {
    this.acked = 0;            // replies of the expected type
    this.retried = {};         // error code -> count (retried)
    this.timeouts = 0;         // attempts with no reply within attemptMs (retried)
    this.settled = 0;          // conflict after an ambiguous attempt, state shows it applied
    this.unexpected = [];      // {what, reply} any other error
    this.abandoned = [];       // {client, ref, what, onLateOk} attempts that timed out
  }

  retry(code) { this.retried[code] = (this.retried[code] || 0) + 1; }

  /// Replies that arrived after their attempt was given up: an `ok` among
  /// them is an acknowledgement too (its effect must be present); resolves
  /// the list of those.
  lateAcks() {
    const out = [];
    for (const a of this.abandoned) {
      const r = a.client.all.find((m) => m.ref === a.ref);
      if (r) {
        a.late = r;
        if (r.type !== 'error') out.push(a);
      }
    }
    return out;
  }

  summary() {
    return { acked: this.acked, retried: this.retried, timeouts: this.timeouts, settled: this.settled,
      unexpected: this.unexpected.length, abandoned: this.abandoned.length };
  }
}

let callRefs = 0;
/// Sends `msg` until it gets a reply of type `okType`: retries `unavailable`,
/// `rate_limited`, `overloaded` and silence (each attempt waits `attemptMs`)
/// with backoff, within `deadlineMs`. A `conflict` after an ambiguous attempt
/// asks `settled()` whether the earlier attempt took effect after all (then
/// resolves {type:'settled'}). Any other reply is recorded as unexpected and
/// returned as is. Throws only when the deadline passes or the connection
/// closes.
async function call(client, msg, { tally, what = msg.type, okType = 'ok', attemptMs = 8000,
  deadlineMs = 60000, settled, meta } = {}) {
  const t0 = Date.now();
  let ambiguous = false;
  let backoff = 100;
  let attempts = 0;
  const history = [];
  for (;;) {
    if (Date.now() - t0 > deadlineMs) {
      throw new Error(`${client.name} ${what}: no '${okType}' within ${deadlineMs} ms after ${attempts} attempts: ${JSON.stringify(history.slice(-5))}`);
    }
    attempts++;
    const ref = `${client.name}#${++callRefs}`;
    if (client.closeInfo) throw new Error(`${client.name} ${what}: connection closed (${client.closeInfo.code})`);
    client.send({ ...msg, ref });
    let r;
    try {
      r = await client.next((m) => m.ref === ref, attemptMs, `reply to ${what}`);
    } catch (e) {
      if (client.closeInfo) throw e;
      tally.timeouts++;
      tally.abandoned.push({ client, ref, what, meta });
      history.push('timeout');
      ambiguous = true;
      continue;
    }
    history.push(r.type === 'error' ? r.code : r.type);
    if (r.type === okType) {
      tally.acked++;
      r.attempts = attempts;
      return r;
    }
    if (r.type === 'error' && RETRY_CODES.has(r.code)) {
      tally.retry(r.code);
      if (AMBIGUOUS_CODES.has(r.code)) ambiguous = true;
      await H.sleep(backoff);
      backoff = Math.min(backoff * 2, 1000);
      continue;
    }
    if (r.type === 'error' && r.code === 'conflict' && ambiguous && settled) {
      let done = false;
      try { done = await settled(); } catch (_) { done = false; }
      if (done) {
        tally.settled++;
        return { type: 'settled', attempts, history };
      }
    }
    tally.unexpected.push({ what: `${client.name} ${what}`, reply: r, history });
    return r;
  }
}

/// GET /v1/orders/{id} on the first of `nodes` that answers 200, retrying
/// 503s and connection errors within `ms`; resolves the JSON body.
async function getOrder(nodes, token, orderId, ms = 30000) {
  const t0 = Date.now();
  let last;
  for (let i = 0; Date.now() - t0 < ms; i++) {
    const n = nodes[i % nodes.length];
    try {
      const r = await H.http(n, 'GET', `/v1/orders/${encodeURIComponent(orderId)}`, { token });
      if (r.status === 200 && r.json) return r.json;
      last = `${r.status} ${r.text.slice(0, 200)}`;
      if (r.status !== 503 && r.status !== 429) throw new Error(`GET order ${orderId}: ${last}`);
    } catch (e) {
      if (/^GET order/.test(e.message)) throw e;
      last = e.message;
    }
    await H.sleep(100);
  }
  throw new Error(`GET order ${orderId}: no 200 within ${ms} ms (last: ${last})`);
}

const MAIN_LINE = ['placed', 'paid', 'accepted', 'cooking', 'ready', 'picked_up', 'delivering', 'delivered'];
/// Rank of a status for "never goes back" checks (off-line endings last).
function rank(status) {
  const i = MAIN_LINE.indexOf(status);
  return i >= 0 ? i : 100;
}

/// Checks the order_status pushes `client` received for `orderId` against
/// the `subscribed` snapshot: strictly increasing versions, statuses never
/// going back, and (for a `delivered` end) every main-line status after the
/// snapshot's present. Returns a list of problems (empty = fine).
function checkPushes(client, orderId, { snapshot, finalStatus }) {
  const problems = [];
  const msgs = client.all.filter((m) => m.order_id === orderId &&
    (m.type === 'order_status' || m.type === 'subscribed'));
  const pushes = msgs.filter((m) => m.type === 'order_status');
  const trail = pushes.map((m) => `${m.status}@${m.version}`).join(' ');
  for (let i = 1; i < pushes.length; i++) {
    if (!(pushes[i].version > pushes[i - 1].version)) {
      problems.push(`version not strictly increasing at #${i}: ${trail}`);
      break;
    }
    if (rank(pushes[i].status) <= rank(pushes[i - 1].status)) {
      problems.push(`status went back or repeated at #${i}: ${trail}`);
      break;
    }
  }
  // Pushes after the `subscribed` reply are newer than its snapshot.
  const subAt = msgs.findIndex((m) => m.type === 'subscribed');
  if (snapshot && subAt >= 0) {
    for (const m of msgs.slice(subAt + 1)) {
      if (m.type === 'order_status' && !(m.version > snapshot.version)) {
        problems.push(`push ${m.status}@${m.version} after a snapshot at ${snapshot.status}@${snapshot.version}`);
      }
    }
  }
  if (finalStatus === 'delivered' && snapshot) {
    const seen = new Set(pushes.map((m) => m.status));
    for (const s of MAIN_LINE.slice(rank(snapshot.status) + 1)) {
      if (!seen.has(s)) problems.push(`missed the ${s} push: ${trail} (snapshot ${snapshot.status}@${snapshot.version})`);
    }
  }
  if (finalStatus && (pushes.length === 0 || pushes.at(-1).status !== finalStatus) &&
    !(snapshot && snapshot.status === finalStatus)) {
    problems.push(`last push is not ${finalStatus}: ${trail}`);
  }
  return problems;
}

/// Acks a rider got, in arrival order: a list of problems when a later ack
/// carries a smaller seq than an earlier one, or exceeds what was sent.
function checkAcks(client, sentMax) {
  const acks = client.all.filter((m) => m.type === 'ack').map((m) => m.seq);
  const problems = [];
  for (let i = 1; i < acks.length; i++) {
    if (acks[i] < acks[i - 1]) {
      problems.push(`${client.name}: ack seq went back ${acks[i - 1]} -> ${acks[i]} (#${i} of ${acks.length})`);
      break;
    }
  }
  if (acks.length && acks.at(-1) > sentMax) problems.push(`${client.name}: ack ${acks.at(-1)} > sent ${sentMax}`);
  return { problems, count: acks.length, last: acks.at(-1) };
}

/// Errors no request of ours answers (no ref: e.g. for a rider's position)
/// whose code is not one a client simply retries.
function bareErrors(clients) {
  const out = [];
  for (const c of clients) {
    for (const m of c.all) {
      if (m.type === 'error' && m.ref === undefined && !RETRY_CODES.has(m.code)) out.push({ client: c.name, error: m });
    }
  }
  return out;
}

/// Runs `fn`; on failure prints the cluster's diagnostics before rethrowing.
async function withDiagnostics(cluster, fn) {
  try {
    return await fn();
  } catch (e) {
    if (cluster) cluster.dump(e && e.message ? e.message.slice(0, 300) : String(e));
    throw e;
  }
}

/// Kill -> serving: a GET /v1/orders/{id} at `node` every `everyMs` (each
/// with its own 5 s bound, at most `inFlightMax` in flight) until one
/// answers 200; resolves `{ ms, body }`, ms counted from `since`.
function measureServing(node, token, orderId, since,
  { timeoutMs = 60000, everyMs = 50, inFlightMax = 60 } = {}) {
  return new Promise((res, rej) => {
    let done = false;
    let inFlight = 0;
    let last = '';
    const timer = setInterval(() => {
      if (done) return;
      if (Date.now() - since > timeoutMs) {
        done = true;
        clearInterval(timer);
        rej(new Error(`GET ${orderId} through ${node.id} did not succeed within ${timeoutMs} ms after the kill (last: ${last})`));
        return;
      }
      if (inFlight >= inFlightMax) return;
      inFlight++;
      H.http(node, 'GET', `/v1/orders/${encodeURIComponent(orderId)}`, { token })
        .then((r) => {
          if (r.status === 200 && !done) {
            done = true;
            clearInterval(timer);
            res({ ms: Date.now() - since, body: r.json });
          } else {
            last = `${r.status} ${r.text.slice(0, 120)}`;
          }
        })
        .catch((e) => { last = e.message; })
        .finally(() => { inFlight--; });
    }, everyMs);
  });
}

module.exports = {
  REDIS_SERVER, requireRedis, freePort, Redis, Cluster, ctl, Tally, call, getOrder,
  MAIN_LINE, rank, checkPushes, checkAcks, bareErrors, withDiagnostics, RETRY_CODES,
  measureServing,
};
