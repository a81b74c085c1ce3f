import { describe, expect, it } from "vitest";
import { IndexBitmap } from "../src/index-bitmap.ts";
import {
  clipRanges,
  countRanges,
  formatRanges,
  type IndexRange,
  normalizeRanges,
  rangesFromIndices,
  rangesFromSorted,
  splitIntoWindows,
  subtractRanges,
  unionRanges,
} from "../src/index-ranges.ts";

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

function toSet(ranges: readonly IndexRange[]): Set<number> {
  const s = new Set<number>();
  for (const r of ranges) for (let i = r.start; i < r.end; i++) s.add(i);
  return s;
}

function randomRanges(rand: () => number, n: number, span: number): IndexRange[] {
  const out: IndexRange[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor(rand() * span);
    out.push({ start, end: start + Math.floor(rand() * 20) });
  }
  return out;
}

describe("range lists", () => {
  it("normalize merges overlapping and touching ranges and drops empty ones", () => {
    expect(
      normalizeRanges([
        { start: 5, end: 7 },
        { start: 0, end: 2 },
        { start: 2, end: 3 },
        { start: 6, end: 10 },
        { start: 4, end: 4 },
      ]),
    ).toEqual([
      { start: 0, end: 3 },
      { start: 5, end: 10 },
    ]);
  });

  it("subtract, union and clip agree with a set model", () => {
    const rand = rng(7);
    for (let round = 0; round < 200; round++) {
      const a = normalizeRanges(randomRanges(rand, 8, 200));
      const b = normalizeRanges(randomRanges(rand, 8, 200));
      const sa = toSet(a);
      const sb = toSet(b);
      expect(toSet(subtractRanges(a, b))).toEqual(new Set([...sa].filter((x) => !sb.has(x))));
      expect(toSet(unionRanges(a, b))).toEqual(new Set([...sa, ...sb]));
      expect(toSet(clipRanges(a, 50, 150))).toEqual(new Set([...sa].filter((x) => x >= 50 && x < 150)));
      const d = subtractRanges(a, b);
      expect(normalizeRanges(d)).toEqual(d);
      expect(countRanges(d)).toBe(toSet(d).size);
    }
  });

  it("builds ranges from indices, ignoring duplicates", () => {
    expect(rangesFromSorted([1, 2, 2, 3, 7, 9, 10])).toEqual([
      { start: 1, end: 4 },
      { start: 7, end: 8 },
      { start: 9, end: 11 },
    ]);
    expect(rangesFromIndices([10, 3, 9, 1, 2, 3])).toEqual([
      { start: 1, end: 4 },
      { start: 9, end: 11 },
    ]);
    expect(rangesFromIndices([])).toEqual([]);
  });

  it("splits into aligned windows", () => {
    expect(splitIntoWindows([{ start: 1000, end: 3100 }], 1024)).toEqual([
      { start: 1000, end: 1024 },
      { start: 1024, end: 2048 },
      { start: 2048, end: 3072 },
      { start: 3072, end: 3100 },
    ]);
    expect(splitIntoWindows([{ start: 5, end: 6 }], 1)).toEqual([{ start: 5, end: 6 }]);
    expect(() => splitIntoWindows([], 0)).toThrow(/window size/);
  });

  it("formats inclusive ranges and truncates long lists", () => {
    expect(
      formatRanges([
        { start: 1, end: 2 },
        { start: 5, end: 10 },
      ]),
    ).toBe("1, 5-9");
    expect(formatRanges(rangesFromIndices([1, 3, 5, 7]), 2)).toBe("1, 3, … and 2 more");
  });
});

describe("IndexBitmap", () => {
  it("adds, detects duplicates and reports min/max", () => {
    const b = new IndexBitmap();
    expect(b.add(5)).toBe(true);
    expect(b.add(5)).toBe(false);
    expect(b.add(70_000)).toBe(true);
    expect(b.count).toBe(2);
    expect(b.duplicates).toBe(1);
    expect(b.min).toBe(5);
    expect(b.max).toBe(70_000);
    expect(b.has(70_000)).toBe(true);
    expect(b.has(6)).toBe(false);
  });

  it("addRange counts new bits and duplicates across word and chunk borders", () => {
    const b = new IndexBitmap();
    b.add(65_540);
    expect(b.addRange(65_500, 65_600)).toBe(99);
    expect(b.duplicates).toBe(1);
    expect(b.count).toBe(100);
    expect(b.covers(65_500, 65_600)).toBe(true);
    expect(b.covers(65_499, 65_600)).toBe(false);
    expect(b.missing(65_490, 65_610)).toEqual([
      { start: 65_490, end: 65_500 },
      { start: 65_600, end: 65_610 },
    ]);
  });

  it("missing() agrees with a set model on random data, including huge sparse spans", () => {
    const rand = rng(42);
    for (let round = 0; round < 50; round++) {
      const b = new IndexBitmap();
      const s = new Set<number>();
      const base = Math.floor(rand() * 1e12);
      for (let i = 0; i < 300; i++) {
        const x = base + Math.floor(rand() * 200_000);
        if (rand() < 0.2) {
          const len = Math.floor(rand() * 100);
          b.addRange(x, x + len);
          for (let k = x; k < x + len; k++) s.add(k);
        } else {
          b.add(x);
          s.add(x);
        }
      }
      expect(b.count).toBe(s.size);
      const lo = base + Math.floor(rand() * 50_000);
      const hi = lo + Math.floor(rand() * 150_000);
      const want: number[] = [];
      for (let i = lo; i < hi; i++) if (!s.has(i)) want.push(i);
      const got = b.missing(lo, hi);
      expect(got).toEqual(rangesFromSorted(want));
    }
    const sparse = new IndexBitmap();
    sparse.add(10);
    sparse.add(5e12);
    expect(sparse.missing(0, 6e12)).toEqual([
      { start: 0, end: 10 },
      { start: 11, end: 5e12 },
      { start: 5e12 + 1, end: 6e12 },
    ]);
    expect(sparse.missing(0, 6e12, 1)).toEqual([{ start: 0, end: 10 }]);
  });
});
