/**
 * The dedup stage's memory of recently forwarded certificates, for one partition of `certs`.
 *
 * Keys are the 32-byte leaf SHA-256 as a latin1 string (one char per byte: the cheapest Map key). A Map gives
 * key → expiry; a queue of time buckets (each the keys inserted during 1/64 of the TTL, in insertion order) gives
 * expiry without scanning: whole buckets are dropped from the old end once their last key is past its window,
 * so the cost is O(1) amortized per insertion. (Walking the Map itself from its oldest entry would not be: V8
 * leaves deleted entries as holes at the front of a Map until it rehashes, and every walk would step over them.)
 * `has` checks the stored expiry, so a key is never reported live past its deadline even while its bucket waits.
 * The capacity bound evicts the oldest insertion first, so memory is bounded whatever the rate.
 */
interface Bucket {
  start: number;
  keys: string[];
  expiries: number[];
  /** Keys before this position were already evicted by the capacity bound. */
  pos: number;
  /** Latest expiry in the bucket: the bucket goes once this has passed. */
  maxExpiry: number;
}

export class SeenSet {
  readonly ttlMs: number;
  readonly capacity: number;
  private readonly bucketMs: number;
  /** key → expiry (ms since the epoch, record time). */
  private readonly expiries = new Map<string, number>();
  private buckets: Bucket[] = [];
  private head = 0;
  /** Keys evicted because of the capacity bound, not the window (a sign the capacity is too small). */
  evicted = 0;

  constructor(ttlMs: number, capacity: number) {
    if (!(ttlMs > 0) || !(capacity > 0)) throw new RangeError("SeenSet: ttlMs and capacity must be > 0");
    this.ttlMs = ttlMs;
    this.capacity = capacity;
    this.bucketMs = Math.max(1, Math.floor(ttlMs / 64));
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
    if (existing !== undefined && existing > at) return;
    const expiry = at + this.ttlMs;
    this.expiries.set(key, expiry);
    let last = this.buckets.length > this.head ? this.buckets[this.buckets.length - 1] : undefined;
    // A key older than the newest bucket (slightly out of order) joins it: it is then dropped a little late,
    // never early, and `has` still honours its own expiry.
    if (!last || at >= last.start + this.bucketMs) {
      last = { start: at, keys: [], expiries: [], pos: 0, maxExpiry: expiry };
      this.buckets.push(last);
    }
    last.keys.push(key);
    last.expiries.push(expiry);
    if (expiry > last.maxExpiry) last.maxExpiry = expiry;
    while (this.expiries.size > this.capacity) this.evictOldest();
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

  /** Drops every bucket whose keys' windows have all ended at `now`. */
  expire(now: number): void {
    while (this.head < this.buckets.length) {
      const b = this.buckets[this.head];
      if (b.maxExpiry > now) break;
      for (let i = b.pos; i < b.keys.length; i++) this.dropIfSame(b.keys[i], b.expiries[i]);
      this.buckets[this.head] = undefined as unknown as Bucket; // let the arrays go
      this.head++;
    }
    this.compact();
  }

  clear(): void {
    this.expiries.clear();
    this.buckets = [];
    this.head = 0;
  }

  private evictOldest(): void {
    while (this.head < this.buckets.length) {
      const b = this.buckets[this.head];
      if (b.pos < b.keys.length) {
        const i = b.pos++;
        if (this.dropIfSame(b.keys[i], b.expiries[i])) {
          this.evicted++;
          return;
        }
        continue;
      }
      this.buckets[this.head] = undefined as unknown as Bucket;
      this.head++;
    }
    this.compact();
  }

  /** Deletes `key` only if the map still holds this insertion (not a later re-insertion of the same key). */
  private dropIfSame(key: string, expiry: number): boolean {
    if (this.expiries.get(key) !== expiry) return false;
    this.expiries.delete(key);
    return true;
  }

  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.buckets.length) {
      this.buckets = this.buckets.slice(this.head);
      this.head = 0;
    }
  }
}
