// Shared setup of the SDK's tests against a real courier-node: the binaries
// come from COURIER_NODE / COURIER_CTL (ctest passes them, as for the e2e
// scripts); the node process helpers are tests/e2e/lib/harness.js's.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

/** tests/e2e/lib/harness.js (CourierNode, withTimeout, sleep, ...). */
export const H = require('../../../tests/e2e/lib/harness.js');

export const args = {
  node: process.env.COURIER_NODE,
  ctl: process.env.COURIER_CTL,
};

/** Why the real-node tests cannot run here, or '' if they can. */
export function whyNoNode() {
  for (const k of ['node', 'ctl']) {
    if (!args[k] || !fs.existsSync(args[k])) return `COURIER_${k.toUpperCase()} is not a built binary ('${args[k]}')`;
  }
  if (typeof globalThis.WebSocket !== 'function') {
    try { require.resolve('ws'); } catch (_) { return "no global WebSocket and no 'ws' package (NODE_PATH)"; }
  }
  return '';
}

/** Why protobuf cannot be tested here, or ''. */
export function whyNoProtobuf() {
  try { require.resolve('protobufjs'); return ''; } catch (_) { return "no 'protobufjs' package (NODE_PATH)"; }
}

/** Resolves with the first `type` event of `client` matching `pred`, within `ms`. */
export function nextEvent(client, type, pred = () => true, ms = 5000) {
  let off;
  return H.withTimeout(new Promise((res) => {
    off = client.on(type, (p) => { if (pred(p)) res(p); });
  }), ms, `event '${type}'`).finally(() => off());
}

export const GANGNAM = { lat: 37.4979, lng: 127.0276 };
export const near = (p, north_m, east_m = 0) => H.offset(p, north_m, east_m);
export const ITEMS = [{ sku: 'bibimbap', qty: 2, price: 9.5 }, { sku: 'kimchi', qty: 1, price: 3.25 }];
