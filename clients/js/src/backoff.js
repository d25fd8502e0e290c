/// Reconnect delays: exponential backoff with full jitter (AWS architecture
/// blog, "Exponential Backoff And Jitter"): a uniform draw in
/// [0, min(maxMs, minMs * 2^attempt)). Full jitter spreads a fleet of clients
/// that lost the same node, so they do not come back in one wave.

/** Defaults, in milliseconds. */
export const BACKOFF_MIN_MS = 250;
export const BACKOFF_MAX_MS = 15000;

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry).
 * @param {number} attempt
 * @param {{minMs?: number, maxMs?: number, random?: () => number}} [opts]
 */
export function backoffDelay(attempt, { minMs = BACKOFF_MIN_MS, maxMs = BACKOFF_MAX_MS, random = Math.random } = {}) {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
