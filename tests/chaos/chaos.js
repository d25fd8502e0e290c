'use strict';
// The chaos run (issue #14; ctest `chaos_run`, label `slow`; README.md here).
//
// A real redis-server and three courier-nodes (n1..n3, default 3 s lease,
// a simulated payment provider that declines, times out and fails
// transiently now and then) under a steady load from courier-sim: riders
// streaming positions, customers placing and following orders, store
// tablets accepting and cooking, every client moving to the next node when
// its connection breaks. Every COURIER_CHAOS_EVERY_S (20 s) for
// COURIER_CHAOS_S (180 s) a random node is SIGKILLed and restarted on the
// same ports and data, or SIGSTOPped for longer than its lease and then
// continued. Then all nodes stay up for COURIER_CHAOS_QUIET_S (40 s), the
// sim stops and every order it was acknowledged is read back as admin.
//
// Passes when (check_ledger.js): 0 acknowledged orders lost, 0 statuses
// shown to a customer that go back (after the clients' version dedupe),
// 0 orders ended off the main line with a captured payment, every paid
// order reached its store's tablet, no order stuck in `placed`, and no
// node died but by our hand. Prints the schedule (seed COURIER_CHAOS_SEED,
// random by default: rerun a failure with it), the sim's summary and the
// counts; keeps the ledger and the verdict in the artifacts dir.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const H = require('../e2e/lib/harness');
const C = require('../e2e/lib/cluster');
const { parseLedger, checkLedger } = require('./check_ledger');

const args = H.parseArgs();
C.requireRedis();
if (!args.sim || !fs.existsSync(args.sim)) {
  console.error(`missing --sim (path to courier-sim), got '${args.sim}'`);
  process.exit(2);
}

const envNum = (name, dflt) => (process.env[name] !== undefined ? Number(process.env[name]) : dflt);
const CHAOS_S = envNum('COURIER_CHAOS_S', 180);
const EVERY_S = envNum('COURIER_CHAOS_EVERY_S', 20);
const WARMUP_S = envNum('COURIER_CHAOS_WARMUP_S', 20);
const QUIET_S = envNum('COURIER_CHAOS_QUIET_S', 40);
const STOP_HOLD_MS = envNum('COURIER_CHAOS_STOP_MS', 8000); // > the 3 s lease: the others take over
const RESTART_AFTER_MS = envNum('COURIER_CHAOS_RESTART_MS', 1000);
const ORDERS_PER_MIN = envNum('COURIER_CHAOS_ORDERS_PER_MIN', 300);
const SEED = process.env.COURIER_CHAOS_SEED !== undefined
  ? Number(process.env.COURIER_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const SIM_S = WARMUP_S + CHAOS_S + QUIET_S;
H.watchdog((SIM_S + 300) * 1000);

const NODE_FLAGS = ['--payment-decline-rate', '0.03', '--payment-timeout-rate', '0.01',
  '--payment-transient-rate', '0.05'];
const SECRET = 'e2e-secret'; // harness.CourierNode's default

/// mulberry32: the schedule is a function of SEED.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const t0 = Date.now();
const log = (m) => console.log(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

function startSim(cluster, ledgerPath, summaryPath) {
  const nodes = ['n1', 'n2', 'n3'].map((id) => cluster.node(id));
  const argv = ['--http-port', nodes.map((n) => n.http).join(','), '--secret', SECRET,
    '--riders', '150', '--stores', '20', '--customers', '150', '--speedup', '20',
    '--orders-per-min', String(ORDERS_PER_MIN), '--store-reject-rate', '0.05', '--cancel-rate', '0.05', '--duration-s', String(SIM_S), '--seed', String(SEED),
    '--reconnect-max', '100', '--order-timeout-s', String(SIM_S + 60), '--progress-s', '10',
    '--ledger', ledgerPath, '--json-summary', summaryPath];
  log(`courier-sim ${argv.join(' ')}`);
  const child = spawn(args.sim, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let errTail = '';
  child.stdout.on('data', (d) => {
    for (const l of d.toString().split('\n')) if (l.trim()) console.log(`  sim| ${l}`);
  });
  child.stderr.on('data', (d) => { errTail = (errTail + d.toString()).slice(-4000); });
  const exit = new Promise((res) => child.on('exit', (code, sig) => res({ code, sig, errTail: () => errTail })));
  return { child, exit };
}

/// Watches for a node that dies when we did not kill it.
function watchUnexpected(cluster, expected, problems) {
  const seen = new Set();
  const timer = setInterval(() => {
    for (const [id, n] of cluster.nodes) {
      if (seen.has(n) || expected.has(n)) continue;
      if (n.child.exitCode !== null || n.child.signalCode !== null) {
        seen.add(n);
        problems.push(`node ${id} exited on its own (code ${n.child.exitCode}, signal ${n.child.signalCode}): ${n.stderrTail()}`);
        log(`!! ${id} exited on its own`);
      }
    }
  }, 200);
  return () => clearInterval(timer);
}

async function chaos(cluster, rand, expected, problems) {
  const events = [];
  const ids = ['n1', 'n2', 'n3'];
  const end = Date.now() + CHAOS_S * 1000;
  while (Date.now() + EVERY_S * 1000 <= end + 1) {
    const nextAt = Date.now() + EVERY_S * 1000;
    const id = ids[Math.floor(rand() * ids.length)];
    const how = rand() < 0.5 ? 'SIGKILL' : 'SIGSTOP';
    const n = cluster.node(id);
    if (how === 'SIGKILL') {
      expected.add(n);
      await cluster.kill(id);
      log(`${id} SIGKILLed; restarting in ${RESTART_AFTER_MS} ms`);
      await H.sleep(RESTART_AFTER_MS);
      try {
        const m = await cluster.restart(id, NODE_FLAGS);
        log(`${id} restarted (http=${m.http})`);
      } catch (e) {
        problems.push(`${id} did not restart: ${e.message}`);
        log(`!! ${id} did not restart: ${e.message}`);
      }
    } else {
      n.child.kill('SIGSTOP');
      log(`${id} SIGSTOPped for ${STOP_HOLD_MS} ms`);
      await H.sleep(STOP_HOLD_MS);
      n.child.kill('SIGCONT');
      log(`${id} SIGCONTed`);
    }
    events.push({ at: Date.now() - t0, node: id, how });
    await H.sleep(Math.max(0, nextAt - Date.now()));
  }
  return events;
}

/// Every acknowledged order's state as admin, through any node (retrying
/// 503/429 and dead sockets): Map id -> body, or {missing}.
async function readFinals(cluster, orderIds) {
  const nodes = [...cluster.nodes.values()];
  const tokens = Array.from({ length: 8 }, (_, i) => H.mintToken(
    { role: 'admin', id: `chaos-check-${i}`, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET));
  const finals = new Map();
  let next = 0;
  async function worker(w) {
    while (next < orderIds.length) {
      const id = orderIds[next++];
      const t1 = Date.now();
      let last = '';
      for (let attempt = 0; ; attempt++) {
        const node = nodes[(w + attempt) % nodes.length];
        try {
          const r = await H.http(node, 'GET', `/v1/orders/${encodeURIComponent(id)}`, { token: tokens[w] });
          if (r.status === 200 && r.json) { finals.set(id, r.json); break; }
          last = `${r.status} ${r.text.slice(0, 160)}`;
          if (r.status === 404) { finals.set(id, { missing: last }); break; }
        } catch (e) { last = e.message; }
        if (Date.now() - t1 > 30000) { finals.set(id, { missing: `no answer in 30 s: ${last}` }); break; }
        await H.sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  }
  await Promise.all(tokens.map((_, w) => worker(w)));
  return finals;
}

async function main() {
  log(`seed=${SEED} chaos=${CHAOS_S}s every=${EVERY_S}s warmup=${WARMUP_S}s quiet=${QUIET_S}s ` +
    `stop_hold=${STOP_HOLD_MS}ms orders_per_min=${ORDERS_PER_MIN}`);
  fs.mkdirSync(args.artifacts, { recursive: true });
  const ledgerPath = path.join(args.artifacts, `chaos-${SEED}.ledger.jsonl`);
  const summaryPath = path.join(args.artifacts, `chaos-${SEED}.sim.json`);
  const verdictPath = path.join(args.artifacts, `chaos-${SEED}.verdict.json`);
  const cluster = await C.Cluster.start(args, { nodes: 3, leaseMs: 3000, extra: NODE_FLAGS, drainTimeoutS: 15 });
  const problems = [];
  const expected = new Set();
  const stopWatch = watchUnexpected(cluster, expected, problems);
  let verdict;
  try {
    const sim = startSim(cluster, ledgerPath, summaryPath);
    const simEnd = sim.exit.then((r) => { log(`courier-sim exited code=${r.code} signal=${r.sig}`); return r; });
    await H.sleep(WARMUP_S * 1000);
    const events = await chaos(cluster, rng(SEED), expected, problems);
    log(`chaos over: ${events.length} events (${events.filter((e) => e.how === 'SIGKILL').length} SIGKILL, ` +
      `${events.filter((e) => e.how === 'SIGSTOP').length} SIGSTOP); quiet until the sim ends`);
    const simResult = await H.withTimeout(simEnd, (QUIET_S + 120) * 1000, 'courier-sim exit');
    const runEndMs = Date.now();
    if (simResult.code !== 0) problems.push(`courier-sim exited ${simResult.code}: ${simResult.errTail()}`);

    const { events: ledger, bad } = parseLedger(fs.readFileSync(ledgerPath, 'utf8'));
    problems.push(...bad);
    const orderIds = [...new Set(ledger.filter((e) => e.e === 'placed').map((e) => e.order))];
    log(`reading ${orderIds.length} acknowledged orders back`);
    const finals = await readFinals(cluster, orderIds);
    const { violations, stats } = checkLedger(ledger, finals, { runEndMs, graceMs: 15000 });
    let simSummary = {};
    try { simSummary = JSON.parse(fs.readFileSync(summaryPath, 'utf8')); } catch (_) { /* reported by its exit */ }
    verdict = { seed: SEED, events, problems, violations, stats, sim_counters: simSummary.counters };
    fs.writeFileSync(verdictPath, `${JSON.stringify(verdict, null, 1)}\n`);
    log(`stats: ${JSON.stringify(stats)}`);
    if (simSummary.counters) log(`sim counters: ${JSON.stringify(simSummary.counters)}`);
  } catch (e) {
    problems.push(`chaos run aborted: ${e.stack || e.message}`);
    verdict = { seed: SEED, problems, violations: [] };
  } finally {
    stopWatch();
    for (const n of cluster.nodes.values()) {
      try { n.child.kill('SIGCONT'); } catch (_) { /* gone */ }
    }
  }
  const bad = [...verdict.problems, ...verdict.violations];
  if (bad.length) {
    cluster.dump('chaos run failed');
    await cluster.stop({ quiet: true });
    console.log(`FAIL chaos seed=${SEED}: ${bad.length} problems (ledger ${ledgerPath}, verdict ${verdictPath})`);
    for (const b of bad.slice(0, 40)) console.log(`  - ${b}`);
    process.exit(1);
  }
  await cluster.stop({ quiet: true });
  fs.rmSync(ledgerPath, { force: true });
  console.log(`PASS chaos seed=${SEED}: ${verdict.events.length} kills/stops, ${verdict.stats.acknowledged} orders ` +
    `acknowledged, 0 lost, 0 regressions, 0 captured off the main line, ${verdict.stats.tabletChecked} ` +
    'paid orders all seen by their store');
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e.message}`);
  process.exit(1);
});
