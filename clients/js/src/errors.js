/// Typed errors: every rejected request is a CourierError with a `code`.
/// Server codes are PROTOCOL.md's; local codes are the client's own.

/** PROTOCOL.md's error codes (from the server's `error{code}`). */
export const SERVER_CODES = Object.freeze([
  'bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'out_of_area',
  'rate_limited', 'overloaded', 'unavailable', 'internal',
]);

/** Codes the client raises itself (no server reply involved). */
export const LOCAL_CODES = Object.freeze([
  'timeout',          // no reply within the request's timeout
  'disconnected',     // the connection dropped after the request was sent
  'closed',           // the client was closed (or will not reconnect)
  'queue_full',       // the send queue (while disconnected) is at sendQueueMax
  'too_many_pending', // pendingMax requests already await replies
  'duplicate_ref',    // a caller-chosen ref already awaits a reply
  'transport',        // the socket could not be opened or failed
]);

/** An error reply from the node, or a local failure (`local: true`). */
export class CourierError extends Error {
  /**
   * @param {string} code one of SERVER_CODES or LOCAL_CODES
   * @param {string} message human readable
   * @param {{ref?: string, reply?: object, local?: boolean}} [more]
   */
  constructor(code, message, { ref, reply, local = false } = {}) {
    super(message || code);
    this.name = 'CourierError';
    this.code = code;
    this.ref = ref;
    /** The server's `error` message as received (undefined for local errors). */
    this.reply = reply;
    this.local = local;
  }

  /** The error a server `error{code, message, ref}` message stands for. */
  static fromReply(m) {
    return new CourierError(m.code || 'internal', m.message || m.code || 'error', { ref: m.ref, reply: m });
  }
}
