/// The Courier client: one connection (WebSocket JSON, WebSocket protobuf or
/// TCP protobuf) that says hello, matches replies to requests by `ref`,
/// reconnects with backoff and jitter, and after a reconnect says hello again
/// and re-subscribes, so the snapshots arrive as the same events as pushes.

import { Emitter } from './emitter.js';
import { CourierError } from './errors.js';
import { backoffDelay, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from './backoff.js';
import { Deduper, DEDUPE_MAX } from './dedupe.js';
import { jsonCodec, protobufCodec } from './codec.js';
import { resolveWebSocket, openWebSocket, openTcp } from './transport.js';

/** Requests awaiting a reply (queued or sent); one more is `too_many_pending`. */
export const PENDING_MAX = 1024;
/** Frames held while disconnected; one more is `queue_full`. */
export const SEND_QUEUE_MAX = 256;
/** A request with no reply after this long is rejected with `timeout`. */
export const REQUEST_TIMEOUT_MS = 10000;
/** A connection with no `welcome` this long after opening is dropped and retried. */
export const HELLO_TIMEOUT_MS = 10000;

/** Requests that open a subscription, and the topic each names. */
const SUBSCRIBES = {
  subscribe: (m) => `order:${m.order_id}`,
  subscribe_region: (m) => `region:${m.cell}`,
};

const defaultTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
};

function defaultUrl() {
  const loc = globalThis.location;
  if (loc && loc.host) return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/v1/ws`;
  return 'ws://127.0.0.1:8080/v1/ws';
}

/**
 * A connection to a Courier node. Events (client.on(type, fn)):
 * every push by its `type` (`order_status`, `new_order`, `offer`, ...) and as
 * `push`; `subscribed` (each subscription's snapshot, also after a reconnect);
 * `message` (every message received, before matching or dedupe); `reply`
 * (a reply whose request is no longer waiting); `duplicate` (a re-sent push
 * that dedupe dropped); `error` (a CourierError no request is waiting for,
 * e.g. token expiry); `open` ({welcome, reconnected}); `close` ({code, reason,
 * willReconnect}); `reconnecting` ({attempt, delayMs}).
 */
export class Client extends Emitter {
  /** Creates a client and resolves once it is welcomed (see connect()). */
  static async connect(opts) {
    const c = new Client(opts);
    await c.connect();
    return c;
  }

  /** @param {import('../index').ClientOptions} opts */
  constructor(opts = {}) {
    super();
    this.url = opts.url || defaultUrl();
    this.isTcp = this.url.startsWith('tcp:');
    this.encoding = this.isTcp ? 'protobuf' : (opts.encoding || 'json');
    if (!['json', 'protobuf'].includes(this.encoding)) throw new TypeError(`unknown encoding '${this.encoding}'`);
    this.token = opts.token;
    this.opts = opts;
    this.reconnect = opts.reconnect !== false;
    this.backoff = { minMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS, ...(opts.backoff || {}), random: opts.random || Math.random };
    this.timers = opts.timers || defaultTimers;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    this.pendingMax = opts.pendingMax ?? PENDING_MAX;
    this.sendQueueMax = opts.sendQueueMax ?? SEND_QUEUE_MAX;
    this.deduper = opts.dedupe === false ? null : new Deduper(opts.dedupeMax ?? DEDUPE_MAX);
    this.refPrefix = opts.refPrefix || 'c';
    /** 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' */
    this.state = 'idle';
    /** The last `welcome`. */
    this.welcome = null;
    /** Reconnects so far (successful ones). */
    this.reconnects = 0;
    this._refs = 0;
    this._pending = new Map();   // ref -> {resolve, reject, timer, sent, msg, onReply}
    this._queue = [];            // frames to send once welcomed: {msg, ref?}
    this._topics = new Map();    // topic -> subscribe message (no ref)
    this._attempt = 0;
    this._transport = null;
    this._retryTimer = null;
    this._codec = null;
    this._connectWaiters = [];
  }

  /** Topics re-subscribed after a reconnect: `order:<id>`, `region:<cell>`. */
  subscriptions() { return [...this._topics.keys()]; }

  /** Requests awaiting a reply, frames queued while disconnected. */
  get pendingCount() { return this._pending.size; }
  get queuedCount() { return this._queue.length; }

  /**
   * Opens the connection and says hello; resolves with `welcome`. With
   * reconnect on, failed attempts are retried (backoff) until welcomed; it
   * rejects on `unauthorized` with a fixed token, on close(), or (reconnect
   * off) when the first attempt fails.
   */
  connect() {
    if (this.state === 'open') return Promise.resolve(this.welcome);
    if (this.state === 'closed') return Promise.reject(new CourierError('closed', 'client closed', { local: true }));
    const p = new Promise((resolve, reject) => this._connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle') this._open();
    return p;
  }

  /**
   * Sends `msg` with a ref and resolves with the reply that echoes it, or
   * rejects with a CourierError (server error or local: timeout,
   * disconnected, closed, queue_full, too_many_pending). While disconnected
   * the request waits in the send queue. `msg.ref` may be given (unique).
   * @param {{type: string}} msg
   * @param {{timeoutMs?: number}} [opts]
   */
  request(msg, { timeoutMs } = {}) {
    if (this.state === 'closed') return Promise.reject(new CourierError('closed', 'client closed', { local: true }));
    const ref = msg.ref !== undefined ? String(msg.ref) : `${this.refPrefix}${++this._refs}`;
    if (this._pending.has(ref)) {
      return Promise.reject(new CourierError('duplicate_ref', `ref ${ref} already awaits a reply`, { ref, local: true }));
    }
    if (this._pending.size >= this.pendingMax) {
      return Promise.reject(new CourierError('too_many_pending', `${this.pendingMax} requests already await replies (pendingMax)`, { ref, local: true }));
    }
    if (this.state !== 'open' && this._queue.length >= this.sendQueueMax) {
      return Promise.reject(new CourierError('queue_full', `${this.sendQueueMax} frames already wait for a connection (sendQueueMax)`, { ref, local: true }));
    }
    const out = { ...msg, ref };
    const topic = SUBSCRIBES[msg.type] && SUBSCRIBES[msg.type](msg);
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, sent: false, msg: out, onReply: null };
      if (topic) entry.onReply = (m) => this._onSubscribeReply(topic, out, m);
      if (msg.type === 'unsubscribe') entry.onReply = (m) => { if (m.type !== 'error') this._topics.delete(`order:${msg.order_id}`); };
      const ms = timeoutMs ?? this.requestTimeoutMs;
      entry.timer = this.timers.setTimeout(() => this._expire(ref, ms), ms);
      this._pending.set(ref, entry);
      if (this.state === 'open') this._write(out, entry);
      else this._queue.push({ msg: out, ref });
    });
  }

  /**
   * Sends `msg` without waiting for a reply (positions, ...). While
   * disconnected it is queued; a queued `position` replaces the one queued
   * before it (only the latest matters). Returns false if the queue is full,
   * the client is closed, or the message cannot be encoded.
   */
  send(msg) {
    if (this.state === 'closed') return false;
    if (this.state === 'open') return this._write(msg, null);
    if (msg.type === 'position') this._queue = this._queue.filter((q) => q.msg.type !== 'position');
    if (this._queue.length >= this.sendQueueMax) return false;
    this._queue.push({ msg });
    return true;
  }

  /**
   * `refresh{token}`: moves the session's expiry to the new token's; later
   * hellos use it (unless the token option is a function).
   * @param {string} token
   */
  async refresh(token) {
    const r = await this.request({ type: 'refresh', token });
    if (typeof this.token !== 'function') this.token = token;
    return r;
  }

  /** Closes for good: no reconnect; waiting requests reject with `closed`. */
  close() {
    if (this.state === 'closed') return;
    const wasConnected = this._transport !== null;
    this.state = 'closed';
    if (this._retryTimer !== null) this.timers.clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._failAll(new CourierError('closed', 'client closed', { local: true }), true);
    this._settleConnect(new CourierError('closed', 'client closed before it was welcomed', { local: true }));
    if (wasConnected) this._transport.close(1000, 'client closed');
    else this.emit('close', { code: 1000, reason: 'client closed', willReconnect: false });
  }

  // ---- connection --------------------------------------------------------

  async _open() {
    this.state = this.reconnects > 0 || this._attempt > 0 ? 'reconnecting' : 'connecting';
    let t;
    try {
      if (!this._codec) {
        this._codec = this.encoding === 'json' ? jsonCodec
          : await protobufCodec({ protobuf: this.opts.protobuf, proto: this.opts.proto });
      }
      if (this.isTcp) t = await openTcp(this.url);
      else t = openWebSocket(this.url, await resolveWebSocket(this.opts.WebSocket));
    } catch (e) {
      // A missing package or schema will not fix itself: fail for good.
      this._settleConnect(new CourierError('transport', e.message, { local: true }));
      this.state = 'closed';
      this._failAll(new CourierError('closed', e.message, { local: true }), true);
      this.emit('close', { code: 1006, reason: e.message, willReconnect: false });
      return;
    }
    if (this.state === 'closed') { t.close(); return; }
    this._transport = t;
    let helloTimer = null;
    let fatal = null;
    t.onopen = () => {
      helloTimer = this.timers.setTimeout(() => t.close(4000, 'no welcome'), this.helloTimeoutMs);
      this._hello(t, (w) => {
        this.timers.clearTimeout(helloTimer);
        this._onWelcome(w);
      }).catch((err) => {
        this.timers.clearTimeout(helloTimer);
        if (err.code === 'unauthorized' && typeof this.token !== 'function') fatal = err;
        this._settleConnect(fatal || (this.reconnect ? null : err));
        t.close(4001, err.message);
      });
    };
    t.onmessage = (data) => this._onData(data);
    t.onclose = (info) => {
      if (helloTimer !== null) this.timers.clearTimeout(helloTimer);
      this._onClose(t, info, fatal);
    };
  }

  /// Sends hello; `onWelcome` runs as the welcome is received (before the
  /// frames after it, such as a store's snapshot); rejects on an error reply.
  async _hello(t, onWelcome) {
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    if (this._transport !== t) return;   // closed while the token was fetched
    const ref = `${this.refPrefix}hello${++this._refs}`;
    await new Promise((resolve, reject) => {
      const onReply = (m) => { if (m.type === 'welcome') onWelcome(m); };
      this._pending.set(ref, { resolve, reject, sent: true, timer: null, msg: { type: 'hello' }, onReply });
      this._writeRaw(t, { type: 'hello', token: token || '', ref });
    });
  }

  _onWelcome(w) {
    const reconnected = this.welcome !== null;
    this.welcome = w;
    this.state = 'open';
    this._attempt = 0;
    if (reconnected) this.reconnects += 1;
    this._settleConnect(null, w);
    this.emit('open', { welcome: w, reconnected });
    if (reconnected) this._resubscribe();
    const queued = this._queue;
    this._queue = [];
    for (const q of queued) {
      const entry = q.ref !== undefined ? this._pending.get(q.ref) : null;
      if (q.ref !== undefined && !entry) continue;   // timed out while queued
      this._write(q.msg, entry);
    }
  }

  /// Subscriptions opened on the previous connection, asked again; their
  /// replies (`subscribed` with the snapshot) are emitted as events.
  _resubscribe() {
    for (const [topic, msg] of this._topics) {
      this.request(msg).catch((err) => {
        if (!err.local) this._topics.delete(topic);
        this.emit('error', err);
      });
    }
  }

  _onSubscribeReply(topic, msg, m) {
    if (m.type === 'error') return;
    const { ref, ...plain } = msg;
    this._topics.set(topic, plain);
  }

  _onClose(t, info, fatal) {
    if (this._transport !== t) return;
    this._transport = null;
    // Sent requests lose their replies with the connection; queued ones wait.
    for (const [ref, e] of this._pending) {
      if (!e.sent) continue;
      this._pending.delete(ref);
      if (e.timer !== null) this.timers.clearTimeout(e.timer);
      e.reject(new CourierError('disconnected', `connection closed before the reply (${info.code} ${info.reason})`, { ref, local: true }));
    }
    const willReconnect = this.state !== 'closed' && this.reconnect && !fatal;
    if (!willReconnect && this.state !== 'closed') {
      this.state = 'closed';
      this._failAll(new CourierError('closed', `connection closed (${info.code} ${info.reason})`, { local: true }), true);
      this._settleConnect(fatal || new CourierError('transport', `connection closed (${info.code} ${info.reason})`, { local: true }));
    }
    this.emit('close', { ...info, willReconnect });
    if (willReconnect) {
      const delayMs = backoffDelay(this._attempt, this.backoff);
      this._attempt += 1;
      this.state = 'reconnecting';
      this.emit('reconnecting', { attempt: this._attempt, delayMs });
      this._retryTimer = this.timers.setTimeout(() => {
        this._retryTimer = null;
        if (this.state !== 'closed') this._open();
      }, delayMs);
    }
  }

  _settleConnect(err, welcome) {
    if (!err && !welcome) return;
    const waiters = this._connectWaiters;
    this._connectWaiters = [];
    for (const w of waiters) {
      if (err) w.reject(err); else w.resolve(welcome);
    }
  }

  _failAll(err, includeQueued) {
    for (const [ref, e] of this._pending) {
      if (!includeQueued && !e.sent) continue;
      this._pending.delete(ref);
      if (e.timer !== null) this.timers.clearTimeout(e.timer);
      e.reject(new CourierError(err.code, err.message, { ref, local: true }));
    }
    if (includeQueued) this._queue = [];
  }

  _expire(ref, ms) {
    const e = this._pending.get(ref);
    if (!e) return;
    this._pending.delete(ref);
    this._queue = this._queue.filter((q) => q.ref !== ref);
    e.reject(new CourierError('timeout', `no reply to ${e.msg.type} (ref ${ref}) within ${ms} ms`, { ref, local: true }));
  }

  // ---- frames ------------------------------------------------------------

  /// Writes `msg` (a request's, with its pending `entry`, or a send()'s);
  /// false if it cannot be encoded (the request then fails `bad_request`).
  _write(msg, entry) {
    const err = this._writeRaw(this._transport, msg);
    if (!err) {
      if (entry) entry.sent = true;
      return true;
    }
    if (entry && this._pending.get(msg.ref) === entry) {
      this._pending.delete(msg.ref);
      this.timers.clearTimeout(entry.timer);
      entry.reject(new CourierError('bad_request', `cannot encode ${msg.type}: ${err.message}`, { ref: msg.ref, local: true }));
    }
    return false;
  }

  /// Returns the encoding error, if any. A frame the socket refuses (a
  /// browser's InvalidStateError) drops the connection: waiting requests
  /// then fail `disconnected` and the client reconnects, rather than waiting
  /// for replies that cannot come.
  _writeRaw(t, msg) {
    let data;
    try {
      data = this._codec.encode(msg);
    } catch (e) {
      return e;
    }
    try {
      t.send(data);
    } catch (e) {
      t.close(4002, 'send failed');
    }
    return null;
  }

  _onData(data) {
    const m = this._codec.decode(data);
    if (!m) return;
    this.emit('message', m);
    const e = m.ref !== undefined ? this._pending.get(m.ref) : undefined;
    if (e) {
      this._pending.delete(m.ref);
      if (e.timer !== null) this.timers.clearTimeout(e.timer);
      if (e.onReply) e.onReply(m);
      if (m.type === 'subscribed') this.emit('subscribed', m);
      if (m.type === 'error') e.reject(CourierError.fromReply(m));
      else e.resolve(m);
      return;
    }
    if (m.type === 'error') {
      this.emit('error', CourierError.fromReply(m));
      return;
    }
    if (m.ref !== undefined) {
      this.emit('reply', m);
      return;
    }
    if (this.deduper && this.deduper.seen(m)) {
      this.emit('duplicate', m);
      return;
    }
    this.emit(m.type, m);
    this.emit('push', m);
  }
}
