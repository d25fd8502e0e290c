'use strict';
// Domain helpers on top of harness.js: stores, riders that move, orders.

const { connectAs, offset } = require('./harness');

/// admin upsert_store; resolves with the `ok`.
function upsertStore(admin, store_id, p, radius_m = 3000, open = true) {
  return admin.expect({ type: 'upsert_store', store_id, lat: p.lat, lng: p.lng, radius_m, open }, 'ok');
}

/// A rider connection with its own position seq.
class Rider {
  static async connect(node, WebSocket, id, at) {
    const c = await connectAs(node, WebSocket, 'rider', id);
    const r = new Rider(c, id, at);
    await r.moveTo(at);
    return r;
  }

  constructor(client, id, at) {
    this.c = client;
    this.id = id;
    this.at = at;
    this.seq = 0;
  }

  /// Sends a position and waits for an ack covering it.
  async moveTo(p, ms = 5000) {
    this.at = p;
    const seq = ++this.seq;
    this.c.send({ type: 'position', seq, lat: p.lat, lng: p.lng, time_ms: Date.now(), accuracy_m: 5 });
    return this.c.next((m) => m.type === 'ack' && m.seq >= seq, ms, `ack >= ${seq}`);
  }

  /// Sends a position without waiting for the ack.
  moveNoWait(p) {
    this.at = p;
    this.seq += 1;
    this.c.send({ type: 'position', seq: this.seq, lat: p.lat, lng: p.lng, time_ms: Date.now() });
  }

  available(on = true) { return this.c.expect({ type: 'availability', available: on }, 'ok'); }
  nextOffer(ms = 8000, order_id) {
    return this.c.next((m) => m.type === 'offer' && (!order_id || m.order_id === order_id), ms,
      `offer${order_id ? ' for ' + order_id : ''}`);
  }
  status(order_id, status) { return this.c.request({ type: 'status', order_id, status }); }
}

let requests = 0;
/// A valid place_order body for `store_id` delivering at `dropoff`.
function orderBody(store_id, dropoff, extra = {}) {
  return {
    type: 'place_order',
    request_id: `req-${process.pid}-${++requests}`,
    store_id,
    items: [{ sku: 'bibimbap', qty: 2, price: 9.5 }, { sku: 'kimchi', qty: 1, price: 3.25 }],
    total: 22.25,
    dropoff,
    ...extra,
  };
}

module.exports = { upsertStore, Rider, orderBody, offset };
