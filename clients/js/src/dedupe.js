/// Dedupe of re-sent pushes (docs/protocol-additions.md, "Re-sent pushes"):
/// snapshots after a (re)connect and recoveries may repeat a push the client
/// already has. The key of each push kind is the one the server promises.

/** Entries a Deduper remembers before it forgets the oldest. */
export const DEDUPE_MAX = 4096;

/**
 * The identity of a push that may be re-sent, or undefined for pushes that
 * are never repeated as such (rider_position, region_stats, ack, ...).
 * @param {{type: string}} m
 * @returns {string | undefined}
 */
export function dedupeKey(m) {
  switch (m.type) {
    case 'new_order': return `new_order|${m.order_id}`;
    case 'order_status': return `order_status|${m.order_id}|${m.version}`;
    case 'rider_arriving': return `rider_arriving|${m.order_id}`;
    case 'assignment': return `assignment|${m.order_id}`;
    case 'offer': return `offer|${m.offer_id}`;
    default: return undefined;
  }
}

/** Remembers the keys of pushes seen (bounded, oldest forgotten first). */
export class Deduper {
  /** @param {number} [max] */
  constructor(max = DEDUPE_MAX) {
    this.max = max;
    /** @type {Set<string>} insertion-ordered, so the first is the oldest */
    this.keys = new Set();
  }

  /** True if `m` repeats a push already seen; records it otherwise. */
  seen(m) {
    const k = dedupeKey(m);
    if (k === undefined) return false;
    if (this.keys.has(k)) return true;
    this.keys.add(k);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value);
    return false;
  }

  /** Forgets everything. */
  clear() { this.keys.clear(); }
}
