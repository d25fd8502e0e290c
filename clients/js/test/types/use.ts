// Compiled by types.test.js (tsc --noEmit): index.d.ts describes the API as
// an app uses it, through the package's own name and `exports` (self-reference).
// Each @ts-expect-error line must fail to compile, or tsc reports it unused.
import {
  Client, CourierError, customer, rider, store, admin, backoffDelay, Deduper,
  type OrderStatusPush, type Welcome, type ErrorCode,
} from '@courier/client';

export async function app(): Promise<void> {
  const client = await Client.connect({ url: 'ws://127.0.0.1:8080/v1/ws', token: async () => 'tok', encoding: 'protobuf' });
  const w: Welcome | null = client.welcome;
  client.on('order_status', (m: OrderStatusPush) => console.log(m.version + 1, m.status));
  client.on('close', ({ code, willReconnect }) => console.log(code, willReconnect));
  client.on('reconnecting', ({ attempt, delayMs }) => console.log(attempt, delayMs));
  client.on('error', (e) => console.log(e.code, e.local));
  client.on('some_future_push', (m) => console.log(m.type));
  const off = client.on('subscribed', (m) => console.log(m.snapshot.status, m.snapshot.version));
  off();
  const placed = await customer(client).placeOrder({
    store_id: 's-1', items: [{ sku: 'a', qty: 1, price: 2 }], dropoff: { lat: 1, lng: 2 },
  });
  const sub = await customer(client).track(placed.order_id);
  const seq: number = rider(client, { seqStart: 1 }).position({ lat: 1, lng: 2, accuracy_m: 5 });
  await rider(client).status('o-1', 'delivered');
  await store(client).accept('o-1', 10);
  const rr = await admin(client).radiusTrigger('store:s-1', 'weather', 100);
  console.log(w?.role, sub.snapshot.eta_s, seq, rr.applied, backoffDelay(2), new Deduper().seen({ type: 'offer', offer_id: 'f' }));
  try {
    await client.request({ type: 'cancel', order_id: 'o-1' }, { timeoutMs: 5 });
  } catch (e) {
    if (e instanceof CourierError) {
      const code: ErrorCode = e.code;
      console.log(code, e.ref, e.reply?.message);
    }
  }
  // @ts-expect-error prep_minutes is required
  await store(client).accept('o-1');
  // @ts-expect-error statuses a rider may report are picked_up, delivering, delivered
  await rider(client).status('o-1', 'cooking');
  // @ts-expect-error the token is required
  new Client({ url: 'ws://x' });
  // @ts-expect-error admin triggers are PROTOCOL.md's
  await admin(client).radiusTrigger('store:s-1', 'tsunami', 100);
  client.close();
}
