'use strict';
// The order lifecycle of PROTOCOL.md over WebSocket/JSON: placing (and its
// errors), ownership, the whole flow from place to delivered with its
// pushes, cancel, offer expiry and reject, rider position seq.
// Every test works in its own area (22 km apart) so dispatch never mixes
// riders of different tests; the node runs with --offer-timeout-s 2.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');
const { upsertStore, Rider, orderBody, offset } = require('./lib/city');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
H.watchdog(240000);

const OFFER_TIMEOUT_S = 2;
const MAIN_LINE = ['placed', 'paid', 'accepted', 'cooking', 'ready', 'picked_up', 'delivering', 'delivered'];

let node;
let admin;
let areas = 0;
/// A fresh area far from every other test's.
const area = () => ({ lat: 35.0 + 0.2 * ++areas, lng: 127.0276 });
const as = (role, id) => H.connectAs(node, WebSocket, role, id);

before(async () => {
  node = await H.CourierNode.start(args, { extra: ['--offer-timeout-s', String(OFFER_TIMEOUT_S)] });
  admin = await as('admin', 'ops-orders');
});
after(async () => {
  admin.close();
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

/// A store at `p` (open, radius 3 km) with its tablet connected.
async function openStore(id, p, radius_m = 3000) {
  await upsertStore(admin, id, p, radius_m, true);
  return as('store', id);
}

/// Places an order and waits for the store's new_order (i.e. paid).
async function placePaid(customer, store, store_id, dropoff) {
  const placed = await customer.expect(orderBody(store_id, dropoff), 'order_placed');
  await store.next((m) => m.type === 'new_order' && m.order_id === placed.order_id, 5000, 'new_order');
  return placed.order_id;
}

function assertError(r, code, what) {
  assert.equal(r.type, 'error', `${what}: expected error ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.code, code, `${what}: ${JSON.stringify(r)}`);
}

/// Drives an order to `accepted` with `rider` assigned; returns the offer.
async function assign(store, rider, order_id) {
  const a = await store.expect({ type: 'accept_order', order_id, prep_minutes: 10 }, 'ok');
  assert.equal(typeof a.version, 'number', `accept_order ok carries version: ${JSON.stringify(a)}`);
  const offer = await rider.nextOffer(8000, order_id);
  await rider.c.expect({ type: 'accept', offer_id: offer.offer_id }, 'ok');
  return offer;
}

describe('placing orders', () => {
  let store;
  let cust;
  let base;
  before(async () => {
    base = area();
    store = await openStore('s-place', base, 1000);
    cust = await as('customer', 'c-place');
  });
  after(() => { store.close(); cust.close(); });

  test('place_order_returns_order_placed_with_request_id', async () => {
    const body = orderBody('s-place', offset(base, 300, 0));
    const r = await cust.expect(body, 'order_placed');
    assert.equal(r.request_id, body.request_id);
    assert.equal(typeof r.order_id, 'string');
    assert.ok(r.order_id.length > 0);
  });

  test('same_request_id_returns_same_order_id', async () => {
    const body = orderBody('s-place', offset(base, 200, 200));
    const a = await cust.expect(body, 'order_placed');
    const b = await cust.expect(body, 'order_placed');
    assert.equal(b.order_id, a.order_id);
    const again = await as('customer', 'c-place');
    const c = await again.expect(body, 'order_placed');
    assert.equal(c.order_id, a.order_id, 'idempotent across connections');
    again.close();
  });

  test('unknown_store_is_not_found', async () => {
    assertError(await cust.request(orderBody('s-does-not-exist', base)), 'not_found', 'unknown store');
  });

  test('total_mismatch_is_bad_request', async () => {
    assertError(await cust.request(orderBody('s-place', base, { total: 99.99 })), 'bad_request', 'total != sum');
  });

  test('dropoff_beyond_radius_is_out_of_area', async () => {
    assertError(await cust.request(orderBody('s-place', offset(base, 2000, 0))), 'out_of_area', '2 km from a 1 km store');
  });

  test('closed_store_is_out_of_area', async () => {
    const p = offset(base, 0, 5000);
    await upsertStore(admin, 's-closed', p, 3000, false);
    assertError(await cust.request(orderBody('s-closed', offset(p, 100, 0))), 'out_of_area', 'closed store');
    await upsertStore(admin, 's-closed', p, 3000, true);
    await cust.expect(orderBody('s-closed', offset(p, 100, 0)), 'order_placed');
  });

  test('subscribe_to_own_order_gets_snapshot', async () => {
    const placed = await cust.expect(orderBody('s-place', offset(base, 100, 0)), 'order_placed');
    const s = await cust.expect({ type: 'subscribe', order_id: placed.order_id }, 'subscribed');
    assert.equal(s.order_id, placed.order_id);
    assert.ok(s.snapshot, `snapshot present: ${JSON.stringify(s)}`);
    assert.ok(['placed', 'paid'].includes(s.snapshot.status), `snapshot status ${s.snapshot.status}`);
    assert.equal(typeof s.snapshot.version, 'number');
    const u = await cust.request({ type: 'unsubscribe', order_id: placed.order_id });
    assert.equal(u.type, 'ok', JSON.stringify(u));
  });

  test('subscribe_to_another_customers_order_is_forbidden', async () => {
    const placed = await cust.expect(orderBody('s-place', offset(base, 100, 100)), 'order_placed');
    const other = await as('customer', 'c-nosy');
    assertError(await other.request({ type: 'subscribe', order_id: placed.order_id }), 'forbidden', 'foreign order');
    assertError(await other.request({ type: 'cancel', order_id: placed.order_id }), 'forbidden', 'cancel foreign order');
    other.close();
  });

  test('store_acts_only_on_its_own_orders', async () => {
    const order_id = await placePaid(cust, store, 's-place', offset(base, -100, 0));
    await upsertStore(admin, 's-rival', offset(base, 0, 500));
    const rival = await as('store', 's-rival');
    for (const msg of [{ type: 'accept_order', order_id, prep_minutes: 5 }, { type: 'cooking', order_id },
      { type: 'ready', order_id }, { type: 'reject_order', order_id, reason: 'spite' }]) {
      assertError(await rival.request(msg), 'forbidden', `${msg.type} by another store`);
    }
    rival.close();
    assertError(await cust.request({ type: 'accept_order', order_id, prep_minutes: 5 }), 'forbidden', 'customer accept_order');
    const ok = await store.request({ type: 'reject_order', order_id, reason: 'out of rice' });
    assert.equal(ok.type, 'ok', `own store may reject: ${JSON.stringify(ok)}`);
  });
});

describe('whole flow', () => {
  test('place_paid_accept_offer_assign_cook_pickup_deliver_with_pushes_in_version_order', async () => {
    const base = area();
    const drop = offset(base, 1200, 900);
    const store = await openStore('s-flow', base);
    const rider = await Rider.connect(node, WebSocket, 'r-flow', offset(base, 900, -300));
    await rider.available(true);
    const intruder = await Rider.connect(node, WebSocket, 'r-intruder', offset(base, 0, 2000));
    const cust = await as('customer', 'c-flow');

    const placed = await cust.expect(orderBody('s-flow', drop), 'order_placed');
    const order_id = placed.order_id;
    const sub = await cust.expect({ type: 'subscribe', order_id }, 'subscribed');
    assert.ok(['placed', 'paid'].includes(sub.snapshot.status), JSON.stringify(sub));

    const no = await store.next((m) => m.type === 'new_order' && m.order_id === order_id, 5000, 'new_order');
    assert.equal(no.total, 22.25);
    assert.equal(no.items.length, 2);
    await cust.next((m) => m.type === 'order_status' && m.order_id === order_id && m.status === 'paid', 5000, 'paid push')
      .catch((e) => { if (sub.snapshot.status !== 'paid') throw e; });

    const accepted = await store.expect({ type: 'accept_order', order_id, prep_minutes: 12 }, 'ok');
    const offer = await rider.nextOffer(8000, order_id);
    assert.ok(H.distanceM(offer.store, base) < 5, `offer.store is the store: ${JSON.stringify(offer.store)}`);
    assert.ok(H.distanceM(offer.dropoff, drop) < 5, `offer.dropoff: ${JSON.stringify(offer.dropoff)}`);
    assert.equal(typeof offer.distance_m, 'number');
    assert.ok(offer.expires_ms > Date.now() - 1000, `expires_ms in the future: ${offer.expires_ms}`);
    await rider.c.expect({ type: 'accept', offer_id: offer.offer_id }, 'ok');

    // The customer sees the assigned rider move, with an ETA.
    await rider.moveTo(offset(base, 500, -150));
    const rp = await cust.next((m) => m.type === 'rider_position' && m.order_id === order_id, 5000, 'rider_position');
    assert.equal(rp.rider_id, 'r-flow');
    assert.equal(typeof rp.eta_s, 'number');
    assert.ok(Math.abs(rp.lat - rider.at.lat) < 0.01 && Math.abs(rp.lng - rider.at.lng) < 0.01, JSON.stringify(rp));
    const look = await as('customer', 'c-flow');
    const snap = await look.expect({ type: 'subscribe', order_id }, 'subscribed');
    assert.equal(snap.snapshot.rider_id, 'r-flow', `snapshot names the rider: ${JSON.stringify(snap)}`);
    look.close();

    // To the store: the store hears the rider arriving.
    for (const d of [300, 150, 20]) await rider.moveTo(offset(base, d, 0));
    await store.next((m) => m.type === 'rider_arriving' && m.order_id === order_id, 5000, 'rider_arriving');

    const cooking = await store.expect({ type: 'cooking', order_id }, 'ok');
    const ready = await store.expect({ type: 'ready', order_id }, 'ok');
    assertError(await intruder.status(order_id, 'picked_up'), 'forbidden', 'a rider not assigned');
    const picked = await rider.status(order_id, 'picked_up');
    assert.equal(picked.type, 'ok', JSON.stringify(picked));
    const delivering = await rider.status(order_id, 'delivering');
    assert.equal(delivering.type, 'ok', JSON.stringify(delivering));
    for (let i = 1; i <= 12; i++) {
      const f = i / 12;
      await rider.moveTo({ lat: base.lat + (drop.lat - base.lat) * f, lng: base.lng + (drop.lng - base.lng) * f });
      await H.sleep(50);
    }
    await rider.moveTo(offset(drop, 5, 5));
    const nearby = await cust.next((m) => m.type === 'rider_nearby' && m.order_id === order_id, 5000, 'rider_nearby');
    assert.ok(nearby.distance_m <= 100, `rider_nearby distance_m ${nearby.distance_m}`);
    const delivered = await rider.status(order_id, 'delivered');
    assert.equal(delivered.type, 'ok', JSON.stringify(delivered));
    await cust.next((m) => m.type === 'order_status' && m.order_id === order_id && m.status === 'delivered', 5000, 'delivered push');
    await rider.moveTo(offset(drop, -5, 0));
    await H.sleep(1000);

    const versions = [accepted, cooking, ready, picked, delivering, delivered].map((r) => r.version);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i] > versions[i - 1], `ok versions increase: ${versions}`);
    const pushes = cust.received('order_status').filter((m) => m.order_id === order_id);
    const seen = pushes.map((m) => m.status);
    for (let i = 1; i < pushes.length; i++) {
      assert.ok(pushes[i].version > pushes[i - 1].version, `push versions increase: ${JSON.stringify(pushes)}`);
      assert.ok(MAIN_LINE.indexOf(seen[i]) > MAIN_LINE.indexOf(seen[i - 1]), `statuses in order: ${seen}`);
    }
    for (const s of ['accepted', 'cooking', 'ready', 'picked_up', 'delivering', 'delivered']) {
      assert.ok(seen.includes(s), `customer saw ${s}: ${seen}`);
    }
    assert.equal(pushes.at(-1).version, delivered.version, 'last push carries the delivered version');
    assert.ok(pushes.every((m) => typeof m.at_ms === 'number'));
    assert.equal(cust.received('rider_nearby').filter((m) => m.order_id === order_id).length, 1, 'rider_nearby exactly once');
    const storeSaw = store.received('order_status').filter((m) => m.order_id === order_id).map((m) => m.status);
    assert.ok(storeSaw.includes('delivered'), `the store follows its order: ${storeSaw}`);
    // The assignment fed the dispatch latency histogram (issue #12 item 8).
    const m = await H.http(node, 'GET', '/metrics');
    const count = /^courier_dispatch_latency_ms_count (\d+)/m.exec(m.text);
    assert.ok(count && Number(count[1]) >= 1, `dispatch latency observed: ${count && count[0]}`);
    for (const c of [store, rider.c, intruder.c, cust]) c.close();
  });
});

describe('cancel', () => {
  let base;
  let store;
  let cust;
  before(async () => {
    base = area();
    store = await openStore('s-cancel', base);
    cust = await as('customer', 'c-cancel');
  });
  after(() => { store.close(); cust.close(); });

  test('cancel_before_pickup_is_ok_then_store_accept_is_conflict', async () => {
    const order_id = await placePaid(cust, store, 's-cancel', offset(base, 400, 0));
    await cust.expect({ type: 'subscribe', order_id }, 'subscribed');
    const ok = await cust.expect({ type: 'cancel', order_id }, 'ok');
    assert.equal(typeof ok.version, 'number', JSON.stringify(ok));
    await cust.next((m) => m.type === 'order_status' && m.order_id === order_id && m.status === 'cancelled', 5000, 'cancelled push');
    assertError(await store.request({ type: 'accept_order', order_id, prep_minutes: 5 }), 'conflict', 'accept after cancel');
  });

  test('cancel_after_pickup_is_conflict', async () => {
    const rider = await Rider.connect(node, WebSocket, 'r-cancel', offset(base, 50, 0));
    await rider.available(true);
    const order_id = await placePaid(cust, store, 's-cancel', offset(base, 800, 0));
    await assign(store, rider, order_id);
    await store.expect({ type: 'cooking', order_id }, 'ok');
    await store.expect({ type: 'ready', order_id }, 'ok');
    await rider.c.expect({ type: 'status', order_id, status: 'picked_up' }, 'ok');
    assertError(await cust.request({ type: 'cancel', order_id }), 'conflict', 'cancel after pickup');
    rider.c.close();
  });
});

describe('store tablets catch up (issue #12 item 1)', () => {
  test('a_tablet_that_connects_after_the_order_was_paid_gets_new_order_and_its_status', async () => {
    const base = area();
    await upsertStore(admin, 's-late', base, 3000, true);
    const cust = await as('customer', 'c-late');
    const placed = await cust.expect(orderBody('s-late', offset(base, 400, 0)), 'order_placed');
    await cust.expect({ type: 'subscribe', order_id: placed.order_id }, 'subscribed');
    await cust.next((m) => m.type === 'order_status' && m.order_id === placed.order_id && m.status === 'paid', 5000, 'paid');
    // No tablet was connected when it was paid; one connects now.
    const tablet = await as('store', 's-late');
    const no = await tablet.next((m) => m.type === 'new_order' && m.order_id === placed.order_id, 5000, 'new_order from the snapshot');
    assert.ok(Array.isArray(no.items) && no.items.length > 0, JSON.stringify(no));
    const st = await tablet.next((m) => m.type === 'order_status' && m.order_id === placed.order_id, 5000, 'its status');
    assert.equal(st.status, 'paid');
    // It can act on it, and a second tablet sees the change and the order.
    await tablet.expect({ type: 'accept_order', order_id: placed.order_id, prep_minutes: 5 }, 'ok');
    await tablet.next((m) => m.type === 'order_status' && m.order_id === placed.order_id && m.status === 'accepted', 5000, 'accepted push');
    const second = await as('store', 's-late');
    await second.next((m) => m.type === 'new_order' && m.order_id === placed.order_id, 5000, 'new_order on a second tablet');
    const st2 = await second.next((m) => m.type === 'order_status' && m.order_id === placed.order_id, 5000, 'status on a second tablet');
    assert.equal(st2.status, 'accepted');
    // A second order: its statuses reach the tablets although their versions
    // are below the first order's (one store topic carries many orders).
    const other = await cust.expect(orderBody('s-late', offset(base, 300, 100)), 'order_placed');
    await tablet.next((m) => m.type === 'new_order' && m.order_id === other.order_id, 5000, 'second new_order');
    const paid2 = await tablet.next((m) => m.type === 'order_status' && m.order_id === other.order_id, 5000, 'second order paid');
    assert.equal(paid2.status, 'paid');
    await tablet.expect({ type: 'reject_order', order_id: other.order_id, reason: 'closed early' }, 'ok');
    await second.next((m) => m.type === 'order_status' && m.order_id === other.order_id && m.status === 'rejected', 5000,
      'rejected on the second tablet');
    tablet.close(); second.close(); cust.close();
  });
});

describe('riders catch up (issue #12)', () => {
  test('a_rider_that_reconnects_gets_the_order_it_is_assigned_to', async () => {
    const base = area();
    const store = await openStore('s-rider-back', base);
    const cust = await as('customer', 'c-rider-back');
    const rider = await Rider.connect(node, WebSocket, 'r-back', offset(base, 60, 0));
    await rider.available(true);
    const order_id = await placePaid(cust, store, 's-rider-back', offset(base, 700, 0));
    const offer = await assign(store, rider, order_id);
    rider.c.close();
    const again = await as('rider', 'r-back');
    const a = await again.next((m) => m.type === 'assignment', 5000, 'assignment after reconnect');
    assert.equal(a.order_id, order_id, JSON.stringify(a));
    assert.equal(a.offer_id, offer.offer_id, JSON.stringify(a));
    again.close(); store.close(); cust.close();
  });
});

describe('dispatch', () => {
  test('offer_expires_after_timeout_and_moves_to_next_rider', async () => {
    const base = area();
    const store = await openStore('s-expire', base);
    const near = await Rider.connect(node, WebSocket, 'r-exp-near', offset(base, 200, 0));
    const far = await Rider.connect(node, WebSocket, 'r-exp-far', offset(base, 0, 900));
    await near.available(true);
    await far.available(true);
    const cust = await as('customer', 'c-expire');
    const order_id = await placePaid(cust, store, 's-expire', offset(base, 600, 600));
    await store.expect({ type: 'accept_order', order_id, prep_minutes: 5 }, 'ok');
    const first = await near.nextOffer(8000, order_id);
    const t0 = Date.now();
    const second = await far.nextOffer(OFFER_TIMEOUT_S * 1000 + 6000, order_id);
    const waited = Date.now() - t0;
    assert.ok(waited >= OFFER_TIMEOUT_S * 1000 - 600, `next offer only after the timeout (waited ${waited} ms)`);
    assert.notEqual(second.offer_id, first.offer_id);
    assertError(await near.c.request({ type: 'accept', offer_id: first.offer_id }), 'conflict', 'accepting an expired offer');
    await far.c.expect({ type: 'accept', offer_id: second.offer_id }, 'ok');
    for (const c of [store, near.c, far.c, cust]) c.close();
  });

  test('reject_moves_offer_to_next_rider', async () => {
    const base = area();
    const store = await openStore('s-reject', base);
    const near = await Rider.connect(node, WebSocket, 'r-rej-near', offset(base, 150, 0));
    const far = await Rider.connect(node, WebSocket, 'r-rej-far', offset(base, 0, -1000));
    await near.available(true);
    await far.available(true);
    const cust = await as('customer', 'c-reject');
    const order_id = await placePaid(cust, store, 's-reject', offset(base, -500, 500));
    await store.expect({ type: 'accept_order', order_id, prep_minutes: 5 }, 'ok');
    const first = await near.nextOffer(8000, order_id);
    const t0 = Date.now();
    await near.c.expect({ type: 'reject', offer_id: first.offer_id }, 'ok');
    const second = await far.nextOffer(OFFER_TIMEOUT_S * 1000 + 3000, order_id);
    assert.ok(Date.now() - t0 < OFFER_TIMEOUT_S * 1000, `the next offer follows the reject at once (${Date.now() - t0} ms)`);
    await far.c.expect({ type: 'accept', offer_id: second.offer_id }, 'ok');
    assertError(await near.c.request({ type: 'accept', offer_id: first.offer_id }), 'conflict', 'accepting a rejected offer');
    for (const c of [store, near.c, far.c, cust]) c.close();
  });
});

describe('rider positions', () => {
  test('stale_seq_is_dropped_but_acked_with_highest_seq', async () => {
    const base = area();
    const c = await as('rider', 'r-seq');
    c.send({ type: 'position', seq: 10, lat: base.lat, lng: base.lng, time_ms: Date.now() });
    const a10 = await c.next((m) => m.type === 'ack' && m.seq >= 10, 5000, 'ack 10');
    assert.equal(a10.seq, 10);
    c.send({ type: 'position', seq: 5, lat: base.lat + 0.01, lng: base.lng, time_ms: Date.now() });
    const a5 = await c.next('ack');
    assert.equal(a5.seq, 10, 'a stale seq is acked with the highest accepted seq');
    c.send({ type: 'position', seq: 10, lat: base.lat + 0.01, lng: base.lng, time_ms: Date.now() });
    assert.equal((await c.next('ack')).seq, 10, 'an equal seq is stale too');
    c.send({ type: 'position', seq: 11, lat: base.lat, lng: base.lng, time_ms: Date.now() });
    assert.equal((await c.next('ack')).seq, 11);
    assertError(await c.request({ type: 'place_order', ...orderBody('s-x', base) }), 'forbidden', 'a rider placing an order');
    c.close();
  });
});

describe('payments', () => {
  test('declined_payment_ends_payment_failed_and_store_never_sees_it', async () => {
    const declining = await H.CourierNode.start(args, { extra: ['--payment-decline-rate', '1'] });
    try {
      const base = area();
      const adm = await H.connectAs(declining, WebSocket, 'admin', 'ops-pay');
      await upsertStore(adm, 's-pay', base);
      const store = await H.connectAs(declining, WebSocket, 'store', 's-pay');
      const cust = await H.connectAs(declining, WebSocket, 'customer', 'c-pay');
      const placed = await cust.expect(orderBody('s-pay', offset(base, 200, 0)), 'order_placed');
      const sub = await cust.expect({ type: 'subscribe', order_id: placed.order_id }, 'subscribed');
      if (sub.snapshot.status !== 'payment_failed') {
        await cust.next((m) => m.type === 'order_status' && m.order_id === placed.order_id &&
          m.status === 'payment_failed', 8000, 'payment_failed push');
      }
      await H.sleep(300);
      assert.equal(store.received('new_order').length, 0, 'no new_order for an unpaid order');
      assertError(await store.request({ type: 'accept_order', order_id: placed.order_id, prep_minutes: 5 }),
        'conflict', 'accepting an unpaid order');
      for (const c of [adm, store, cust]) c.close();
    } finally {
      const r = await declining.stop();
      assert.equal(r.code, 0, `second node exits 0 (got ${JSON.stringify(r)})`);
    }
  });
});
