/// Encodings. JSON is a text frame per message (PROTOCOL.md); protobuf is one
/// `courier.v1.Envelope` per binary WebSocket frame or length-prefixed TCP
/// frame, with the oneof member named like the JSON `type`. protobufjs is
/// loaded only when protobuf is chosen, so JSON users pay nothing for it.

import { loadModule } from './load.js';

/** JSON text frames: `{type, ref?, ...fields}`. */
export const jsonCodec = Object.freeze({
  name: 'json',
  binary: false,
  /** @param {object} m */
  encode(m) { return JSON.stringify(m); },
  /** @param {string | ArrayBuffer | Uint8Array} data */
  decode(data) {
    if (typeof data !== 'string') return undefined;   // a binary frame on a JSON session
    try {
      const m = JSON.parse(data);
      return m && typeof m === 'object' && typeof m.type === 'string' ? m : undefined;
    } catch (_) {
      return undefined;
    }
  },
});

/** Where the package's copy of messages/proto/courier.proto lives. */
const PROTO_URL = new URL('../proto/courier.proto', import.meta.url);

async function readProtoText() {
  if (PROTO_URL.protocol === 'file:') {
    const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    return fs.readFile(PROTO_URL, 'utf8');
  }
  const r = await fetch(PROTO_URL);
  if (!r.ok) throw new Error(`fetch ${PROTO_URL}: HTTP ${r.status}`);
  return r.text();
}

/**
 * A protobuf codec over `courier.v1.Envelope`.
 * @param {{protobuf?: any, proto?: string}} [opts] `protobuf`: the protobufjs
 *   module (default: imported on demand); `proto`: the schema text (default:
 *   the package's proto/courier.proto).
 */
export async function protobufCodec({ protobuf, proto } = {}) {
  const pb = protobuf || await loadModule('protobufjs');
  const lib = pb.default && pb.default.parse ? pb.default : pb;
  const text = proto || await readProtoText();
  // keepCase: the proto's snake_case names are the JSON field names.
  const root = lib.parse(text, { keepCase: true }).root;
  const Envelope = root.lookupType('courier.v1.Envelope');
  const members = new Set(Envelope.oneofs.body.fieldsArray.map((f) => f.name));
  return Object.freeze({
    name: 'protobuf',
    binary: true,
    /** {type, ref, ...fields} -> Envelope bytes. */
    encode(m) {
      const { type, ref, ...body } = m;
      if (!members.has(type)) throw new TypeError(`no protobuf message for type '${type}'`);
      const env = { [type]: body };
      if (ref !== undefined) env.ref = String(ref);
      return Envelope.encode(Envelope.fromObject(env)).finish();
    },
    /** Envelope bytes -> {type, ref?, ...fields} (the JSON shape). */
    decode(data) {
      if (typeof data === 'string') return undefined;
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      let env;
      try { env = Envelope.decode(bytes); } catch (_) { return undefined; }
      const type = env.body;
      if (!type) return undefined;
      const obj = Envelope.toObject(env, { longs: Number, defaults: true });
      const m = { type, ...obj[type] };
      if (obj.ref) m.ref = obj.ref;
      return m;
    },
  });
}
