'use strict';
// The live map in a real browser: a --demo node, a small scripted city
// (a store at Gangnam station, riders circling it, a few orders), the page
// loaded in headless Chromium via playwright-core. Asserts the page connects,
// draws riders, and that riders move; that its charts (from /metrics and the
// cells' counts) move between two samples seconds apart and the hot cell's
// split (res 8/9, a low --region-split-riders) is drawn; saves
// <artifacts>/live_map.png and live_map_charts.png. Skips (77) if Chromium
// is not installed.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('./lib/harness');
const { upsertStore, Rider, orderBody, offset } = require('./lib/city');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(H.SKIP);
}
const { ws: WebSocket, 'playwright-core': playwright } = H.requireDeps(['ws', 'playwright-core']);
const args = H.parseArgs();
H.watchdog(150000);

const GANGNAM = { lat: 37.4979, lng: 127.0276 };
const RIDERS = 10;
/// Riders close to the station: with --region-split-riders 4 its res-7 cell
/// splits, and its res-8 child again, so the page draws res 8/9 cells.
const HOT_RIDERS = 6;
const NODE_FLAGS = ['--demo', '--region-split-riders', '4', '--region-merge-riders', '2'];

let node;
let browser;
let userDataDir;
const city = { riders: [], clients: [], timer: null, stopped: false };

/// Waits until the node has printed a stdout line matching `re`.
async function stdoutLine(re, ms = 5000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const hit = node.lines.map((l) => re.exec(l)).find(Boolean);
    if (hit) return hit;
    await H.sleep(50);
  }
  throw new Error(`no stdout line matching ${re}; got ${JSON.stringify(node.lines)}`);
}

/// Riders on circles around Gangnam (a 25 m step every 400 ms); every offer is
/// accepted, so some riders turn busy; a few orders in various states.
async function startCity() {
  const admin = await H.connectAs(node, WebSocket, 'admin', 'ops-city');
  city.clients.push(admin);
  await upsertStore(admin, 's-gangnam', GANGNAM, 3000, true);
  await upsertStore(admin, 's-yeoksam', offset(GANGNAM, 300, 900), 3000, true);
  for (let i = 0; i < RIDERS + HOT_RIDERS; i++) {
    const radius = i < RIDERS ? 400 + 650 * (i % 6) : 40 + 20 * (i - RIDERS);
    const phase = (2 * Math.PI * i) / RIDERS;
    const at = (a) => offset(GANGNAM, radius * Math.sin(a), radius * Math.cos(a));
    const r = await Rider.connect(node, WebSocket, `r-city-${i}`, at(phase));
    await r.available(true);
    r.angle = phase;
    r.path = at;
    r.step = 25 / radius;   // about 25 m per tick, whatever the circle
    r.c.client.on('offer', (m) => r.c.send({ type: 'accept', offer_id: m.offer_id, ref: `acc-${m.offer_id}` }));
    city.riders.push(r);
    city.clients.push(r.c);
  }
  city.timer = setInterval(() => {
    for (const r of city.riders) {
      r.angle += r.step;
      r.moveNoWait(r.path(r.angle));
    }
  }, 400);
  const cust = await H.connectAs(node, WebSocket, 'customer', 'c-city');
  const store = await H.connectAs(node, WebSocket, 'store', 's-gangnam');
  city.clients.push(cust, store);
  for (let i = 0; i < 4; i++) {
    const storeId = i % 2 ? 's-yeoksam' : 's-gangnam';
    const placed = await cust.expect(orderBody(storeId, offset(GANGNAM, -600 + 400 * i, 700 - 300 * i)), 'order_placed');
    if (storeId === 's-gangnam') {
      await store.next((m) => m.type === 'new_order' && m.order_id === placed.order_id, 5000, 'new_order');
      await store.expect({ type: 'accept_order', order_id: placed.order_id, prep_minutes: 15 }, 'ok');
    }
  }
}

before(async () => {
  node = await H.CourierNode.start(args, { extra: NODE_FLAGS });
  await startCity();
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-chromium-'));
  const context = await H.withTimeout(playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 860 },
    timeout: 30000,
  }), 40000, 'chromium launch');
  browser = context;
});

after(async () => {
  clearInterval(city.timer);
  for (const c of city.clients) c.close();
  if (browser) await H.withTimeout(browser.close(), 10000, 'browser close').catch(() => {});
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

test('demo_node_prints_admin_token_and_live_map_url', async () => {
  const tok = await stdoutLine(/^courier-node: admin token: (\S+)/);
  const url = await stdoutLine(/^courier-node: live map: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+))/);
  assert.equal(Number(url[2]), node.http, 'the URL points at the HTTP port');
  assert.equal(url[3], tok[1], 'the URL carries the admin token');
});

let page;
const problems = [];

/// What the page knows, for failure messages.
function pageState() {
  return page.evaluate(() => window.courierMap && {
    connected: window.courierMap.connected(), cells: window.courierMap.cells(),
    riders: window.courierMap.riders().length, drawn: window.courierMap.drawnRiders(),
    orders: window.courierMap.orders().length, pushes: window.courierMap.pushes(),
    conn: document.getElementById('conn').textContent, note: document.getElementById('note').textContent,
  }).catch((e) => `unavailable: ${e.message}`);
}

/// Waits until `fn` is true in the page; on timeout saves a screenshot
/// (live_map_failed.png) and fails with `what` and the page's state.
async function waitPage(fn, ms, what) {
  try {
    await page.waitForFunction(fn, null, { timeout: ms });
  } catch (e) {
    const st = await pageState();
    fs.mkdirSync(args.artifacts, { recursive: true });
    await page.screenshot({ path: path.join(args.artifacts, 'live_map_failed.png'), timeout: 10000 }).catch(() => {});
    throw new Error(`${what} within ${ms} ms; page: ${JSON.stringify(st)}; problems: ${problems.join('; ') || 'none'}`);
  }
}

test('live_map_connects_draws_riders_and_shows_them_moving', async () => {
  const [, url] = await stdoutLine(/^courier-node: live map: (\S+)/);
  page = browser.pages()[0] || await browser.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  // With the reason (net::ERR_CONNECTION_REFUSED while the node restarts is
  // expected there; a /metrics poll in flight at the restart failed this
  // test when only the URL was kept).
  page.on('requestfailed', (r) => problems.push(
    `request failed: ${r.url()} (${(r.failure() && r.failure().errorText) || 'no reason'})`));
  page.on('request', (r) => {
    if (!r.url().startsWith(`http://127.0.0.1:${node.http}/`) && !r.url().startsWith(`ws://127.0.0.1:${node.http}/`)) {
      problems.push(`request outside the node: ${r.url()}`);
    }
  });
  await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  await waitPage(() => window.courierMap && window.courierMap.connected() && window.courierMap.cells() === 37,
    15000, 'the page connects and loads the 37 cells');
  await waitPage(() => window.courierMap.pushes() > 0, 10000, 'region_stats pushes reach the page');
  await waitPage(() => window.courierMap.drawnRiders() >= 3, 15000,
    'at least 3 riders drawn (region_stats.riders lists them)');

  const first = new Map((await page.evaluate(() => window.courierMap.riders())).map((r) => [r.rider_id, r]));
  await H.sleep(3500);
  const second = await page.evaluate(() => window.courierMap.riders());
  fs.mkdirSync(args.artifacts, { recursive: true });
  const shot = path.join(args.artifacts, 'live_map.png');
  await page.screenshot({ path: shot, timeout: 10000 });
  console.log(`screenshot: ${shot}`);
  assert.ok(fs.statSync(shot).size > 5000, 'a non-trivial screenshot');
  const moved = second.filter((r) => {
    const before = first.get(r.rider_id);
    return before && H.distanceM(before, r) > 5;
  });
  assert.ok(moved.length >= 1, `at least one rider moved: ${JSON.stringify({ first: [...first.values()], second })}`);
  for (const r of second) {
    assert.ok(['available', 'busy'].includes(r.state), JSON.stringify(r));
    assert.ok(H.distanceM(r, GANGNAM) < 5000, `rider near Gangnam: ${JSON.stringify(r)}`);
  }
  const pushes = await page.evaluate(() => window.courierMap.pushes());
  assert.ok(pushes > 0, 'region_stats pushes arrived');
  const orders = await page.evaluate(() => window.courierMap.orders());
  assert.ok(orders.length >= 1, `active orders are shown: ${JSON.stringify(orders)}`);

  // The page resizes with the window.
  await page.setViewportSize({ width: 700, height: 500 });
  await page.waitForFunction(() => document.getElementById('map').width === Math.round(700 * devicePixelRatio),
    null, { timeout: 5000 });
  assert.deepEqual(problems, [], 'no page errors and no requests outside the node');
});

/// The charts' pixels, to tell that they were redrawn with other data.
function chartPixels() {
  return page.evaluate(() => ['cPushes', 'cP99', 'cOrders', 'cRiders']
    .map((id) => document.getElementById(id).toDataURL()));
}

test('live_map_charts_move_and_split_hot_cells_are_drawn', async () => {
  assert.ok(page, 'the page from the previous test');
  await waitPage(() => window.courierMap.charts().samples >= 3, 15000, 'three chart samples');
  const first = await page.evaluate(() => window.courierMap.charts());
  const firstPixels = await chartPixels();
  await H.sleep(5000); // two or three samples later (one every 2 s)
  const second = await page.evaluate(() => window.courierMap.charts());
  const secondPixels = await chartPixels();
  fs.mkdirSync(args.artifacts, { recursive: true });
  const shot = path.join(args.artifacts, 'live_map_charts.png');
  await page.screenshot({ path: shot, timeout: 10000 });
  console.log(`screenshot: ${shot}`);

  const state = JSON.stringify({ first, second });
  assert.ok(second.samples >= first.samples + 2, `the charts keep sampling: ${state}`);
  // Pushes flow (region_stats to this page at least), so the node's
  // pushes/s and push latency p99 come from /metrics' histogram.
  const rates = second.pushesPerS.filter((v) => v !== null);
  assert.ok(rates.length >= 2 && rates.some((v) => v > 0), `pushes/s from /metrics: ${state}`);
  const p99 = second.pushP99Ms.filter((v) => v !== null);
  assert.ok(p99.length >= 1 && p99.every((v) => v > 0 && v <= 5000), `push latency p99 in ms: ${state}`);
  assert.ok(second.ridersAvailable.at(-1) + second.ridersBusy.at(-1) >= 3, `riders counted: ${state}`);
  assert.ok(Object.values(second.orders).some((s) => s.at(-1) > 0), `orders by status: ${state}`);
  // The charts moved: new points, redrawn canvases.
  assert.notDeepEqual(second.pushesPerS, first.pushesPerS, 'the pushes/s series moved');
  const moved = secondPixels.filter((px, i) => px !== firstPixels[i]).length;
  assert.ok(moved >= 2, `at least two charts were redrawn differently (${moved} of 4)`);

  // The hot cell split: its res 8/9 cells are drawn.
  await waitPage(() => window.courierMap.drawnSplitCells() >= 7, 15000,
    'the split cells (res 8/9) of the hot cell drawn');
  const split = await page.evaluate(() => window.courierMap.splitCells());
  const res = new Set(split.map((c) => parseInt(c.cell[1], 16)));
  assert.ok(res.has(9) || res.has(8), `split cells at res 8/9: ${JSON.stringify(split)}`);
  assert.ok(split.reduce((n, c) => n + c.riders_available + c.riders_busy, 0) >= HOT_RIDERS,
    `the split cells hold the hot riders: ${JSON.stringify(split)}`);
  await page.screenshot({ path: shot, timeout: 10000 });
  assert.deepEqual(problems, [], 'no page errors and no requests outside the node');
});

test('live_map_reconnects_after_node_restart', async () => {
  assert.ok(page, 'the page from the previous test');
  clearInterval(city.timer);
  const { http: httpPort, dataDir } = node;
  const old = await node.stop(10000, { keepData: true });
  assert.equal(old.code, 0, `exit 0 on SIGTERM: ${JSON.stringify(old)}`);
  await waitPage(() => !window.courierMap.connected(), 10000, 'the page notices the node is gone');
  node = await H.CourierNode.start(args, { extra: NODE_FLAGS, dataDir, httpPort });
  await waitPage(() => window.courierMap.connected(), 30000, 'the page reconnects to the restarted node');
  const pushesBefore = await page.evaluate(() => window.courierMap.pushes());
  const r = await Rider.connect(node, WebSocket, 'r-after-restart', offset(GANGNAM, -200, -200));
  city.clients.push(r.c);
  await r.available(true);
  for (let i = 0; i < 6; i++) {
    await r.moveTo(offset(GANGNAM, -200 + 20 * i, -200));
    await H.sleep(400);
  }
  assert.ok(await page.evaluate(() => window.courierMap.pushes()) > pushesBefore,
    `pushes resume after the reconnect: ${JSON.stringify(await pageState())}`);
  await waitPage(() => window.courierMap.riders().some((x) => x.rider_id === 'r-after-restart'),
    10000, 'the rider of the restarted node is shown');
  const errs = problems.filter((p) => !/WebSocket|ERR_CONNECTION_REFUSED|net::/.test(p));
  assert.deepEqual(errs, [], `no page errors besides the expected connection failures: ${JSON.stringify(errs)}`);
});
