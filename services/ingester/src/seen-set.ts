/**
 * The dedup stage's memory of recently forwarded certificates, for one partition of `certs`.
 *
 * Keys are the 32-byte leaf SHA-256 (as a latin1 string: one char per byte, the cheapest Map key).
 * The Map's insertion order is (nearly) time order, because keys are inserted with nondecreasing record
 * timestamps within a partition. So expiry walks from the oldest end and stops at the first live key: amortized
 * O(1) per insertion, no timer, no scan. A key inserted slightly out of order simply waits behind an older one;
 * `has` checks the expiry itself, so it is never reported live past its deadline. The capacity bound evicts
 * the oldest insertion first, so memory is bounded whatever the rate.
 */
export class SeenSet {
  readonly ttlMs: number;
  readonly capacity: number;
  /** key → expiry (ms since the epoch, record time). */
  private readonly expiries = new Map<string, number>();
  /** Keys evicted because of the capacity bound, not the window (a sign the capacity is too small). */
  evicted = 0;

  constructor(ttlMs: number, capacity: number) {
    if (!(ttlMs > 0) || !(capacity > 0)) throw new RangeError("SeenSet: ttlMs and capacity must be > 0");
    this.ttlMs = ttlMs;
    this.capacity = capacity;
  }

  get size(): number {
    return this.expiries.size;
  }

  /** True when `key` was recorded within the window ending at `now`. */
  has(key: string, now: number): boolean {
    this.expire(now);
    const expiry = this.expiries.get(key);
    return expiry !== undefined && expiry > now;
  }

  /** Records `key` as seen at `at` (record time, ms). Re-adding a live key keeps its first sighting. */
  add(key: string, at: number): void {
    const existing = this.expiries.get(key);
    if (existing !== undefined) {
      if (existing > at) return;
      // Expired but not yet walked past: re-insert at the young end so the order stays time-like.
      this.expiries.delete(key);
    }
    this.expiries.set(key, at + this.ttlMs);
    while (this.expiries.size > this.capacity) {
      const oldest = this.expiries.keys().next().value as string;
      this.expiries.delete(oldest);
      this.evicted++;
    }
  }

  /**
   * Checks and records in one step: returns true on the first sighting of `key` in the window (the caller
   * forwards it), false for a repeat.
   */
  firstSighting(key: string, at: number): boolean {
    if (this.has(key, at)) return false;
    this.add(key, at);
    return true;
  }

  /** Drops every key whose window ended at or before `now`. */
  expire(now: number): void {
    for (const [key, expiry] of this.expiries) {
      if (expiry > now) break;
      this.expiries.delete(key);
    }
  }

  clear(): void {
    this.expiries.clear();
  }
}
