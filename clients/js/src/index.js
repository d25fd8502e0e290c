/// @courier/client: Courier's client SDK for browsers and Node (PROTOCOL.md).
export { Client, PENDING_MAX, SEND_QUEUE_MAX, REQUEST_TIMEOUT_MS, HELLO_TIMEOUT_MS } from './client.js';
export { CourierError, SERVER_CODES, LOCAL_CODES } from './errors.js';
export { Emitter } from './emitter.js';
export { backoffDelay, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from './backoff.js';
export { Deduper, dedupeKey, DEDUPE_MAX } from './dedupe.js';
export { jsonCodec, protobufCodec } from './codec.js';
export { customer, rider, store, admin, orderTotal } from './roles.js';
