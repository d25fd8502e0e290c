'use strict';
// PROTOCOL.md "Connection" and "Errors" over WebSocket/JSON: hello for every
// role, tokens that must be refused, ref echo, and bad input that must be
// answered with bad_request while the connection stays open. Raw sockets
// (H.WsClient, H.connectRaw) where frames themselves are under test.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./lib/harness');

const { ws: WebSocket } = H.requireDeps(['ws']);
const args = H.parseArgs();
H.watchdog(120000);

let node;
before(async () => { node = await H.CourierNode.start(args); });
after(async () => {
  const r = await node.stop();
  assert.deepEqual({ code: r.code, sig: r.sig }, { code: 0, sig: null }, 'courier-node exits 0 on SIGTERM');
});

const open = (name) => H.WsClient.open(node.wsUrl, WebSocket, name);
const nowS = () => Math.floor(Date.now() / 1000);

/// hello with `token`: the reply must be error{unauthorized}.
async function refused(token, name) {
  const c = await open(name);
  try {
    const r = await c.request({ type: 'hello', token });
    assert.equal(r.type, 'error', `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.code, 'unauthorized', `${name}: ${JSON.stringify(r)}`);
  } finally {
    c.close();
  }
}

describe('hello', () => {
  for (const [role, id] of [['rider', 'r-17'], ['customer', 'c-1'], ['store', 's-9'], ['admin', 'ops-1']]) {
    test(`hello_with_${role}_token_gets_welcome`, async () => {
      const c = await open(role);
      const w = await c.request({ type: 'hello', token: node.token(role, id) });
      assert.equal(w.type, 'welcome', JSON.stringify(w));
      assert.equal(w.role, role);
      assert.equal(w.id, id);
      assert.equal(typeof w.server_time_ms, 'number');
      assert.ok(Math.abs(w.server_time_ms - Date.now()) < 60000, `server_time_ms ${w.server_time_ms} is now`);
      c.close();
    });
  }

  test('request_before_hello_is_unauthorized_then_closed', async () => {
    const c = await open('early');
    c.send({ type: 'availability', available: true, ref: 'early-1' });
    const e = await c.next('error');
    assert.equal(e.code, 'unauthorized', JSON.stringify(e));
    const closed = await H.withTimeout(c.closed, 5000, 'close after unauthorized');
    assert.ok(closed, 'connection closed');
  });

  test('expired_token_is_unauthorized', async () => {
    await refused(H.mintToken({ role: 'customer', id: 'c-1', exp: nowS() - 60 }, node.secret), 'expired');
  });

  test('token_with_bad_signature_is_unauthorized', async () => {
    await refused(H.mintToken({ role: 'admin', id: 'a-1', exp: nowS() + 3600 }, 'not-the-secret'), 'forged');
    // A real token whose claims were swapped for admin ones keeps its old signature.
    const real = node.token('customer', 'c-1');
    const forged = Buffer.from(JSON.stringify({ role: 'admin', id: 'c-1', exp: nowS() + 3600 })).toString('base64url') +
      '.' + real.split('.')[1];
    await refused(forged, 'swapped-claims');
  });

  test('token_with_unknown_role_is_unauthorized', async () => {
    await refused(H.mintToken({ role: 'superuser', id: 'x-1', exp: nowS() + 3600 }, node.secret), 'unknown-role');
  });

  test('garbage_token_is_unauthorized', async () => {
    await refused('not-a-token', 'garbage');
  });

  test('js_minted_token_with_the_right_secret_is_accepted', async () => {
    const c = await open('js-minted');
    const w = await c.request({ type: 'hello', token: H.mintToken({ role: 'rider', id: 'r-js', exp: nowS() + 600 }, node.secret) });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    c.close();
  });
});

describe('errors', () => {
  let rider;
  before(async () => { rider = await H.connectRaw(node, WebSocket, 'rider', 'r-err'); });
  after(() => rider.close());

  /// The reply to `msg` (sent with a ref) must be error{code} echoing the ref.
  async function rejects(msg, code = 'bad_request', c = rider) {
    const r = await c.request(msg, 5000, { bareErrors: true });
    assert.equal(r.type, 'error', `${JSON.stringify(msg)} -> ${JSON.stringify(r)}`);
    assert.equal(r.code, code, `${JSON.stringify(msg)} -> ${JSON.stringify(r)}`);
    assert.equal(typeof r.message, 'string');
    assert.equal(r.ref, r.sentRef, `the error echoes the request's ref: ${JSON.stringify(msg)} -> ${JSON.stringify(r)}`);
  }

  /// The connection still answers.
  async function stillOpen() {
    const r = await rider.request({ type: 'availability', available: false });
    assert.equal(r.type, 'ok', `connection still serves: ${JSON.stringify(r)}`);
  }

  test('ref_is_echoed_in_reply_and_error', async () => {
    rider.send({ type: 'availability', available: false, ref: 'my-ref-42' });
    const ok = await rider.next((m) => m.ref === 'my-ref-42');
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
    rider.send({ type: 'radius_trigger', target: 'store:s-1', trigger: 'manual', radius_m: 10, ref: 'my-ref-43' });
    const err = await rider.next((m) => m.ref === 'my-ref-43');
    assert.equal(err.type, 'error');
    assert.equal(err.code, 'forbidden', 'a rider may not trigger radii');
  });

  test('malformed_json_is_bad_request_and_connection_stays_open', async () => {
    for (const text of ['{"type":"position", "seq": 1,', '[1,2,3]', '"hello"', '']) {
      const from = rider.all.length;
      rider.send(text);
      const e = await rider.next((m) => m.type === 'error' && rider.all.indexOf(m) >= from, 5000, `error for ${text}`);
      assert.equal(e.code, 'bad_request', `${JSON.stringify(text)} -> ${JSON.stringify(e)}`);
      await stillOpen();
    }
  });

  test('unknown_type_and_server_only_type_are_bad_request', async () => {
    await rejects({ type: 'teleport', lat: 1, lng: 2 });
    await rejects({ type: 'welcome', role: 'admin', id: 'x', server_time_ms: 1 });
    await stillOpen();
  });

  test('wrong_field_types_are_bad_request', async () => {
    await rejects({ type: 'position', seq: 'one', lat: 37.5, lng: 127.0, time_ms: Date.now() });
    await rejects({ type: 'position', seq: 1, lat: '37.5', lng: 127.0, time_ms: Date.now() });
    await rejects({ type: 'availability', available: 'yes' });
    await rejects({ type: 'accept', offer_id: 17 });
    await stillOpen();
  });

  test('missing_fields_are_bad_request', async () => {
    await rejects({ type: 'position', seq: 1, lng: 127.0, time_ms: Date.now() });
    await rejects({ type: 'availability' });
    await rejects({ type: 'status', status: 'picked_up' });
    await stillOpen();
  });

  test('out_of_range_values_are_bad_request', async () => {
    await rejects({ type: 'position', seq: 1, lat: 91, lng: 127.0, time_ms: Date.now() });
    await rejects({ type: 'position', seq: 1, lat: 37.5, lng: -180.5, time_ms: Date.now() });
    await rejects({ type: 'position', seq: 1, lat: 37.5, lng: 127, time_ms: Date.now(), heading_deg: 400 });
    await rejects({ type: 'status', order_id: 'o-1', status: 'cooking' });
    await stillOpen();
  });

  test('customer_place_order_shape_errors_are_bad_request', async () => {
    const c = await H.connectRaw(node, WebSocket, 'customer', 'c-shape');
    const good = {
      type: 'place_order', request_id: 'q-1', store_id: 's-none',
      items: [{ sku: 'a', qty: 1, price: 5 }], total: 5, dropoff: { lat: 37.5, lng: 127.03 },
    };
    const cases = [
      { ...good, store_id: undefined },
      { ...good, items: 'lots' },
      { ...good, items: [] },
      { ...good, items: [{ sku: 'a', qty: 0, price: 5 }], total: 0 },
      { ...good, total: '5' },
      { ...good, dropoff: { lat: -95, lng: 127 } },
      { ...good, dropoff: undefined },
    ];
    for (const msg of cases) await rejects(msg, 'bad_request', c);
    c.close();
  });

  test('oversize_websocket_frame_is_refused_and_node_survives', async () => {
    const c = await H.connectRaw(node, WebSocket, 'rider', 'r-big');
    c.send({ type: 'availability', available: true, ref: 'x'.repeat(70 * 1024) });
    const outcome = await H.withTimeout(Promise.race([
      c.next('error', 5000).then((e) => ({ error: e })),
      c.closed.then((info) => ({ closed: info })),
    ]), 6000, 'error or close after a 70 KiB frame');
    if (outcome.error) assert.equal(outcome.error.code, 'bad_request', JSON.stringify(outcome.error));
    else assert.ok([1009, 1002, 1008, 1006].includes(outcome.closed.code), `close code ${outcome.closed.code}`);
    c.close();
    await stillOpen();
  });
});

// Issue #14: a connection that never says hello does not hold a session
// slot; the limit and its count are in /metrics.
describe('hello deadline', () => {
  let quick;
  before(async () => { quick = await H.CourierNode.start(args, { extra: ['--hello-timeout-s', '1'] }); });
  after(async () => { await quick.stop(); });

  test('a_connection_that_never_says_hello_is_closed_after_the_hello_timeout', async () => {
    const net = require('node:net');
    const silentWs = await H.WsClient.open(quick.wsUrl, WebSocket, 'silent-ws');
    const silentTcp = net.connect(quick.tcp, '127.0.0.1');
    const tcpClosed = new Promise((res) => silentTcp.on('close', res));
    silentTcp.on('error', () => {});
    const talker = await H.connectAs(quick, WebSocket, 'customer', 'c-in-time');
    const t0 = Date.now();
    await H.withTimeout(silentWs.closed, 8000, 'WebSocket closed without hello');
    await H.withTimeout(tcpClosed, 8000, 'TCP closed without hello');
    assert.ok(Date.now() - t0 < 8000);
    // A session that said hello in time is not affected.
    const r = await talker.request({ type: 'subscribe', order_id: 'o-none' }).catch((e) => ({ type: 'lost', e }));
    assert.notEqual(r.type, 'lost', 'the session that said hello stays open');
    talker.close();
    const m = await H.http(quick, 'GET', '/metrics');
    assert.match(m.text, /^courier_limit_hello_timeout_ms 1000$/m);
    const timedOut = Number((/^courier_sessions_timed_out_total (\d+)$/m.exec(m.text) || [])[1]);
    assert.ok(timedOut >= 2, `courier_sessions_timed_out_total ${timedOut}`);
  });

  test('the_default_hello_timeout_is_10_s', async () => {
    const m = await H.http(node, 'GET', '/metrics');
    assert.match(m.text, /^courier_limit_hello_timeout_ms 10000$/m);
  });
});

// Issue #14: a session whose token expires is told and closed, unless it
// sent refresh{token} for the same principal in time.
describe('token expiry', () => {
  test('a_session_is_closed_with_an_error_when_its_token_expires', async () => {
    const c = await open('expiring');
    const w = await c.request({ type: 'hello', token: H.mintToken({ role: 'customer', id: 'c-exp', exp: nowS() + 2 }, node.secret) });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const e = await c.next('error', 8000);
    assert.equal(e.code, 'unauthorized', JSON.stringify(e));
    assert.match(e.message, /expired/);
    await H.withTimeout(c.closed, 5000, 'closed after the token expired');
  });

  test('refresh_with_a_fresh_token_keeps_the_session_and_a_foreign_token_is_refused', async () => {
    const c = await open('refreshing');
    const w = await c.request({ type: 'hello', token: H.mintToken({ role: 'customer', id: 'c-ref', exp: nowS() + 2 }, node.secret) });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const foreign = await c.request({ type: 'refresh', token: node.token('customer', 'c-other') });
    assert.equal(foreign.type, 'error', JSON.stringify(foreign));
    assert.equal(foreign.code, 'unauthorized');
    const ok = await c.request({ type: 'refresh', token: H.mintToken({ role: 'customer', id: 'c-ref', exp: nowS() + 3600 }, node.secret) });
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
    await H.sleep(3500); // past the first token's expiry
    assert.equal(c.closeInfo, null, 'still open');
    const r = await c.request({ type: 'subscribe', order_id: 'o-none' });
    assert.notEqual(r.code, 'unauthorized', JSON.stringify(r));
    c.close();
  });
});

// Issue #14: idle sessions are pinged and closed; ping/pong is the heartbeat
// (docs/protocol-additions.md "Heartbeats and idle sessions").
describe('heartbeats', () => {
  let quick;
  before(async () => { quick = await H.CourierNode.start(args, { extra: ['--idle-timeout-s', '2'] }); });
  after(async () => { await quick.stop(); });

  test('ping_is_answered_pong_with_its_at_ms_and_ref', async () => {
    const c = await open('pinger');
    const w = await c.request({ type: 'hello', token: node.token('rider', 'r-ping') });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const p = await c.request({ type: 'ping', at_ms: 1700000000123 });
    assert.deepEqual(p, { type: 'pong', at_ms: 1700000000123, ref: p.sentRef });
    const bare = await c.request({ type: 'ping' });
    assert.equal(bare.type, 'pong', JSON.stringify(bare));
    c.close();
  });

  test('the_default_idle_timeout_is_120_s', async () => {
    const m = await H.http(node, 'GET', '/metrics');
    assert.match(m.text, /^courier_limit_idle_timeout_ms 120000$/m);
  });

  test('a_websocket_client_that_answers_pings_outlives_the_idle_timeout', async () => {
    // The ws package answers pings itself, as every RFC 6455 client does.
    const c = await H.connectAs(quick, WebSocket, 'customer', 'c-quiet');
    await H.sleep(5000); // 2.5 idle timeouts without a frame from the client
    assert.equal(c.closeInfo, null, 'still open');
    const r = await c.request({ type: 'ping' });
    assert.equal(r.type, 'pong');
    const m = await H.http(quick, 'GET', '/metrics');
    const pings = Number((/^courier_session_pings_total (\d+)$/m.exec(m.text) || [])[1]);
    assert.ok(pings >= 2, `courier_session_pings_total ${pings}`);
    c.close();
  });
});

