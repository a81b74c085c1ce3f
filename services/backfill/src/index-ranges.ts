/**
 * Sets of log indices as sorted, disjoint, half-open ranges `[start, end)`. Indices are JS numbers: CT logs are
 * far below 2^53 entries, and numbers keep the arithmetic and the typed arrays fast.
 */

export interface IndexRange {
  /** First index in the range. */
  start: number;
  /** One past the last index. */
  end: number;
}

/** Total number of indices in `ranges` (which must be disjoint). */
export function countRanges(ranges: readonly IndexRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/** Sorts, drops empty ranges and merges overlapping or touching ones. Does not modify its input. */
export function normalizeRanges(ranges: readonly IndexRange[]): IndexRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: IndexRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** Union of two normalized range lists. */
export function unionRanges(a: readonly IndexRange[], b: readonly IndexRange[]): IndexRange[] {
  return normalizeRanges([...a, ...b]);
}

/** `a` minus `b`; both normalized. Linear in the total number of ranges. */
export function subtractRanges(a: readonly IndexRange[], b: readonly IndexRange[]): IndexRange[] {
  const out: IndexRange[] = [];
  let j = 0;
  for (const r of a) {
    let start = r.start;
    while (j < b.length && b[j].end <= start) j++;
    let k = j;
    while (k < b.length && b[k].start < r.end) {
      if (b[k].start > start) out.push({ start, end: b[k].start });
      if (b[k].end > start) start = b[k].end;
      if (start >= r.end) break;
      k++;
    }
    if (start < r.end) out.push({ start, end: r.end });
  }
  return out;
}

/** `ranges` restricted to `[lo, hi)`. */
export function clipRanges(ranges: readonly IndexRange[], lo: number, hi: number): IndexRange[] {
  const out: IndexRange[] = [];
  for (const r of ranges) {
    const start = Math.max(r.start, lo);
    const end = Math.min(r.end, hi);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/**
 * Normalized ranges of a sorted list of indices (duplicates allowed and ignored). Used for small sets such as
 * the indices found in a topic's tail.
 */
export function rangesFromSorted(indices: ArrayLike<number>): IndexRange[] {
  const out: IndexRange[] = [];
  let cur: IndexRange | null = null;
  for (let i = 0; i < indices.length; i++) {
    const x = indices[i];
    if (cur && x < cur.end) continue;
    if (cur && x === cur.end) cur.end = x + 1;
    else {
      cur = { start: x, end: x + 1 };
      out.push(cur);
    }
  }
  return out;
}

/** Normalized ranges of any list of indices. */
export function rangesFromIndices(indices: Iterable<number>): IndexRange[] {
  const arr = Float64Array.from(indices);
  arr.sort();
  return rangesFromSorted(arr);
}

/**
 * Cuts ranges into fetch windows of at most `size` indices whose boundaries fall on multiples of `size`
 * (static-ct-api tiles are 256 entries and RFC 6962 logs serve fixed pages, so aligned windows avoid fetching
 * the same tile or page twice for two neighbouring windows).
 */
export function splitIntoWindows(ranges: readonly IndexRange[], size: number): IndexRange[] {
  if (!(size >= 1)) throw new RangeError(`window size must be >= 1, got ${size}`);
  const out: IndexRange[] = [];
  for (const r of ranges) {
    let start = r.start;
    while (start < r.end) {
      const boundary = (Math.floor(start / size) + 1) * size;
      const end = Math.min(boundary, r.end);
      out.push({ start, end });
      start = end;
    }
  }
  return out;
}

/** "100-199, 300" style rendering, inclusive ends, at most `max` ranges then "… and N more". */
export function formatRanges(ranges: readonly IndexRange[], max = 10): string {
  const parts = ranges
    .slice(0, max)
    .map((r) => (r.end - r.start === 1 ? `${r.start}` : `${r.start}-${r.end - 1}`));
  if (ranges.length > max) parts.push(`… and ${ranges.length - max} more`);
  return parts.join(", ");
}
