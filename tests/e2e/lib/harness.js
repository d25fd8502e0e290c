'use strict';
// Shared helpers for Courier's e2e scripts: arguments, a courier-node child
// process on free ports, tokens (courier-ctl, or forged in JS), JSON
// WebSocket clients with a waitable inbox (raw frames, or the client SDK in
// clients/js), HTTP, and a global watchdog.
// Every wait has a timeout; nothing here can hang a test.

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SKIP = 77;

/// Exits 77 (ctest SKIP_RETURN_CODE) when the npm packages are not installed.
function requireDeps(names) {
  const mods = {};
  for (const n of names) {
    try {
      mods[n] = require(n);
    } catch (e) {
      console.log(`SKIP: npm package '${n}' is not installed (${e.code}); run the e2e_npm_install test first`);
      process.exit(SKIP);
    }
  }
  return mods;
}

/// `--node P --ctl P --proto P --artifacts D`, falling back to COURIER_* env vars.
function parseArgs() {
  const out = {
    node: process.env.COURIER_NODE,
    ctl: process.env.COURIER_CTL,
    proto: process.env.COURIER_PROTO ||
      path.resolve(__dirname, '../../../messages/proto/courier.proto'),
    artifacts: process.env.COURIER_ARTIFACTS || path.join(os.tmpdir(), 'courier-e2e-artifacts'),
    sim: process.env.COURIER_SIM,
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(node|ctl|proto|artifacts|sim)$/.exec(argv[i]);
    if (m && i + 1 < argv.length) out[m[1]] = argv[++i];
  }
  for (const k of ['node', 'ctl']) {
    if (!out[k] || !fs.existsSync(out[k])) {
      console.error(`missing --${k} (path to the built binary), got '${out[k]}'`);
      process.exit(2);
    }
  }
  return out;
}

/// Kills the process (and its node) if the whole script runs longer than `ms`.
function watchdog(ms) {
  const t = setTimeout(() => {
    console.error(`FAIL: global timeout of ${ms} ms reached; killing everything`);
    killAll();
    process.exit(1);
  }, ms);
  t.unref();
}

const children = new Set();
function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(1); });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Resolves `p` or rejects after `ms` with `what` in the message.
function withTimeout(p, ms, what) {
  let t;
  const timer = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

/// COURIER_E2E_NODE_FLAGS="--io-threads 2 ...": flags added to every node
/// the e2e tests start (to run the suite under another configuration).
function extraFlagsFromEnv() {
  const v = process.env.COURIER_E2E_NODE_FLAGS || '';
  return v.split(/\s+/).filter((x) => x.length > 0);
}

/// Prints every thread's stack of a process that would not stop (with gdb,
/// if installed): a hung shutdown then says where it hangs.
function dumpStacks(pid) {
  let state = '?';
  try {
    state = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
      .filter((l) => /^(State|Threads|SigPnd|ShdPnd|SigBlk|SigCgt):/.test(l)).join(' | ');
  } catch (_) { /* gone */ }
  let out = '';
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      let wchan = '';
      let kstack = '';
      try { wchan = fs.readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8'); } catch (_) { /* */ }
      try { kstack = fs.readFileSync(`/proc/${pid}/task/${t}/stack`, 'utf8').split('\n').slice(0, 6).join(' < '); } catch (_) { /* */ }
      out += `task ${stat.slice(0, 40)} wchan=${wchan} kstack=${kstack}\n`;
    }
  } catch (_) { /* gone */ }
  try {
    const r = require('node:child_process').spawnSync(
      'gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 20'],
      { timeout: 30000, encoding: 'utf8' });
    out += `${r.stdout || ''}${r.stderr || ''}`;
  } catch (_) { /* no gdb: the state line and the assertion still report the hang */ }
  console.log(`--- courier-node ${pid} did not stop (${state}) ---\n${out}\n---`);
}

/// A running courier-node: ports, stdout lines, stop().
class CourierNode {
  /// Starts a node on free ports with a fresh data dir (or the given ones:
  /// a restart on the same port and data).
  static async start(args, { secret = 'e2e-secret', extra = [], readyMs = 20000, dataDir, httpPort = 0, tcpPort = 0 } = {}) {
    dataDir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'courier-e2e-'));
    const argv = ['--http-port', String(httpPort), '--tcp-port', String(tcpPort), '--data-dir', dataDir,
      '--secret', secret, ...extra, ...extraFlagsFromEnv()];
    const child = spawn(args.node, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const n = new CourierNode(child, dataDir, secret, args);
    await withTimeout(n.ready, readyMs, `courier-node ready line (stderr: ${n.stderrTail()})`);
    return n;
  }

  constructor(child, dataDir, secret, args) {
    this.child = child;
    this.dataDir = dataDir;
    this.secret = secret;
    this.args = args;
    this.lines = [];
    this.stderr = '';
    this.exit = new Promise((res) => child.on('exit', (code, sig) => res({ code, sig })));
    this.ready = new Promise((res, rej) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.lines.push(line);
          // Cluster mode continues the line with ` cluster=P node=ID`.
          const m = /^courier-node: ready http=(\d+) tcp=(\d+)(?: cluster=(\d+) node=(\S+))?/.exec(line);
          if (m) {
            this.http = Number(m[1]);
            this.tcp = Number(m[2]);
            if (m[3] !== undefined) {
              this.clusterPort = Number(m[3]);
              this.nodeId = m[4];
            }
            res();
          }
        }
      });
      child.stderr.on('data', (d) => { this.stderr = (this.stderr + d.toString()).slice(-20000); });
      this.exit.then(({ code, sig }) => rej(new Error(`courier-node exited early (code ${code}, signal ${sig}): ${this.stderrTail()}`)));
    });
  }

  stderrTail() { return this.stderr.split('\n').slice(-15).join('\n'); }
  get wsUrl() { return `ws://127.0.0.1:${this.http}/v1/ws`; }
  get httpUrl() { return `http://127.0.0.1:${this.http}`; }

  /// A token from `courier-ctl token` signed with this node's secret.
  token(role, id, ttl) {
    const a = ['token', '--role', role, '--id', id, '--secret', this.secret];
    if (ttl !== undefined) a.push('--ttl', String(ttl));
    return execFileSync(this.args.ctl, a, { timeout: 10000 }).toString().trim();
  }

  /// SIGTERM, expecting exit 0 within `ms`; SIGKILL otherwise. Removes the
  /// data dir unless `keepData`.
  async stop(ms = 10000, { keepData = false } = {}) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      children.delete(this.child);
      if (!keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
      return this.exit;
    }
    this.child.kill('SIGTERM');
    let r;
    try {
      r = await withTimeout(this.exit, ms, 'courier-node exit after SIGTERM');
    } catch (e) {
      dumpStacks(this.child.pid);
      this.child.kill('SIGKILL');
      r = { code: null, sig: 'SIGKILL', timedOut: true };
    }
    children.delete(this.child);
    if (!keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
    if (this.stderr) console.log(`--- courier-node stderr (last lines) ---\n${this.stderrTail()}\n---`);
    return r;
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/// A token minted in JS: any claims, any secret (for expired/forged cases).
function mintToken(claims, secret) {
  const head = b64url(JSON.stringify(claims));
  const sig = crypto.createHmac('sha256', secret).update(head).digest();
  return `${head}.${b64url(sig)}`;
}

/// A JSON WebSocket client: every received message lands in an inbox that
/// `next(pred)` consumes; `request(msg)` adds a unique ref and waits for the
/// message that echoes it.
class WsClient {
  static async open(url, WebSocket, name = 'client') {
    const ws = new WebSocket(url);
    const c = new WsClient(ws, name);
    await withTimeout(new Promise((res, rej) => {
      ws.once('open', res);
      ws.once('error', rej);
    }), 5000, `${name}: websocket open ${url}`);
    return c;
  }

  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.inbox = [];
    this.all = [];
    this.waiters = [];
    this.refs = 0;
    this.closeInfo = null;
    this.closed = new Promise((res) => ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      res(this.closeInfo);
      this._wake();
    }));
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      let m;
      if (isBinary) m = { binary: Buffer.from(data) };
      else {
        try { m = JSON.parse(data.toString()); } catch (e) { m = { unparsable: data.toString() }; }
      }
      this.inbox.push(m);
      this.all.push(m);
      this._wake();
    });
  }

  _wake() {
    for (const w of [...this.waiters]) w();
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendRaw(data, opts) { this.ws.send(data, opts); }

  /// The first inbox message matching `pred` (removed from the inbox).
  next(pred, ms = 5000, what = 'a matching message') {
    if (typeof pred === 'string') {
      const t = pred;
      pred = (m) => m.type === t;
      what = `'${t}'`;
    }
    let check;
    return withTimeout(new Promise((res, rej) => {
      check = () => {
        const i = this.inbox.findIndex(pred);
        if (i >= 0) {
          const [m] = this.inbox.splice(i, 1);
          this.waiters = this.waiters.filter((w) => w !== check);
          res(m);
        } else if (this.closeInfo) {
          this.waiters = this.waiters.filter((w) => w !== check);
          rej(new Error(`${this.name}: closed (${this.closeInfo.code}) while waiting for ${what}; got ${JSON.stringify(this.all.slice(-5))}`));
        }
      };
      this.waiters.push(check);
      check();
    }), ms, `${this.name} waiting for ${what}; last received: ${JSON.stringify(this.all.slice(-5))}`)
      // A wait that timed out must not consume a later matching message.
      .finally(() => { this.waiters = this.waiters.filter((w) => w !== check); });
  }

  /// Sends `msg` with a fresh ref; resolves with the reply or error echoing
  /// it. With `bareErrors`, an error without any ref received after the send
  /// also counts (callers then check `sentRef` themselves, so a missing echo
  /// shows as a clear assertion rather than a timeout).
  async request(msg, ms = 5000, { bareErrors = false } = {}) {
    const ref = `${this.name}-${++this.refs}`;
    const from = this.all.length;
    this.send({ ...msg, ref });
    const r = await this.next((m) => m.ref === ref ||
      (bareErrors && m.type === 'error' && m.ref === undefined && this.all.indexOf(m) >= from),
    ms, `reply to ${msg.type} (ref ${ref})`);
    Object.defineProperty(r, 'sentRef', { value: ref, enumerable: false });
    return r;
  }

  /// Like request() but fails unless the reply has type `type`.
  async expect(msg, type, ms) {
    const r = await this.request(msg, ms);
    if (r.type !== type) {
      throw new Error(`${this.name}: ${msg.type} -> expected '${type}', got ${JSON.stringify(r)}`);
    }
    return r;
  }

  /// Messages of `type` received so far (not consumed).
  received(type) { return this.all.filter((m) => m.type === type); }

  close() {
    try { this.ws.close(); } catch (_) { /* gone */ }
  }
}

/// hello with `token` on a raw WebSocket; resolves with the client after
/// `welcome`. For tests of the wire itself (malformed frames, bare errors).
async function connectRaw(node, WebSocket, role, id) {
  const c = await WsClient.open(node.wsUrl, WebSocket, `${role}:${id}`);
  const w = await c.expect({ type: 'hello', token: node.token(role, id) }, 'welcome');
  if (w.role !== role || w.id !== id) throw new Error(`welcome mismatch: ${JSON.stringify(w)}`);
  return c;
}

let sdkModule = null;
/// The client SDK (clients/js, an ES module) loaded from this CommonJS file.
async function loadSdk() {
  if (!sdkModule) {
    const { pathToFileURL } = require('node:url');
    sdkModule = await import(pathToFileURL(path.resolve(__dirname, '../../../clients/js/src/index.js')).href);
  }
  return sdkModule;
}

/// WsClient's interface (inbox, next, request, expect, received, send,
/// closed, closeInfo) over the client SDK, so the e2e scripts exercise it:
/// no reconnect (a script sees every close) and no dedupe (scripts assert on
/// what the node sends). Errors answering a request resolve as the `error`
/// message, as with WsClient. `client` is the SDK Client.
class SdkClient {
  static async connect(node, WebSocket, role, id) {
    const { Client } = await loadSdk();
    const name = `${role}:${id}`;
    const client = new Client({
      url: node.wsUrl, token: node.token(role, id), WebSocket, reconnect: false, dedupe: false,
      refPrefix: `${name}-sdk-`,
    });
    const c = new SdkClient(client, name);
    const w = await withTimeout(client.connect(), 5000, `${name}: websocket open and welcome ${node.wsUrl}`);
    if (c.inbox.includes(w)) c.inbox.splice(c.inbox.indexOf(w), 1);
    if (w.role !== role || w.id !== id) throw new Error(`welcome mismatch: ${JSON.stringify(w)}`);
    return c;
  }

  constructor(client, name) {
    this.client = client;
    this.name = name;
    this.inbox = [];
    this.all = [];
    this.waiters = [];
    this.refs = 0;
    this.closeInfo = null;
    this.closed = new Promise((res) => client.on('close', ({ code, reason }) => {
      this.closeInfo = { code, reason };
      res(this.closeInfo);
      this._wake();
    }));
    client.on('message', (m) => {
      this.inbox.push(m);
      this.all.push(m);
      this._wake();
    });
  }

  _wake() { for (const w of [...this.waiters]) w(); }

  /// Sends a message object as is (no ref added).
  send(obj) {
    if (typeof obj !== 'object') throw new Error(`${this.name}: raw frames need H.connectRaw`);
    this.client.send(obj);
  }

  next(pred, ms, what) { return WsClient.prototype.next.call(this, pred, ms, what); }

  /// WsClient.request through the SDK's request(): the SDK matches the ref.
  async request(msg, ms = 5000, { bareErrors = false } = {}) {
    const ref = `${this.name}-${++this.refs}`;
    const viaSdk = this.client.request({ ...msg, ref }, { timeoutMs: ms + 1000 })
      .catch((e) => { if (e.reply) return e.reply; throw e; });
    viaSdk.catch(() => {});   // a bare error may win the race below
    let offBare = () => {};
    const racers = [viaSdk];
    if (bareErrors) {
      racers.push(new Promise((res) => {
        offBare = this.client.on('error', (e) => { if (e.reply && e.reply.ref === undefined) res(e.reply); });
      }));
    }
    let r;
    try {
      r = await withTimeout(Promise.race(racers), ms,
        `${this.name} waiting for reply to ${msg.type} (ref ${ref}); last received: ${JSON.stringify(this.all.slice(-5))}`);
    } finally {
      offBare();
    }
    const i = this.inbox.indexOf(r);
    if (i >= 0) this.inbox.splice(i, 1);
    Object.defineProperty(r, 'sentRef', { value: ref, enumerable: false });
    return r;
  }

  expect(msg, type, ms) { return WsClient.prototype.expect.call(this, msg, type, ms); }
  received(type) { return this.all.filter((m) => m.type === type); }
  close() { this.client.close(); }
}

/// hello with `token` through the client SDK; resolves with the client
/// (WsClient's interface) after `welcome`.
function connectAs(node, WebSocket, role, id) {
  return SdkClient.connect(node, WebSocket, role, id);
}

/// One HTTP request; resolves {status, headers, text, json}.
async function http(node, method, p, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 5000);
  try {
    const r = await fetch(node.httpUrl + p, {
      method, headers: h, signal: ac.signal,
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch (_) { json = undefined; }
    return { status: r.status, headers: r.headers, text, json };
  } finally {
    clearTimeout(t);
  }
}

/// A point `north_m` metres north and `east_m` metres east of `p`.
function offset(p, north_m, east_m) {
  const dLat = north_m / 111320;
  const dLng = east_m / (111320 * Math.cos((p.lat * Math.PI) / 180));
  return { lat: p.lat + dLat, lng: p.lng + dLng };
}

/// Great-circle distance in metres.
function distanceM(a, b) {
  const R = 6371008.8;
  const toR = (d) => (d * Math.PI) / 180;
  const dLat = toR(b.lat - a.lat);
  const dLng = toR(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(toR(a.lat)) * Math.cos(toR(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

/// The resolution-`res` H3 cell of a point, via `courier-ctl h3`.
function cellOf(args, p, res = 7) {
  return execFileSync(args.ctl, ['h3', 'latlng-to-cell'],
    { input: `${p.lat} ${p.lng} ${res}\n`, timeout: 10000 }).toString().trim();
}

/// The centre of the resolution-`res` cell holding `p` (a point far from any
/// cell edge, so nearby test objects share its cell).
function cellCentre(args, p, res = 7) {
  const cell = cellOf(args, p, res);
  const [lat, lng] = execFileSync(args.ctl, ['h3', 'cell-to-latlng'], { input: `${cell}\n`, timeout: 10000 })
    .toString().trim().split(/\s+/).map(Number);
  return { lat, lng, cell };
}

module.exports = {
  SKIP, requireDeps, parseArgs, watchdog, sleep, withTimeout, CourierNode, mintToken,
  WsClient, SdkClient, connectAs, connectRaw, loadSdk, http, offset, distanceM, cellOf, cellCentre, killAll,
};
