// The SDK against a real courier-node: request/reply and typed errors, a
// customer's order reaching a store tablet, protobuf over WebSocket and TCP,
// reconnect after the node restarts (hello again, resubscribe, the snapshot
// again, re-sent pushes deduped), and the token-expiry cut with refresh.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, CourierError, customer, store, admin, rider } from '../src/index.js';
import { H, args, whyNoNode, whyNoProtobuf, nextEvent, GANGNAM, near, ITEMS } from './helpers.js';

const skip = whyNoNode() || false;
const skipPb = skip || whyNoProtobuf() || false;
const FAST = { backoff: { minMs: 100, maxMs: 1000 } };

describe('against a courier-node', { skip }, () => {
  let node;
  const clients = [];
  const open = async (role, id, extra = {}) => {
    const c = await Client.connect({ url: node.wsUrl, token: node.token(role, id), ...FAST, ...extra });
    clients.push(c);
    return c;
  };

  before(async () => {
    H.watchdog(150000);
    node = await H.CourierNode.start(args);
    const a = await open('admin', 'ops-sdk');
    await admin(a).upsertStore({ store_id: 's-sdk', lat: GANGNAM.lat, lng: GANGNAM.lng, radius_m: 3000, open: true });
  });
  after(async () => {
    for (const c of clients) c.close();
    const r = await node.stop();
    assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
  });

  test('hello_welcomes_the_token_principal_and_a_request_resolves_with_its_reply', async () => {
    const c = await open('customer', 'c-hello');
    assert.equal(c.welcome.type, 'welcome');
    assert.equal(c.welcome.role, 'customer');
    assert.equal(c.welcome.id, 'c-hello');
    const r = await c.request({ type: 'unsubscribe', order_id: 'o-none', ref: 'my-ref-1' });
    assert.equal(r.ref, 'my-ref-1', 'a caller-chosen ref is echoed');
  });

  test('error_replies_reject_with_courier_error_code_and_ref', async () => {
    const c = await open('customer', 'c-err');
    const err = await customer(c).placeOrder({ store_id: 's-missing', items: ITEMS, dropoff: near(GANGNAM, 300) })
      .then(() => null, (e) => e);
    assert.ok(err instanceof CourierError, String(err));
    assert.equal(err.code, 'not_found');
    assert.equal(err.local, false);
    assert.ok(err.ref, 'the error carries the request ref');
    const bad = await customer(c).placeOrder({ store_id: 's-sdk', items: ITEMS, total: 1, dropoff: near(GANGNAM, 300) })
      .then(() => null, (e) => e);
    assert.equal(bad.code, 'bad_request', 'total is not the sum of the items');
    assert.equal(c.state, 'open', 'the session stays open after bad_request');
  });

  test('customer_places_an_order_and_the_store_tablet_gets_new_order', async () => {
    const s = await open('store', 's-sdk');
    const c = await open('customer', 'c-order');
    const seen = nextEvent(s, 'new_order', (m) => m.order_id === placed.order_id);
    const placed = await customer(c).placeOrder({ store_id: 's-sdk', items: ITEMS, dropoff: near(GANGNAM, 400) });
    assert.match(placed.order_id, /./);
    const n = await seen;
    assert.equal(n.total, 22.25);
    assert.deepEqual(n.items, ITEMS);
    const sub = await customer(c).track(placed.order_id);
    assert.equal(sub.order_id, placed.order_id);
    assert.ok(['placed', 'paid'].includes(sub.snapshot.status), JSON.stringify(sub));
    const accepted = nextEvent(c, 'order_status', (m) => m.order_id === placed.order_id && m.status === 'accepted');
    const ok = await store(s).accept(placed.order_id, 10);
    assert.equal(ok.type, 'ok');
    assert.ok(ok.version >= 3, JSON.stringify(ok));
    assert.equal((await accepted).version, ok.version);
    const again = await customer(c).placeOrder({ request_id: placed.request_id, store_id: 's-sdk', items: ITEMS, dropoff: near(GANGNAM, 400) });
    assert.equal(again.order_id, placed.order_id, 'the same request_id is the same order');
  });

  test('rider_positions_carry_increasing_seq_and_are_acked', async () => {
    const c = await open('rider', 'r-sdk');
    const r = rider(c, { seqStart: 100 });
    await r.availability(true);
    const acked = nextEvent(c, 'ack', (m) => m.seq >= 102);
    r.position({ lat: GANGNAM.lat, lng: GANGNAM.lng });
    r.position({ lat: GANGNAM.lat + 0.0001, lng: GANGNAM.lng });
    assert.equal(r.position({ lat: GANGNAM.lat + 0.0002, lng: GANGNAM.lng }), 102);
    assert.equal((await acked).seq, 102);
  });

  test('protobuf_over_websocket_binary_frames_round_trips', { skip: skipPb }, async () => {
    const c = await open('customer', 'c-pb', { encoding: 'protobuf' });
    assert.equal(c.welcome.role, 'customer');
    assert.equal(typeof c.welcome.server_time_ms, 'number');
    const placed = await customer(c).placeOrder({ store_id: 's-sdk', items: ITEMS, dropoff: near(GANGNAM, 500) });
    const sub = await customer(c).track(placed.order_id);
    assert.equal(sub.snapshot.version >= 1, true, JSON.stringify(sub));
    const err = await c.request({ type: 'subscribe', order_id: 'o-not-mine' }).then(() => null, (e) => e);
    assert.ok(err instanceof CourierError && ['forbidden', 'not_found'].includes(err.code), String(err));
    const local = await c.request({ type: 'teleport' }).then(() => null, (e) => e);
    assert.deepEqual([local.code, local.local], ['bad_request', true], 'no protobuf message for the type: refused locally');
    assert.equal(c.send({ type: 'teleport' }), false);
    assert.equal(c.state, 'open');
    assert.equal((await customer(c).untrack(placed.order_id)).type, 'ok', 'the connection still serves');
  });

  test('protobuf_over_tcp_round_trips', { skip: skipPb }, async () => {
    const c = await Client.connect({ url: `tcp://127.0.0.1:${node.tcp}`, token: node.token('store', 's-sdk'), reconnect: false });
    clients.push(c);
    assert.equal(c.welcome.id, 's-sdk');
    const cust = await open('customer', 'c-tcp');
    const seen = nextEvent(c, 'new_order', (m) => m.order_id === placed.order_id);
    const placed = await customer(cust).placeOrder({ store_id: 's-sdk', items: ITEMS, dropoff: near(GANGNAM, 450) });
    assert.equal((await seen).total, 22.25);
    const ok = await store(c).reject(placed.order_id, 'out of rice');
    assert.equal(ok.type, 'ok');
  });

  test('token_expiry_cuts_the_session_and_a_token_function_reconnects', async () => {
    let issued = 0;
    const c = await open('customer', 'c-exp', { token: () => { issued += 1; return node.token('customer', 'c-exp', issued === 1 ? 2 : 3600); } });
    const refreshed = await c.refresh(node.token('customer', 'c-exp', 3));
    assert.equal(refreshed.type, 'ok');
    const expired = await nextEvent(c, 'error', (e) => e.code === 'unauthorized', 8000);
    assert.match(expired.message, /expired/);
    const back = await nextEvent(c, 'open', () => true, 8000);
    assert.equal(back.reconnected, true);
    assert.equal(issued, 2, 'the token function was asked again for the reconnect');
    const foreign = await c.refresh(node.token('customer', 'c-other')).then(() => null, (e) => e);
    assert.equal(foreign.code, 'unauthorized');
  });

  test('the_node_serves_this_sdk_at_sdk_for_the_live_map', async () => {
    const fs = await import('node:fs');
    for (const name of ['index.js', 'client.js', 'roles.js']) {
      const r = await fetch(`${node.httpUrl}/sdk/${name}`);
      assert.equal(r.status, 200, name);
      assert.match(r.headers.get('content-type'), /^text\/javascript/);
      assert.equal(await r.text(), fs.readFileSync(new URL(`../src/${name}`, import.meta.url), 'utf8'),
        `/sdk/${name} is clients/js/src/${name} as built into the node (rebuild courier-node after editing the SDK)`);
    }
    assert.equal((await fetch(`${node.httpUrl}/sdk/nope.js`)).status, 404);
  });

  test('reconnect_after_node_restart_resubscribes_and_the_snapshot_arrives_again', async () => {
    const s = await open('store', 's-sdk');
    const c = await open('customer', 'c-restart');
    const raw = [];
    s.on('message', (m) => { if (m.type === 'new_order') raw.push(m.order_id); });
    const events = [];
    s.on('new_order', (m) => events.push(m.order_id));
    const dups = [];
    s.on('duplicate', (m) => dups.push(`${m.type}:${m.order_id}`));
    const snaps = [];
    c.on('subscribed', (m) => snaps.push(m));

    const got = nextEvent(s, 'new_order', (m) => m.order_id === placed.order_id);
    const placed = await customer(c).placeOrder({ store_id: 's-sdk', items: ITEMS, dropoff: near(GANGNAM, 350) });
    await got;
    await customer(c).track(placed.order_id);
    assert.equal(snaps.length, 1);

    const { http: httpPort, tcp: tcpPort, dataDir } = node;
    const down = nextEvent(c, 'close', (e) => e.willReconnect, 10000);
    const stopped = await node.stop(10000, { keepData: true });
    assert.equal(stopped.code, 0);
    await down;
    // A request made while the node is down waits in the send queue.
    const queued = customer(c).track(placed.order_id);
    assert.equal(c.queuedCount >= 1, true);
    const [cBack, sBack] = [nextEvent(c, 'open', () => true, 30000), nextEvent(s, 'open', () => true, 30000)];
    node = await H.CourierNode.start(args, { dataDir, httpPort, tcpPort });
    assert.equal((await cBack).reconnected, true);
    assert.equal((await sBack).reconnected, true);
    const sub = await queued;
    assert.equal(sub.order_id, placed.order_id);
    await H.withTimeout((async () => { while (snaps.length < 3) await H.sleep(50); })(), 5000,
      `the re-subscribe's snapshot (have ${snaps.length})`);
    assert.ok(snaps.slice(1).every((m) => m.order_id === placed.order_id && m.snapshot.version >= 2), JSON.stringify(snaps));
    assert.deepEqual(c.subscriptions(), [`order:${placed.order_id}`]);
    // The store's snapshot repeats the open order: on the wire, not as an event.
    await H.withTimeout((async () => { while (raw.filter((o) => o === placed.order_id).length < 2) await H.sleep(50); })(),
      5000, `new_order again after the reconnect (raw ${JSON.stringify(raw)})`);
    assert.equal(events.filter((o) => o === placed.order_id).length, 1, 'deduped by order_id');
    assert.ok(dups.includes(`new_order:${placed.order_id}`), JSON.stringify(dups));
    // The subscription is live on the new node.
    const accepted = nextEvent(c, 'order_status', (m) => m.order_id === placed.order_id && m.status === 'accepted', 8000);
    await store(s).accept(placed.order_id, 5);
    await accepted;
  });
});
