/// A small event emitter that works the same in browsers and Node (no
/// EventTarget subclassing, no node:events). Listener errors are reported
/// through `queueMicrotask` rethrow so one bad listener cannot stop the rest.

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * Calls `fn(payload)` on every `type` event; returns a function that removes it.
   * @param {string} type
   * @param {(payload: any) => void} fn
   */
  on(type, fn) {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(fn);
    return () => this.off(type, fn);
  }

  /** Removes a listener added with on(). */
  off(type, fn) {
    const set = this._listeners.get(type);
    if (set) set.delete(fn);
  }

  /** Like on(), for the next `type` event only. */
  once(type, fn) {
    const off = this.on(type, (p) => { off(); fn(p); });
    return off;
  }

  /** Calls the listeners of `type`; returns how many there were. */
  emit(type, payload) {
    const set = this._listeners.get(type);
    if (!set || set.size === 0) return 0;
    for (const fn of [...set]) {
      try {
        fn(payload);
      } catch (e) {
        queueMicrotask(() => { throw e; });
      }
    }
    return set.size;
  }
}
