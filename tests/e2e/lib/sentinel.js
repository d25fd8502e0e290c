'use strict';
// Redis with Sentinel for the e2e scripts: one master, one replica and three
// sentinels (Debian's redis-sentinel, or redis-server --sentinel), all on
// 127.0.0.1 free ports in temp dirs, with a short down-after so a failover
// takes seconds. Duck-types lib/cluster.js's Redis (url, alive, logTail,
// stop), so a C.Cluster runs its nodes against it. Every wait is bounded.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const H = require('./harness');
const C = require('./cluster');

const MASTER_NAME = 'courier';
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 3000;

/// `--redis-sentinel PATH`, else Debian's redis-sentinel, else
/// redis-server with --sentinel (the same program).
function sentinelCommand() {
  const argv = process.argv;
  const i = argv.indexOf('--redis-sentinel');
  if (i >= 0 && i + 1 < argv.length) return { bin: argv[i + 1], args: [] };
  try {
    fs.accessSync('/usr/bin/redis-sentinel', fs.constants.X_OK);
    return { bin: '/usr/bin/redis-sentinel', args: [] };
  } catch (_) {
    return { bin: C.REDIS_SERVER, args: ['--sentinel'] };
  }
}

/// Parses one RESP value from `buf` at `at`: {value, end}, or null when
/// more bytes are needed.
function parseResp(buf, at = 0) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const kind = buf[at];
  const line = buf.slice(at + 1, eol);
  if (kind === '+' || kind === ':') return { value: kind === ':' ? Number(line) : line, end: eol + 2 };
  if (kind === '-') return { value: new Error(line), end: eol + 2 };
  if (kind === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: eol + 2 };
    if (buf.length < eol + 2 + n + 2) return null;
    return { value: buf.slice(eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
  }
  if (kind === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, end: eol + 2 };
    const out = [];
    let pos = eol + 2;
    for (let k = 0; k < n; k++) {
      const v = parseResp(buf, pos);
      if (!v) return null;
      out.push(v.value);
      pos = v.end;
    }
    return { value: out, end: pos };
  }
  throw new Error(`unexpected RESP reply: ${buf.slice(at, at + 80)}`);
}

/// One command on a fresh connection; resolves the parsed reply (an Error
/// value for an error reply), rejects on timeout or a refused connection.
/// Binary-unsafe (latin1), which is fine for the admin commands used here.
function command(port, words, ms = 2000) {
  return new Promise((res, rej) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const t = setTimeout(() => { sock.destroy(); rej(new Error(`redis :${port} ${words[0]}: timeout`)); }, ms);
    sock.once('error', (e) => { clearTimeout(t); rej(e); });
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const v = parseResp(buf);
      if (v) {
        clearTimeout(t);
        sock.end();
        res(v.value);
      }
    });
    sock.on('connect', () => {
      sock.write(`*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`);
    });
  });
}

/// One redis-server or sentinel child in its own temp dir.
class Proc {
  constructor(name, bin, argv, dir, port) {
    this.name = name;
    this.port = port;
    this.dir = dir;
    this.log = '';
    this.child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => { this.log = (this.log + d.toString()).slice(-20000); };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exit = new Promise((res) => this.child.on('exit', (code, sig) => res({ code, sig })));
    procs.add(this.child);
  }

  get alive() { return this.child.exitCode === null && this.child.signalCode === null; }
  logTail(n = 10) { return this.log.split('\n').slice(-n).join('\n'); }

  async waitPing(ms = 10000) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (!this.alive) throw new Error(`${this.name} exited early on port ${this.port}: ${this.logTail()}`);
      try {
        if ((await command(this.port, ['PING'])) === 'PONG') return;
      } catch (_) { /* not listening yet */ }
      await H.sleep(50);
    }
    throw new Error(`${this.name} not answering PING on ${this.port} within ${ms} ms: ${this.logTail()}`);
  }

  async kill(sig = 'SIGKILL') {
    if (this.alive) {
      this.child.kill(sig);
      try {
        await H.withTimeout(this.exit, 10000, `${this.name} exit`);
      } catch (_) {
        this.child.kill('SIGKILL');
      }
    }
    procs.delete(this.child);
  }
}

const procs = new Set();
process.on('exit', () => {
  for (const c of procs) {
    try { c.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
});

/// Polls `fn` (async, truthy = done) every 100 ms within `ms`.
async function until(fn, ms, what) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < ms) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e.message; }
    await H.sleep(100);
  }
  throw new Error(`${what} not within ${ms} ms${last ? ` (last error: ${last})` : ''}`);
}

/// Master + replica + three sentinels.
class SentinelSet {
  static async start() {
    const s = new SentinelSet();
    try {
      await s.launch();
    } catch (e) {
      console.error(s.logs());
      await s.stop();
      throw e;
    }
    return s;
  }

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-e2e-sentinel-'));
    this.servers = []; // [master, replica] at start
    this.sentinels = [];
  }

  async launch() {
    const server = async (name, extra) => {
      const port = await C.freePort();
      const dir = path.join(this.dir, name);
      fs.mkdirSync(dir);
      return this.runServer(name, port, dir, extra);
    };
    const master = await server('master', []);
    const replica = await server('replica', ['--replicaof', '127.0.0.1', String(master.port)]);
    this.servers = [master, replica];
    await until(async () => /master_link_status:up/.test(await command(replica.port, ['INFO', 'replication'])),
      10000, 'replica link up');
    const { bin, args } = sentinelCommand();
    for (let i = 0; i < 3; i++) {
      const port = await C.freePort();
      const dir = path.join(this.dir, `sentinel${i + 1}`);
      fs.mkdirSync(dir);
      const conf = path.join(dir, 'sentinel.conf');
      fs.writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`, ''].join('\n'));
      const p = new Proc(`sentinel${i + 1}`, bin, [conf, ...args], dir, port);
      this.sentinels.push(p);
    }
    for (const p of this.sentinels) await p.waitPing();
    // A failover needs every sentinel to know the replica (from the
    // master's INFO) and a majority to know each other (hello messages,
    // every 2 s).
    for (const p of this.sentinels) {
      await until(async () => {
        const replicas = await command(p.port, ['SENTINEL', 'replicas', MASTER_NAME]);
        const others = await command(p.port, ['SENTINEL', 'sentinels', MASTER_NAME]);
        return Array.isArray(replicas) && replicas.length === 1 && Array.isArray(others) && others.length === 2;
      }, 20000, `${p.name} knows the replica and the other sentinels`);
    }
  }

  /// A redis-server on `port` in `dir` (AOF on, no RDB; no 5 s pause
  /// before a replica's first sync).
  async runServer(name, port, dir, extra) {
    const p = new Proc(name, C.REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'yes', '--repl-diskless-sync-delay', '0', '--dir', dir,
      '--daemonize', 'no', ...extra], dir, port);
    await p.waitPing();
    return p;
  }

  /// Restarts a dead server on its port and data dir as a replica of the
  /// master now (as its supervisor would, with the configuration Sentinel
  /// gives a demoted master); resolves once its link is up.
  async restartAsReplica(dead, ms = 15000) {
    const master = await this.master();
    if (!master) throw new Error('no master to replicate');
    const p = await this.runServer(dead.name, dead.port, dead.dir,
      ['--replicaof', '127.0.0.1', String(master.port)]);
    this.servers[this.servers.indexOf(dead)] = p;
    await until(async () => /master_link_status:up/.test(await command(p.port, ['INFO', 'replication'])),
      ms, `${p.name} replicating again`);
    return p;
  }

  get url() {
    return `redis-sentinel://${this.sentinels.map((p) => `127.0.0.1:${p.port}`).join(',')}/${MASTER_NAME}`;
  }
  get alive() { return this.sentinels.every((p) => p.alive); }

  /// The port the first sentinel that answers names for the master.
  async masterPort() {
    for (const p of this.sentinels) {
      try {
        const r = await command(p.port, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME], 1000);
        if (Array.isArray(r)) return Number(r[1]);
      } catch (_) { /* next */ }
    }
    return 0;
  }

  /// The redis-server that is master now (by the sentinels).
  async master() {
    const port = await this.masterPort();
    return this.servers.find((s) => s.port === port);
  }

  /// Waits until the sentinels name another server than `oldPort` and it
  /// says ROLE master; resolves that server.
  async waitPromotion(oldPort, ms = 30000) {
    return until(async () => {
      const port = await this.masterPort();
      if (!port || port === oldPort) return null;
      const role = await command(port, ['ROLE']);
      return Array.isArray(role) && role[0] === 'master' ? this.servers.find((s) => s.port === port) : null;
    }, ms, `a master other than :${oldPort}`);
  }

  logTail(n = 8) { return this.logs(n); }
  logs(n = 8) {
    return [...this.servers, ...this.sentinels]
      .map((p) => `--- ${p.name} :${p.port} alive=${p.alive}\n${p.logTail(n)}`).join('\n');
  }

  async stop() {
    for (const p of [...this.sentinels, ...this.servers]) await p.kill('SIGTERM');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { SentinelSet, MASTER_NAME, command, DOWN_AFTER_MS };
