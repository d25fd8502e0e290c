/// Transports: a WebSocket (the global one in browsers and Node >= 22, or the
/// `ws` package) or, in Node, raw TCP with 4-byte big-endian length prefixes.
/// Both are wrapped in one small shape the client drives:
///   { send(data), close(code?, reason?), onopen, onmessage(data), onclose({code, reason}) }
/// and `onclose` is called exactly once, also when opening fails.

import { loadModule } from './load.js';

/** PROTOCOL.md: a frame is at most 64 KiB. */
export const FRAME_MAX_BYTES = 64 * 1024;

/** The WebSocket class to use: the injected one, the global one, or `ws`. */
export async function resolveWebSocket(injected) {
  if (injected) return injected;
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  const mod = await loadModule('ws');
  return mod.WebSocket || mod.default || mod;
}

/**
 * Opens a WebSocket to `url`.
 * @param {string} url
 * @param {any} WebSocketClass
 */
export function openWebSocket(url, WebSocketClass) {
  const t = { onopen: null, onmessage: null, onclose: null };
  let closed = false;
  const finish = (info) => {
    if (closed) return;
    closed = true;
    if (t.onclose) t.onclose(info);
  };
  let ws;
  try {
    ws = new WebSocketClass(url);
  } catch (e) {
    queueMicrotask(() => finish({ code: 1006, reason: e.message }));
    t.send = () => {};
    t.close = () => {};
    return t;
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { if (t.onopen) t.onopen(); };
  ws.onmessage = (ev) => { if (t.onmessage) t.onmessage(ev.data); };
  ws.onerror = () => {};   // onclose follows
  ws.onclose = (ev) => finish({ code: ev.code, reason: ev.reason || '' });
  t.send = (data) => ws.send(data);
  t.close = (code = 1000, reason = '') => {
    try { ws.close(code, reason); } catch (_) { try { ws.close(); } catch (__) { /* gone */ } }
  };
  return t;
}

/**
 * Opens a length-prefixed TCP connection (Node only): `tcp://host:port`.
 * @param {string} url
 */
export async function openTcp(url) {
  const net = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:net');
  const u = new URL(url);
  const t = { onopen: null, onmessage: null, onclose: null };
  let closed = false;
  let buf = new Uint8Array(0);
  const sock = net.connect(Number(u.port || 7070), u.hostname || '127.0.0.1');
  const finish = (info) => {
    if (closed) return;
    closed = true;
    if (t.onclose) t.onclose(info);
  };
  sock.on('connect', () => { if (t.onopen) t.onopen(); });
  sock.on('error', () => {});   // 'close' follows
  sock.on('close', (hadError) => finish({ code: hadError ? 1006 : 1000, reason: hadError ? 'socket error' : 'closed' }));
  sock.on('data', (d) => {
    const joined = new Uint8Array(buf.length + d.length);
    joined.set(buf, 0);
    joined.set(d, buf.length);
    buf = joined;
    while (buf.length >= 4) {
      const n = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, false);
      if (n > FRAME_MAX_BYTES) { sock.destroy(); return; }
      if (buf.length < 4 + n) break;
      const frame = buf.slice(4, 4 + n);
      buf = buf.slice(4 + n);
      if (t.onmessage) t.onmessage(frame);
    }
  });
  t.send = (data) => {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, data.length, false);
    sock.write(head);
    sock.write(data);
  };
  t.close = () => sock.destroy();
  return t;
}
