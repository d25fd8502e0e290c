'use strict';
// PROTOCOL.md "Admin" and "REST": radius triggers, delayed_orders,
// subscribe_region -> region_stats (with the live map's riders/orders
// extension), GET /v1/cells, the REST calls, /healthz and /metrics.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const { upsertStore, Rider, orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
H.watchdog(180000);

let node;
let admin;
let areas = 0;
const area = () => ({ lat: 36.0 + 0.2 * ++areas, lng: 128.0 });
const as = (role, id) => H.connectAs(node, WebSocket, role, id);

before(async () => {
  node = await H.CourierNode.start(args);
  admin = await as('admin', 'ops-admin');
});
after(async () => {
  admin.close();
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

describe('radius triggers', () => {
  test('radius_trigger_shrinks_new_orders_until_restore', async () => {
    const base = area();
    await upsertStore(admin, 's-rad', base, 3000);
    const cust = await as('customer', 'c-rad');
    const far = offset(base, 2000, 0);
    const near = offset(base, 500, 0);
    await cust.expect(orderBody('s-rad', far), 'order_placed');

    const trig = (trigger, radius_m) =>
      admin.expect({ type: 'radius_trigger', target: 'store:s-rad', trigger, radius_m }, 'radius_result');
    const w = await trig('weather', 1000);
    assert.equal(w.target, 'store:s-rad');
    assert.equal(w.radius_m, 1000);
    assert.equal(w.applied, true, JSON.stringify(w));
    const s = await trig('rider_shortage', 1500);
    assert.equal(s.radius_m, 1000, 'the effective radius is the smallest held one');
    assert.equal(s.applied, false, JSON.stringify(s));
    const m = await trig('manual', 800);
    assert.equal(m.radius_m, 800);
    assert.equal(m.applied, true);

    const refused = await cust.request(orderBody('s-rad', far));
    assert.equal(refused.code, 'out_of_area', `2 km beyond 800 m: ${JSON.stringify(refused)}`);
    await cust.expect(orderBody('s-rad', near), 'order_placed');

    const r = await trig('restore', 0);
    assert.equal(r.radius_m, 3000, `restore goes back to the base radius: ${JSON.stringify(r)}`);
    assert.equal(r.applied, true);
    await cust.expect(orderBody('s-rad', far), 'order_placed');
    cust.close();
  });

  test('radius_trigger_is_admin_only_and_validated', async () => {
    const c = await as('customer', 'c-rad2');
    const e = await c.request({ type: 'radius_trigger', target: 'store:s-rad', trigger: 'weather', radius_m: 100 });
    assert.equal(e.code, 'forbidden', JSON.stringify(e));
    const b = await admin.request({ type: 'radius_trigger', target: 'store:s-rad', trigger: 'tsunami', radius_m: 100 },
      5000, { bareErrors: true });
    assert.equal(b.code, 'bad_request', JSON.stringify(b));
    assert.equal(b.ref, b.sentRef, `the error echoes the ref: ${JSON.stringify(b)}`);
    c.close();
  });
});

describe('admin queries', () => {
  test('delayed_orders_reply_shape', async () => {
    const r = await admin.expect({ type: 'delayed_orders' }, 'delayed_orders');
    assert.ok(Array.isArray(r.orders), `orders is an array: ${JSON.stringify(r)}`);
    for (const o of r.orders) {
      assert.equal(typeof o.order_id, 'string');
      assert.equal(typeof o.status, 'string');
      assert.equal(typeof o.age_s, 'number');
    }
  });

  test('a_subscription_over_the_topic_cap_is_refused_not_acknowledged', async () => {
    // Issue #12 item 8: it was answered as subscribed and then got nothing.
    const capped = await H.CourierNode.start(args, { extra: ['--topics-per-session-max', '2'] });
    try {
      const watcher = await H.connectAs(capped, WebSocket, 'admin', 'ops-cap');
      const cells = [area(), area(), area()].map((p) => H.cellOf(args, p, 7));
      const a = await watcher.request({ type: 'subscribe_region', cell: cells[0] });
      const b = await watcher.request({ type: 'subscribe_region', cell: cells[1] });
      assert.notEqual(a.type, 'error', JSON.stringify(a));
      assert.notEqual(b.type, 'error', JSON.stringify(b));
      const again = await watcher.request({ type: 'subscribe_region', cell: cells[1] });
      assert.notEqual(again.type, 'error', `a topic already followed does not count twice: ${JSON.stringify(again)}`);
      const c = await watcher.request({ type: 'subscribe_region', cell: cells[2] });
      assert.equal(c.type, 'error', JSON.stringify(c));
      assert.equal(c.code, 'overloaded');
      const bad = await watcher.request({ type: 'subscribe_region', cell: 'not-a-cell' });
      assert.equal(bad.type, 'error');
      assert.equal(bad.code, 'bad_request');
      watcher.close();
    } finally {
      const r = await capped.stop();
      assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
    }
  });

  test('subscribe_region_pushes_region_stats_at_most_once_a_second', async () => {
    const base = H.cellCentre(args, area());
    const { cell } = base;
    await upsertStore(admin, 's-region', base);
    const rider = await Rider.connect(node, WebSocket, 'r-region', offset(base, 50, 50));
    await rider.available(true);
    const cust = await as('customer', 'c-region');
    await cust.expect(orderBody('s-region', offset(base, 100, -100)), 'order_placed');

    const watcher = await as('admin', 'ops-region');
    const t0 = Date.now();
    const sub = await watcher.request({ type: 'subscribe_region', cell });
    assert.notEqual(sub.type, 'error', `subscribe_region answered: ${JSON.stringify(sub)}`);
    // The answer may itself be the first region_stats (with the ref), or an ok.
    const first = sub.type === 'region_stats' ? sub
      : await watcher.next((m) => m.type === 'region_stats' && m.cell === cell, 5000, 'region_stats');
    assert.equal(first.cell, cell);
    assert.equal(typeof first.riders_available, 'number');
    assert.equal(typeof first.riders_busy, 'number');
    assert.equal(typeof first.orders_by_status, 'object');
    assert.equal(typeof first.at_ms, 'number');
    // Keep the rider moving so there is something to report, then count pushes.
    for (let i = 0; i < 8; i++) {
      await rider.moveTo(offset(base, 50 + 10 * i, 50));
      await H.sleep(500);
    }
    const pushes = watcher.received('region_stats').filter((m) => m.cell === cell);
    const secs = (Date.now() - t0) / 1000;
    assert.ok(pushes.length >= 2, `pushes follow the rider's moves: ${pushes.length} in ${secs.toFixed(1)} s`);
    assert.ok(pushes.length <= Math.ceil(secs) + 2, `at most ~1/s: ${pushes.length} pushes in ${secs.toFixed(1)} s`);
    for (let i = 1; i < pushes.length; i++) {
      assert.ok(pushes[i].at_ms - pushes[i - 1].at_ms >= 900, `pushes >= 1 s apart: ${pushes.map((p) => p.at_ms)}`);
    }
    const last = pushes.at(-1);
    assert.ok(last.riders_available >= 1, `the available rider is counted: ${JSON.stringify(last)}`);
    const active = Object.values(last.orders_by_status).reduce((a, b) => a + b, 0);
    assert.ok(active >= 1, `the order is counted: ${JSON.stringify(last.orders_by_status)}`);
    // Live-map extension: riders and orders with positions.
    assert.ok(Array.isArray(last.riders), `region_stats.riders (extension): ${JSON.stringify(last)}`);
    const me = last.riders.find((r) => r.rider_id === 'r-region');
    assert.ok(me, `the rider is listed: ${JSON.stringify(last)}`);
    assert.equal(me.state, 'available');
    assert.ok(H.distanceM(me, rider.at) < 200, `listed near where it is: ${JSON.stringify(me)}`);
    assert.ok(Array.isArray(last.orders) && last.orders.length >= 1, `region_stats.orders: ${JSON.stringify(last.orders)}`);
    for (const o of last.orders) assert.equal(typeof o.status, 'string');
    const sr = await cust.request({ type: 'subscribe_region', cell });
    assert.equal(sr.code, 'forbidden', `subscribe_region is admin only: ${JSON.stringify(sr)}`);
    for (const c of [watcher, rider.c, cust]) c.close();
  });

  test('cells_endpoint_lists_res7_disk_with_boundaries', async () => {
    const adminTok = node.token('admin', 'ops-cells');
    const r = await H.http(node, 'GET', '/v1/cells?lat=37.4979&lng=127.0276&k=3', { token: adminTok });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.cells.length, 37, 'a k=3 disk has 37 cells');
    const centre = H.cellOf(args, { lat: 37.4979, lng: 127.0276 });
    assert.ok(r.json.cells.some((c) => c.cell === centre), 'the disk contains the centre cell');
    for (const c of r.json.cells) {
      assert.ok(c.boundary.length >= 5 && c.boundary.length <= 10, `boundary of ${c.cell}`);
      for (const [lat, lng] of c.boundary) assert.ok(Math.abs(lat - 37.5) < 0.2 && Math.abs(lng - 127.03) < 0.2);
    }
    const anon = await H.http(node, 'GET', '/v1/cells?lat=37.4979&lng=127.0276&k=3');
    assert.equal(anon.status, 401);
    // Named cells (the live map's split cells, res 8/9): their boundaries.
    const kids = [H.cellOf(args, { lat: 37.4979, lng: 127.0276 }, 8), H.cellOf(args, { lat: 37.4979, lng: 127.0276 }, 9)];
    const named = await H.http(node, 'GET', `/v1/cells?cells=${kids.join(',')}`, { token: adminTok });
    assert.equal(named.status, 200, named.text);
    assert.deepEqual(named.json.cells.map((c) => c.cell), kids);
    for (const c of named.json.cells) assert.ok(c.boundary.length >= 5, `boundary of ${c.cell}`);
    const bad = await H.http(node, 'GET', '/v1/cells?cells=nope', { token: adminTok });
    assert.equal(bad.status, 400, bad.text);
  });
});

describe('REST', () => {
  let base;
  let custTok;
  before(async () => {
    base = area();
    custTok = node.token('customer', 'c-rest');
    const put = await H.http(node, 'PUT', '/v1/stores/s-rest', {
      token: node.token('admin', 'ops-rest'),
      body: { store_id: 's-rest', lat: base.lat, lng: base.lng, radius_m: 3000, open: true },
    });
    assert.ok(put.status >= 200 && put.status < 300, `PUT /v1/stores/s-rest as admin: ${put.status} ${put.text}`);
  });

  test('put_store_needs_admin', async () => {
    const r = await H.http(node, 'PUT', '/v1/stores/s-rest', {
      token: custTok, body: { store_id: 's-rest', lat: base.lat, lng: base.lng, radius_m: 10, open: false },
    });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json && r.json.code, 'forbidden', r.text);
  });

  test('post_order_201_then_get_by_owner_store_admin_but_not_others', async () => {
    const body = orderBody('s-rest', offset(base, 300, 300));
    delete body.type;
    const r = await H.http(node, 'POST', '/v1/orders', { token: custTok, body });
    assert.equal(r.status, 201, r.text);
    const id = r.json.order_id;
    assert.equal(typeof id, 'string');
    const again = await H.http(node, 'POST', '/v1/orders', { token: custTok, body });
    assert.ok([200, 201].includes(again.status) && again.json.order_id === id, `idempotent POST: ${again.status} ${again.text}`);

    const path = `/v1/orders/${encodeURIComponent(id)}`;
    const own = await H.http(node, 'GET', path, { token: custTok });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.order_id, id);
    assert.ok(['placed', 'paid'].includes(own.json.status), own.text);
    assert.equal(typeof own.json.version, 'number');
    assert.equal(own.json.payment, own.json.status === 'paid' ? 'authorized' : 'pending', own.text);
    for (const [role, who] of [['store', 's-rest'], ['admin', 'ops-1']]) {
      const g = await H.http(node, 'GET', path, { token: node.token(role, who) });
      assert.equal(g.status, 200, `${role} reads the order: ${g.text}`);
    }
    const other = await H.http(node, 'GET', path, { token: node.token('customer', 'c-other') });
    assert.equal(other.status, 403, other.text);
    assert.equal(other.json && other.json.code, 'forbidden');
    const anon = await H.http(node, 'GET', path);
    assert.equal(anon.status, 401, anon.text);
    const missing = await H.http(node, 'GET', '/v1/orders/no-such-order', { token: node.token('admin', 'ops-1') });
    assert.equal(missing.status, 404, missing.text);
  });

  test('post_order_errors_map_to_http_codes', async () => {
    const body = orderBody('s-rest', offset(base, 300, 300));
    delete body.type;
    const far = await H.http(node, 'POST', '/v1/orders', { token: custTok, body: { ...body, request_id: 'far', dropoff: offset(base, 9000, 0) } });
    assert.equal(far.status, 422, `out_of_area is 422: ${far.text}`);
    assert.equal(far.json.code, 'out_of_area');
    const bad = await H.http(node, 'POST', '/v1/orders', { token: custTok, body: { ...body, request_id: 'bad', total: 1 } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.code, 'bad_request');
    const junk = await H.http(node, 'POST', '/v1/orders', { token: custTok, body: '{"store_id":' });
    assert.equal(junk.status, 400, junk.text);
    const nf = await H.http(node, 'POST', '/v1/orders', { token: custTok, body: { ...body, request_id: 'nf', store_id: 's-nowhere' } });
    assert.equal(nf.status, 404, nf.text);
    const expired = H.mintToken({ role: 'customer', id: 'c-rest', exp: Math.floor(Date.now() / 1000) - 10 }, node.secret);
    const ex = await H.http(node, 'POST', '/v1/orders', { token: expired, body });
    assert.equal(ex.status, 401, ex.text);
  });

  test('region_stats_over_rest_is_admin_only', async () => {
    const cell = H.cellOf(args, base);
    const r = await H.http(node, 'GET', `/v1/regions/${cell}/stats`, { token: node.token('admin', 'ops-1') });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.cell, cell);
    assert.equal(typeof r.json.riders_available, 'number');
    assert.equal(typeof r.json.orders_by_status, 'object');
    const c = await H.http(node, 'GET', `/v1/regions/${cell}/stats`, { token: custTok });
    assert.equal(c.status, 403, c.text);
  });

  test('healthz_and_metrics', async () => {
    const h = await H.http(node, 'GET', '/healthz');
    assert.equal(h.status, 200, h.text);
    const m = await H.http(node, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') || '', /text\/plain/);
    assert.match(m.text, /^# (HELP|TYPE) /m, 'Prometheus text format');
    assert.match(m.text, /^[a-zA-Z0-9_:]*connections[a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+/m, 'a connections metric');
  });

  test('metrics_histograms_appear_and_move', async () => {
    // Issue #15: push latency, request latency by type, queue depths and live
    // entities by kind, as Prometheus histograms and gauges.
    const scrape = async () => (await H.http(node, 'GET', '/metrics')).text;
    const value = (text, series) => {
      const esc = series.replace(/[{}"=]/g, (c) => `\\${c}`);
      const m = new RegExp(`^${esc} ([0-9.eE+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    /// The histogram's buckets are cumulative, end in +Inf, and +Inf is its count.
    const checkHistogram = (text, name, labels = '') => {
      const sep = labels ? ',' : '';
      const re = new RegExp(`^${name}_bucket\\{${labels}${sep}le="([^"]+)"\\} (\\d+)$`, 'gm');
      const buckets = [...text.matchAll(re)].map((m) => [m[1], Number(m[2])]);
      assert.ok(buckets.length >= 5, `${name}{${labels}} has buckets: ${buckets.length}`);
      assert.equal(buckets.at(-1)[0], '+Inf');
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], `${name} cumulative`);
      const count = value(text, labels ? `${name}_count{${labels}}` : `${name}_count`);
      assert.equal(buckets.at(-1)[1], count, `${name}: +Inf bucket == count`);
      assert.notEqual(value(text, labels ? `${name}_sum{${labels}}` : `${name}_sum`), null, `${name}_sum`);
      return count;
    };
    const before = await scrape();
    assert.match(before, /^# TYPE courier_push_latency_us histogram$/m);
    assert.match(before, /^# TYPE courier_request_latency_us histogram$/m);
    assert.match(before, /^# TYPE courier_session_queue_depth histogram$/m);
    assert.match(before, /^# TYPE courier_gateway_mailbox_depth gauge$/m);
    assert.match(before, /^# TYPE courier_entities_live_by_kind gauge$/m);
    const pushesBefore = checkHistogram(before, 'courier_push_latency_us');
    const depthBefore = checkHistogram(before, 'courier_session_queue_depth');
    const placedBefore = value(before, 'courier_request_latency_us_count{type="place_order"}') || 0;

    // Load: an order followed by its customer, its rider's positions pushed.
    const base = area();
    await upsertStore(admin, 's-metrics', base, 3000);
    const cust = await as('customer', 'c-metrics');
    const store = await as('store', 's-metrics');
    const rider = await Rider.connect(node, WebSocket, 'r-metrics', offset(base, 100, 0));
    await rider.available(true);
    const { order_id } = await cust.expect(orderBody('s-metrics', offset(base, 800, 0)), 'order_placed');
    await cust.expect({ type: 'subscribe', order_id }, 'subscribed');
    await store.next((m) => m.type === 'new_order' && m.order_id === order_id, 5000, 'new_order');
    await store.expect({ type: 'accept_order', order_id, prep_minutes: 10 }, 'ok');
    const offer = await rider.nextOffer(8000, order_id);
    await rider.c.expect({ type: 'accept', offer_id: offer.offer_id }, 'ok');
    for (let i = 1; i <= 5; i++) await rider.moveTo(offset(base, 100 + 20 * i, 0));
    await cust.next((m) => m.type === 'rider_position' && m.order_id === order_id, 5000, 'rider_position');
    // REST: one routed call and one answered at the node (a missing token).
    const restGet = await H.http(node, 'GET', `/v1/orders/${order_id}`, { token: node.token('admin', 'a-metrics') });
    assert.equal(restGet.status, 200);
    assert.equal((await H.http(node, 'GET', '/v1/cells?lat=37.4979&lng=127.0276&k=1')).status, 401);
    await H.sleep(1300); // a mailbox sample (every second) and the last writes

    const after = await scrape();
    assert.ok(checkHistogram(after, 'courier_push_latency_us') > pushesBefore, 'pushes were timed');
    assert.ok(checkHistogram(after, 'courier_session_queue_depth') > depthBefore, 'queue depth sampled');
    assert.ok(checkHistogram(after, 'courier_request_latency_us', 'type="place_order"') > placedBefore,
      'place_order timed');
    checkHistogram(after, 'courier_request_latency_us', 'type="position"');
    checkHistogram(after, 'courier_request_latency_us', 'type="accept_order"');
    assert.ok(checkHistogram(after, 'courier_gateway_mailbox_depth_samples') >= 1, 'mailbox sampled');
    assert.match(after, /^# TYPE courier_rest_latency_us histogram$/m);
    assert.ok(checkHistogram(after, 'courier_rest_latency_us', 'route="GET /v1/orders/{id}"') >= 1,
      'REST order read timed');
    assert.ok(checkHistogram(after, 'courier_rest_latency_us', 'route="GET /v1/cells"') >= 1,
      'REST refused request timed');
    assert.notEqual(value(after, 'courier_gateway_mailbox_depth'), null);
    for (const kind of ['order', 'rider', 'store', 'region']) {
      assert.ok(value(after, `courier_entities_live_by_kind{kind="${kind}"}`) >= 1, `live ${kind} entities: ${after.match(/^courier_entities_live_by_kind.*$/gm)}`);
    }
    for (const c of [cust, store, rider.c]) c.close();
  });

  test('courier_ctl_metrics_shows_the_journal_of_a_node', async () => {
    // Issue #13: the journal's sizes for an operator, through courier-ctl.
    const { execFileSync } = require('node:child_process');
    const out = execFileSync(args.ctl, ['metrics', '--node', node.httpUrl, '--match', 'courier_journal'],
      { timeout: 15000 }).toString();
    for (const name of ['courier_journal_bytes', 'courier_journal_live_bytes', 'courier_journal_streams',
      'courier_journal_segments', 'courier_journal_compactions_total']) {
      assert.match(out, new RegExp(`^${name} [0-9]+$`, 'm'), `${name} in:\n${out}`);
    }
    assert.doesNotMatch(out, /courier_sessions/, 'only the families asked for');
    const streams = Number(/^courier_journal_streams ([0-9]+)$/m.exec(out)[1]);
    assert.ok(streams > 0, `the node journaled some streams (${streams})`);
    const bad = require('node:child_process').spawnSync(args.ctl, ['metrics', '--node', 'nonsense'], { encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--node must be/);
  });

  test('live_map_page_is_served', async () => {
    const r = await H.http(node, 'GET', '/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /text\/html/);
    assert.match(r.text, /courierMap/);
  });
});

// Issue #14: REST validates ids in paths and is rate-limited per token and
// per client address (429 rate_limited), with the limits in /metrics.
describe('REST limits', () => {
  test('ids_in_paths_are_validated_before_anything_is_routed', async () => {
    const tok = node.token('admin', 'ops-ids');
    for (const bad of ['o%201', 'x'.repeat(129), '%00', 'o%2Fx']) {
      const r = await H.http(node, 'GET', `/v1/orders/${bad}`, { token: tok });
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.equal(r.json.code, 'bad_request');
    }
    const cell = await H.http(node, 'GET', '/v1/regions/not%20a%20cell/stats', { token: tok });
    assert.equal(cell.status, 400, cell.text);
    const store = await H.http(node, 'PUT', '/v1/stores/s%20x', { token: tok, body: { lat: 37.5, lng: 127.0 } });
    assert.equal(store.status, 400, store.text);
  });

  test('requests_beyond_the_per_token_rate_get_429_and_other_tokens_are_served', async () => {
    const limited = await H.CourierNode.start(args, { extra: ['--rest-per-token-per-s', '2'] });
    try {
      const tok = limited.token('admin', 'ops-busy');
      const codes = [];
      for (let i = 0; i < 10; i++) codes.push((await H.http(limited, 'GET', '/v1/orders/o-none', { token: tok })).status);
      assert.ok(codes.includes(429), `some requests refused: ${codes}`);
      assert.ok(codes.filter((c) => c !== 429).length <= 5, `burst 4 (+ refill) served: ${codes}`);
      const other = await H.http(limited, 'GET', '/v1/orders/o-none', { token: limited.token('admin', 'ops-calm') });
      assert.notEqual(other.status, 429, 'another token has its own budget');
      const m = await H.http(limited, 'GET', '/metrics');
      assert.match(m.text, /^courier_limit_rest_per_token_per_s 2$/m);
      const n = Number((/^courier_rest_rate_limited_total (\d+)$/m.exec(m.text) || [])[1]);
      assert.ok(n >= 1, `courier_rest_rate_limited_total ${n}`);
    } finally {
      await limited.stop();
    }
  });
});
