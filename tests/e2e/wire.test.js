'use strict';
// The binary transports with a third-party protobuf client (protobufjs and
// messages/proto/courier.proto): raw TCP with a 4-byte big-endian length
// prefix, and binary WebSocket frames.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const H = require('./lib/harness');
const { upsertStore, orderBody, offset } = require('./lib/city');

const { ws: WebSocket, protobufjs: protobuf } = H.requireDeps(['ws', 'protobufjs']);
const args = H.parseArgs();
H.watchdog(120000);

// keepCase: the proto's snake_case field names, as on the wire's JSON twin.
const Envelope = new protobuf.Root().loadSync(args.proto, { keepCase: true }).lookupType('courier.v1.Envelope');
const encode = (obj) => Buffer.from(Envelope.encode(Envelope.fromObject(obj)).finish());
/// Envelope bytes -> plain object with `body` naming the oneof member.
const decode = (buf) => Envelope.toObject(Envelope.decode(buf), { oneofs: true, longs: Number, defaults: true });

/// A length-prefixed protobuf client over raw TCP.
class TcpClient {
  static open(port) {
    return H.withTimeout(new Promise((res, rej) => {
      const s = net.connect(port, '127.0.0.1', () => res(new TcpClient(s)));
      s.once('error', rej);
    }), 5000, `tcp connect ${port}`);
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.inbox = [];
    this.waiters = [];
    this.ended = false;
    sock.on('error', () => {});
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4) {
        const n = this.buf.readUInt32BE(0);
        if (this.buf.length < 4 + n) break;
        this.inbox.push(decode(this.buf.subarray(4, 4 + n)));
        this.buf = this.buf.subarray(4 + n);
      }
      this.waiters.forEach((w) => w());
    });
    this.closed = new Promise((res) => sock.on('close', () => { this.ended = true; res(); this.waiters.forEach((w) => w()); }));
  }

  sendFrame(payload) {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(payload.length, 0);
    this.sock.write(Buffer.concat([head, payload]));
  }

  send(obj) { this.sendFrame(encode(obj)); }

  next(ms = 5000) {
    return H.withTimeout(new Promise((res, rej) => {
      const check = () => {
        if (this.inbox.length) {
          this.waiters = this.waiters.filter((w) => w !== check);
          res(this.inbox.shift());
        } else if (this.ended) {
          this.waiters = this.waiters.filter((w) => w !== check);
          rej(new Error('tcp connection closed while waiting for a frame'));
        }
      };
      this.waiters.push(check);
      check();
    }), ms, 'a tcp frame');
  }

  async request(obj) {
    this.send(obj);
    return this.next();
  }

  close() { this.sock.destroy(); }
}

let node;
const base = { lat: 37.51, lng: 127.06 };

before(async () => {
  node = await H.CourierNode.start(args);
  const admin = await H.connectAs(node, WebSocket, 'admin', 'ops-wire');
  await upsertStore(admin, 's-wire', base);
  admin.close();
});
after(async () => {
  const r = await node.stop();
  assert.equal(r.code, 0, `courier-node exits 0 on SIGTERM (got ${JSON.stringify(r)})`);
});

/// A place_order body in protobuf object form.
function placeOrder(request_id) {
  const { type, ...body } = orderBody('s-wire', offset(base, 300, 0), { request_id });
  return body;
}

describe('raw TCP', () => {
  test('tcp_hello_and_place_order_round_trip', async () => {
    const c = await TcpClient.open(node.tcp);
    const w = await c.request({ ref: 't-1', hello: { token: node.token('customer', 'c-tcp') } });
    assert.equal(w.body, 'welcome', JSON.stringify(w));
    assert.equal(w.ref, 't-1');
    assert.equal(w.welcome.role, 'customer');
    assert.equal(w.welcome.id, 'c-tcp');
    assert.ok(w.welcome.server_time_ms > 0);
    const p = await c.request({ ref: 't-2', place_order: placeOrder('tcp-req-1') });
    assert.equal(p.body, 'order_placed', JSON.stringify(p));
    assert.equal(p.ref, 't-2');
    assert.equal(p.order_placed.request_id, 'tcp-req-1');
    assert.ok(p.order_placed.order_id.length > 0);
    const s = await c.request({ ref: 't-3', subscribe: { order_id: p.order_placed.order_id } });
    assert.equal(s.body, 'subscribed', JSON.stringify(s));
    assert.ok(['placed', 'paid'].includes(s.subscribed.snapshot.status));
    // The same order over REST: one node, one truth.
    const g = await H.http(node, 'GET', `/v1/orders/${encodeURIComponent(p.order_placed.order_id)}`,
      { token: node.token('customer', 'c-tcp') });
    assert.equal(g.status, 200, g.text);
    c.close();
  });

  test('tcp_ping_is_answered_pong', async () => {
    const c = await TcpClient.open(node.tcp);
    const w = await c.request({ ref: 'p-0', hello: { token: node.token('rider', 'r-tcp-ping') } });
    assert.equal(w.body, 'welcome', JSON.stringify(w));
    const p = await c.request({ ref: 'p-1', ping: { at_ms: 1234 } });
    assert.equal(p.body, 'pong', JSON.stringify(p));
    assert.equal(p.ref, 'p-1');
    assert.equal(Number(p.pong.at_ms), 1234);
    c.close();
  });

  test('tcp_request_before_hello_is_unauthorized_then_closed', async () => {
    const c = await TcpClient.open(node.tcp);
    const e = await c.request({ ref: 'x', availability: { available: true } });
    assert.equal(e.body, 'error', JSON.stringify(e));
    assert.equal(e.error.code, 'unauthorized');
    await H.withTimeout(c.closed, 5000, 'close after unauthorized');
  });

  test('tcp_undecodable_payload_is_bad_request_and_connection_stays_open', async () => {
    const c = await TcpClient.open(node.tcp);
    await c.request({ hello: { token: node.token('customer', 'c-tcp2') } });
    c.sendFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    const e = await c.next();
    assert.equal(e.body, 'error', JSON.stringify(e));
    assert.equal(e.error.code, 'bad_request');
    const p = await c.request({ ref: 'after', place_order: placeOrder('tcp-req-2') });
    assert.equal(p.body, 'order_placed', `still open after a bad payload: ${JSON.stringify(p)}`);
    c.close();
  });

  test('tcp_oversize_length_prefix_gets_error_then_close', async () => {
    const c = await TcpClient.open(node.tcp);
    await c.request({ hello: { token: node.token('customer', 'c-tcp3') } });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(64 * 1024 + 1, 0);
    c.sock.write(head);
    const e = await c.next();
    assert.equal(e.body, 'error', JSON.stringify(e));
    assert.equal(e.error.code, 'bad_request');
    await H.withTimeout(c.closed, 5000, 'close after an oversize frame');
  });
});

describe('WebSocket binary', () => {
  test('protobuf_binary_frames_over_websocket', async () => {
    const c = await H.WsClient.open(node.wsUrl, WebSocket, 'ws-bin');
    c.sendRaw(encode({ ref: 'b-1', hello: { token: node.token('customer', 'c-wsbin') } }), { binary: true });
    const w = await c.next((m) => m.binary || m.type, 5000, 'reply to binary hello');
    assert.ok(w.binary, `a binary request gets a binary reply: ${JSON.stringify(w)}`);
    const wd = decode(w.binary);
    assert.equal(wd.body, 'welcome', JSON.stringify(wd));
    assert.equal(wd.ref, 'b-1');
    c.sendRaw(encode({ ref: 'b-2', place_order: placeOrder('wsbin-1') }), { binary: true });
    const p = decode((await c.next((m) => m.binary, 5000, 'binary order_placed')).binary);
    assert.equal(p.body, 'order_placed', JSON.stringify(p));
    assert.equal(p.ref, 'b-2');
    // JSON text still works on the same connection.
    const t = await c.request({ ...orderBody('s-wire', offset(base, 310, 0)), request_id: 'wsbin-1' });
    assert.equal(t.type, 'order_placed', JSON.stringify(t));
    assert.equal(t.order_id, p.order_placed.order_id, 'same request_id, same order, across encodings');
    c.close();
  });
});
