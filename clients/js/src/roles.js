/// Per-role helpers over a Client: PROTOCOL.md's messages with their exact
/// wire names and fields, as methods. Each returns the reply (or rejects
/// with a CourierError); pushes arrive as the client's events.

function newRequestId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** The sum of `qty * price` in minor units, as the node checks `total`. */
export function orderTotal(items) {
  return items.reduce((sum, it) => sum + Math.round(it.qty * it.price * 100), 0) / 100;
}

/** Customer (role `customer`): place, track and cancel orders. */
export function customer(client) {
  return {
    client,
    /**
     * place_order; `request_id` defaults to a random UUID (keep it to retry:
     * the same request_id returns the same order), `total` to the items' sum.
     * Resolves with `order_placed{order_id, request_id}`.
     */
    placeOrder({ request_id = newRequestId(), store_id, items, total, dropoff }) {
      return client.request({
        type: 'place_order', request_id, store_id, items,
        total: total ?? orderTotal(items), dropoff,
      });
    },
    /** subscribe{order_id}: resolves with `subscribed{order_id, snapshot}`; re-subscribed after reconnects. */
    track(order_id) { return client.request({ type: 'subscribe', order_id }); },
    /** unsubscribe{order_id}. */
    untrack(order_id) { return client.request({ type: 'unsubscribe', order_id }); },
    /** cancel{order_id} -> ok{version}; conflict once picked up. */
    cancel(order_id) { return client.request({ type: 'cancel', order_id }); },
  };
}

/** Rider (role `rider`): positions, availability, offers, statuses. */
export function rider(client, { seqStart } = {}) {
  // seq must keep increasing across app restarts (protocol-additions.md):
  // starting from the clock does that unless positions outpace 1,000/s.
  let seq = (seqStart ?? Date.now()) - 1;
  return {
    client,
    /** The last seq sent. */
    get lastSeq() { return seq; },
    /**
     * position{seq, lat, lng, time_ms, ...}, fire and forget (the node answers
     * with `ack{seq}` pushes, possibly coalesced). Returns the seq used.
     */
    position({ lat, lng, time_ms = Date.now(), ...optional }) {
      seq += 1;
      client.send({ type: 'position', seq, lat, lng, time_ms, ...optional });
      return seq;
    },
    /** availability{available} -> ok. */
    availability(available) { return client.request({ type: 'availability', available }); },
    /** accept{offer_id} -> ok, or conflict (expired or taken). */
    acceptOffer(offer_id) { return client.request({ type: 'accept', offer_id }); },
    /** reject{offer_id} -> ok: the order goes to the next rider. */
    rejectOffer(offer_id) { return client.request({ type: 'reject', offer_id }); },
    /** status{order_id, status} (picked_up, delivering, delivered) -> ok{version}. */
    status(order_id, status) { return client.request({ type: 'status', order_id, status }); },
  };
}

/** Store tablet (role `store`): its orders arrive as `new_order` pushes. */
export function store(client) {
  return {
    client,
    /** accept_order{order_id, prep_minutes} -> ok{version}. */
    accept(order_id, prep_minutes) { return client.request({ type: 'accept_order', order_id, prep_minutes }); },
    /** reject_order{order_id, reason} -> ok{version}. */
    reject(order_id, reason) { return client.request({ type: 'reject_order', order_id, reason }); },
    /** cooking{order_id} -> ok{version}. */
    cooking(order_id) { return client.request({ type: 'cooking', order_id }); },
    /** ready{order_id} -> ok{version}. */
    ready(order_id) { return client.request({ type: 'ready', order_id }); },
  };
}

/** Admin / ops (role `admin`): stores, radius triggers, region stats. */
export function admin(client) {
  return {
    client,
    /** upsert_store{store_id, lat, lng, radius_m, open} -> ok. */
    upsertStore({ store_id, lat, lng, radius_m, open }) {
      return client.request({ type: 'upsert_store', store_id, lat, lng, radius_m, open });
    },
    /** radius_trigger{target, trigger, radius_m} -> radius_result. */
    radiusTrigger(target, trigger, radius_m) {
      return client.request({ type: 'radius_trigger', target, trigger, radius_m });
    },
    /** radius_trigger{target, trigger: 'restore'}: clears every held radius. */
    restore(target) { return client.request({ type: 'radius_trigger', target, trigger: 'restore', radius_m: 0 }); },
    /** subscribe_region{cell}: `region_stats` pushes (at most 1/s); re-subscribed after reconnects. */
    watchRegion(cell) { return client.request({ type: 'subscribe_region', cell }); },
    /** delayed_orders{} -> delayed_orders{orders, truncated}. */
    delayedOrders() { return client.request({ type: 'delayed_orders' }); },
  };
}
