// The client's logic without a node: a scripted WebSocket, fake timers and a
// fixed random, so backoff, queues, timeouts, resubscribe and dedupe are
// checked exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Client, CourierError, backoffDelay, Deduper, dedupeKey, jsonCodec, orderTotal, rider,
} from '../src/index.js';

/// A WebSocket the test drives: open(), reply(), drop().
class FakeWebSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    FakeWebSocket.all.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code = 1000, reason = '') { queueMicrotask(() => this.onclose({ code, reason })); }
  open() { this.onopen(); }
  reply(m) { this.onmessage({ data: JSON.stringify(m) }); }
  drop() { this.onclose({ code: 1006, reason: 'dropped' }); }
  last(type) { return [...this.sent].reverse().find((m) => m.type === type); }
}

/// Timers the test fires by hand.
function fakeTimers() {
  const t = { next: 1, due: new Map() };
  t.setTimeout = (fn, ms) => { const id = t.next++; t.due.set(id, { fn, ms }); return id; };
  t.clearTimeout = (id) => { t.due.delete(id); };
  t.fire = (pred = () => true) => {
    for (const [id, d] of [...t.due]) {
      if (pred(d)) { t.due.delete(id); d.fn(); return d.ms; }
    }
    throw new Error('no timer due');
  };
  return t;
}

const tick = () => new Promise((r) => setImmediate(r));

function newClient(extra = {}) {
  FakeWebSocket.all = [];
  const timers = fakeTimers();
  const c = new Client({
    url: 'ws://fake/v1/ws', token: 't0', WebSocket: FakeWebSocket, timers, random: () => 0.5, ...extra,
  });
  return { c, timers };
}

async function welcomed(c, role = 'customer', id = 'c-1') {
  const p = c.connect();
  await tick();
  const ws = FakeWebSocket.all.at(-1);
  ws.open();
  await tick();
  const hello = ws.last('hello');
  ws.reply({ type: 'welcome', role, id, server_time_ms: 1, ref: hello.ref });
  await p;
  return ws;
}

test('backoff_is_full_jitter_under_an_exponential_cap', () => {
  const o = { minMs: 100, maxMs: 1000 };
  assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 0);
  assert.equal(backoffDelay(0, { ...o, random: () => 0.5 }), 50);
  assert.equal(backoffDelay(2, { ...o, random: () => 0.5 }), 200);
  assert.equal(backoffDelay(3, { ...o, random: () => 0.999 }), 799);
  assert.equal(backoffDelay(50, { ...o, random: () => 0.999 }), 999, 'bounded by maxMs');
});

test('hello_then_request_resolves_on_the_reply_with_its_ref', async () => {
  const { c } = newClient();
  const ws = await welcomed(c);
  assert.equal(ws.sent[0].token, 't0');
  assert.equal(c.state, 'open');
  const p = c.request({ type: 'cancel', order_id: 'o-1' });
  const sent = ws.last('cancel');
  ws.reply({ type: 'ok', version: 4, ref: 'someone-else' });
  ws.reply({ type: 'ok', version: 5, ref: sent.ref });
  assert.deepEqual(await p, { type: 'ok', version: 5, ref: sent.ref });
});

test('error_reply_rejects_with_a_typed_courier_error', async () => {
  const { c } = newClient();
  const ws = await welcomed(c);
  const p = c.request({ type: 'cancel', order_id: 'o-1' });
  const ref = ws.last('cancel').ref;
  ws.reply({ type: 'error', code: 'conflict', message: 'picked up', ref });
  await assert.rejects(p, (e) => e instanceof CourierError && e.code === 'conflict' && e.ref === ref && !e.local);
});

test('request_times_out_with_code_timeout', async () => {
  const { c, timers } = newClient();
  await welcomed(c);
  const p = c.request({ type: 'cancel', order_id: 'o-1' }, { timeoutMs: 1234 });
  assert.equal(timers.fire((d) => d.ms === 1234), 1234);
  await assert.rejects(p, (e) => e.code === 'timeout' && e.local);
  assert.equal(c.pendingCount, 0);
});

test('send_queue_and_pending_map_are_bounded', async () => {
  const { c } = newClient({ sendQueueMax: 2, pendingMax: 3 });
  c.connect().catch(() => {});
  await tick();   // the socket never opens: everything queues
  const a = c.request({ type: 'cancel', order_id: 'a' });
  const b = c.request({ type: 'cancel', order_id: 'b' });
  await assert.rejects(c.request({ type: 'cancel', order_id: 'c' }), (e) => e.code === 'queue_full');
  assert.equal(c.send({ type: 'availability', available: true }), false, 'send() says the queue is full');
  assert.equal(c.queuedCount, 2);
  // Open: the queue drains; the pending map still bounds what awaits replies.
  const ws = FakeWebSocket.all.at(-1);
  ws.open();
  await tick();
  ws.reply({ type: 'welcome', role: 'customer', id: 'c-1', ref: ws.last('hello').ref });
  await tick();
  assert.equal(c.queuedCount, 0);
  assert.deepEqual(ws.sent.filter((m) => m.type === 'cancel').map((m) => m.order_id), ['a', 'b']);
  const d = c.request({ type: 'cancel', order_id: 'd' });
  await assert.rejects(c.request({ type: 'cancel', order_id: 'e' }), (e) => e.code === 'too_many_pending');
  for (const m of ws.sent.filter((x) => x.type === 'cancel')) ws.reply({ type: 'ok', ref: m.ref });
  await Promise.all([a, b, d]);
});

test('queued_positions_keep_only_the_latest', async () => {
  const { c } = newClient();
  c.connect().catch(() => {});
  await tick();
  const r = rider(c, { seqStart: 10 });
  r.position({ lat: 1, lng: 1, time_ms: 1 });
  r.position({ lat: 2, lng: 2, time_ms: 2 });
  assert.equal(c.queuedCount, 1);
  const ws = FakeWebSocket.all.at(-1);
  ws.open();
  await tick();
  ws.reply({ type: 'welcome', role: 'rider', id: 'r-1', ref: ws.last('hello').ref });
  await tick();
  assert.deepEqual(ws.sent.filter((m) => m.type === 'position').map((m) => m.seq), [11]);
});

test('reconnect_backs_off_says_hello_and_resubscribes_with_snapshot_events', async () => {
  let token = 'tok-1';
  const { c, timers } = newClient({ token: () => token, backoff: { minMs: 1000, maxMs: 8000 } });
  const ws1 = await welcomed(c);
  const sub = c.request({ type: 'subscribe', order_id: 'o-9' });
  ws1.reply({ type: 'subscribed', order_id: 'o-9', snapshot: { status: 'paid', version: 2 }, ref: ws1.last('subscribe').ref });
  await sub;
  assert.deepEqual(c.subscriptions(), ['order:o-9']);
  const inFlight = c.request({ type: 'cancel', order_id: 'o-9' });
  const events = [];
  for (const e of ['close', 'reconnecting', 'open', 'subscribed']) c.on(e, (p) => events.push([e, p]));

  ws1.drop();
  await assert.rejects(inFlight, (e) => e.code === 'disconnected');
  assert.equal(c.state, 'reconnecting');
  assert.deepEqual(events.map((e) => e[0]), ['close', 'reconnecting']);
  assert.equal(events[1][1].delayMs, 500, 'full jitter: 0.5 * min(8000, 1000 * 2^0)');
  // A second failure doubles the cap.
  assert.equal(timers.fire(), 500);
  await tick();
  FakeWebSocket.all.at(-1).drop();
  assert.equal(events.at(-1)[1].delayMs, 1000, '0.5 * 2000');
  timers.fire((d) => d.ms === 1000);
  await tick();
  token = 'tok-2';
  const ws3 = FakeWebSocket.all.at(-1);
  ws3.open();
  await tick();
  assert.equal(ws3.last('hello').token, 'tok-2', 'the token function is asked again');
  ws3.reply({ type: 'welcome', role: 'customer', id: 'c-1', ref: ws3.last('hello').ref });
  await tick();
  const again = ws3.last('subscribe');
  assert.equal(again.order_id, 'o-9', 're-subscribed after the welcome');
  ws3.reply({ type: 'subscribed', order_id: 'o-9', snapshot: { status: 'cooking', version: 5 }, ref: again.ref });
  await tick();
  const snap = events.filter((e) => e[0] === 'subscribed').map((e) => e[1].snapshot.status);
  assert.deepEqual(snap, ['cooking'], 'the snapshot arrives as a subscribed event');
  assert.equal(events.find((e) => e[0] === 'open')[1].reconnected, true);
  assert.equal(c.reconnects, 1);
  // A successful connection resets the backoff.
  ws3.drop();
  assert.equal(events.at(-1)[1].delayMs, 500);
  c.close();
});

test('unauthorized_hello_with_a_fixed_token_stops_reconnecting', async () => {
  const { c } = newClient();
  const p = c.connect();
  await tick();
  const ws = FakeWebSocket.all.at(-1);
  ws.open();
  await tick();
  ws.reply({ type: 'error', code: 'unauthorized', message: 'bad token', ref: ws.last('hello').ref });
  await assert.rejects(p, (e) => e.code === 'unauthorized');
  await tick();
  assert.equal(c.state, 'closed');
  await assert.rejects(c.request({ type: 'cancel', order_id: 'x' }), (e) => e.code === 'closed');
});

test('pushes_are_events_and_resent_ones_are_deduped', async () => {
  const { c } = newClient();
  const ws = await welcomed(c, 'store', 's-1');
  const seen = [];
  const dups = [];
  c.on('push', (m) => seen.push(`${m.type}:${m.order_id}:${m.version ?? ''}`));
  c.on('duplicate', (m) => dups.push(m.type));
  const bare = [];
  c.on('error', (e) => bare.push(e.code));
  ws.reply({ type: 'new_order', order_id: 'o-1', items: [], total: 1 });
  ws.reply({ type: 'order_status', order_id: 'o-1', status: 'paid', version: 2, at_ms: 1 });
  ws.reply({ type: 'new_order', order_id: 'o-1', items: [], total: 1 });
  ws.reply({ type: 'order_status', order_id: 'o-1', status: 'paid', version: 2, at_ms: 1 });
  ws.reply({ type: 'order_status', order_id: 'o-1', status: 'accepted', version: 3, at_ms: 2 });
  ws.reply({ type: 'error', code: 'unauthorized', message: 'token expired' });
  assert.deepEqual(seen, ['new_order:o-1:', 'order_status:o-1:2', 'order_status:o-1:3']);
  assert.deepEqual(dups, ['new_order', 'order_status']);
  assert.deepEqual(bare, ['unauthorized']);
});

test('welcome_is_handled_before_the_snapshot_frames_behind_it', async () => {
  const { c } = newClient();
  const order = [];
  c.on('open', () => order.push(`open:${c.state}`));
  c.on('new_order', (m) => order.push(`new_order:${m.order_id}:${c.state}`));
  c.connect();
  await tick();
  const ws = FakeWebSocket.all.at(-1);
  ws.open();
  await tick();
  // One read with the welcome and the store's snapshot: no await between them.
  ws.reply({ type: 'welcome', role: 'store', id: 's-1', ref: ws.last('hello').ref });
  ws.reply({ type: 'new_order', order_id: 'o-1', items: [], total: 1 });
  assert.deepEqual(order, ['open:open', 'new_order:o-1:open']);
});

test('a_frame_the_socket_refuses_drops_the_connection_and_the_request_fails_disconnected', async () => {
  const { c } = newClient();
  const ws = await welcomed(c);
  ws.send = () => { throw new Error('InvalidStateError'); };
  await assert.rejects(c.request({ type: 'cancel', order_id: 'o-1' }), (e) => e.code === 'disconnected');
  assert.equal(c.state, 'reconnecting');
  c.close();
});

test('dedupe_keys_follow_protocol_additions', () => {
  assert.equal(dedupeKey({ type: 'offer', offer_id: 'f-1' }), 'offer|f-1');
  assert.equal(dedupeKey({ type: 'assignment', order_id: 'o-1', offer_id: 'f-1' }), 'assignment|o-1');
  assert.equal(dedupeKey({ type: 'rider_position', order_id: 'o-1' }), undefined);
  const d = new Deduper(2);
  assert.equal(d.seen({ type: 'offer', offer_id: 'a' }), false);
  assert.equal(d.seen({ type: 'offer', offer_id: 'b' }), false);
  assert.equal(d.seen({ type: 'offer', offer_id: 'c' }), false);
  assert.equal(d.seen({ type: 'offer', offer_id: 'a' }), false, 'the oldest is forgotten beyond max');
  assert.equal(d.seen({ type: 'offer', offer_id: 'c' }), true);
});

test('json_codec_and_order_total', () => {
  assert.equal(jsonCodec.decode('{"type":"ok","ref":"x"}').ref, 'x');
  assert.equal(jsonCodec.decode('not json'), undefined);
  assert.equal(jsonCodec.decode('{"no":"type"}'), undefined);
  assert.equal(orderTotal([{ sku: 'a', qty: 3, price: 0.1 }, { sku: 'b', qty: 1, price: 9.99 }]), 10.29);
});
