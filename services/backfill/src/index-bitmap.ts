import type { IndexRange } from "./index-ranges.ts";

/** 2^16 indices per chunk: 8 KiB of bits. A dense log of 100 M entries takes ~12 MiB. */
const CHUNK_SHIFT = 16;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const WORDS = CHUNK_SIZE >>> 5;
const FULL = 0xffffffff;

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits lo..hi-1 (0 <= lo < hi <= 32) of a word. */
function maskOf(lo: number, hi: number): number {
  const upper = hi === 32 ? FULL : ((1 << hi) - 1) >>> 0;
  return (upper & ~(((1 << lo) - 1) >>> 0)) >>> 0;
}

/**
 * The set of indices archived for one log. A sparse bitmap (chunks allocated on first use) rather than a sorted
 * array: adding is O(1) whatever order rows arrive in (the sink interleaves logs and partitions, so a file holds
 * every sixth index of a log, not runs), a second sighting of an index is detected for free, and the holes fall
 * out of a word scan. Memory follows the indices actually present.
 */
export class IndexBitmap {
  private readonly chunks = new Map<number, Uint32Array>();
  private lastKey = -1;
  private lastChunk: Uint32Array | null = null;
  /** Distinct indices present. */
  count = 0;
  /** Indices seen more than once (each extra sighting counts one). */
  duplicates = 0;
  /** Lowest and highest index present; min > max when empty. */
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  private chunk(key: number, create: true): Uint32Array;
  private chunk(key: number, create: false): Uint32Array | undefined;
  private chunk(key: number, create: boolean): Uint32Array | undefined {
    if (key === this.lastKey && this.lastChunk) return this.lastChunk;
    let c = this.chunks.get(key);
    if (!c) {
      if (!create) return undefined;
      c = new Uint32Array(WORDS);
      this.chunks.set(key, c);
    }
    this.lastKey = key;
    this.lastChunk = c;
    return c;
  }

  /** Adds one index; returns false (and counts a duplicate) when it was already present. */
  add(index: number): boolean {
    const key = Math.floor(index / CHUNK_SIZE);
    const off = index - key * CHUNK_SIZE;
    const c = this.chunk(key, true);
    const w = off >>> 5;
    const bit = 1 << (off & 31);
    if (c[w] & bit) {
      this.duplicates++;
      return false;
    }
    c[w] |= bit;
    this.count++;
    if (index < this.min) this.min = index;
    if (index > this.max) this.max = index;
    return true;
  }

  has(index: number): boolean {
    const key = Math.floor(index / CHUNK_SIZE);
    const c = this.chunk(key, false);
    if (!c) return false;
    const off = index - key * CHUNK_SIZE;
    return (c[off >>> 5] & (1 << (off & 31))) !== 0;
  }

  /** Adds `[start, end)`; indices already present count as duplicates. Returns how many were new. */
  addRange(start: number, end: number): number {
    if (end <= start) return 0;
    let added = 0;
    let i = start;
    while (i < end) {
      const key = Math.floor(i / CHUNK_SIZE);
      const base = key * CHUNK_SIZE;
      const stop = Math.min(end, base + CHUNK_SIZE);
      const c = this.chunk(key, true);
      let off = i - base;
      const offEnd = stop - base;
      while (off < offEnd) {
        const w = off >>> 5;
        const lo = off & 31;
        const hi = Math.min(32, offEnd - (w << 5));
        const m = maskOf(lo, hi);
        const fresh = popcount32((~c[w] & m) >>> 0);
        added += fresh;
        this.duplicates += popcount32(m) - fresh;
        c[w] = (c[w] | m) >>> 0;
        off = (w << 5) + hi;
      }
      i = stop;
    }
    this.count += added;
    if (start < this.min) this.min = start;
    if (end - 1 > this.max) this.max = end - 1;
    return added;
  }

  /** True when every index of `[start, end)` is present. */
  covers(start: number, end: number): boolean {
    return this.missing(start, end, 1).length === 0;
  }

  /**
   * The holes inside `[start, end)`, as normalized ranges. Stops after `limit` ranges (for cheap "is anything
   * missing" questions). Absent chunks are skipped in one step, so a sparse log over a huge span stays cheap.
   */
  missing(start: number, end: number, limit = Number.POSITIVE_INFINITY): IndexRange[] {
    const out: IndexRange[] = [];
    if (end <= start) return out;
    const push = (s: number, e: number): void => {
      const last = out[out.length - 1];
      if (last && last.end === s) last.end = e;
      else out.push({ start: s, end: e });
    };
    const firstKey = Math.floor(start / CHUNK_SIZE);
    const lastKey = Math.floor((end - 1) / CHUNK_SIZE);
    const keys = [...this.chunks.keys()].filter((k) => k >= firstKey && k <= lastKey).sort((a, b) => a - b);
    let pos = start;
    for (const key of keys) {
      const base = key * CHUNK_SIZE;
      if (base > pos) {
        push(pos, base);
        if (out.length > limit) break;
        pos = base;
      }
      const c = this.chunks.get(key)!;
      const stop = Math.min(end, base + CHUNK_SIZE);
      let off = pos - base;
      const offEnd = stop - base;
      while (off < offEnd) {
        const w = off >>> 5;
        const lo = off & 31;
        const hi = Math.min(32, offEnd - (w << 5));
        const m = maskOf(lo, hi);
        const word = (c[w] & m) >>> 0;
        if (word === m) {
          off = (w << 5) + hi;
          continue;
        }
        if (word === 0) {
          push(base + (w << 5) + lo, base + (w << 5) + hi);
          off = (w << 5) + hi;
          continue;
        }
        for (let b = lo; b < hi; b++) {
          if ((word & (1 << b)) === 0) {
            const idx = base + (w << 5) + b;
            push(idx, idx + 1);
          }
        }
        off = (w << 5) + hi;
      }
      pos = stop;
      if (out.length >= limit) break;
    }
    if (pos < end && out.length < limit) push(pos, end);
    return out.length > limit ? out.slice(0, limit) : out;
  }
}
