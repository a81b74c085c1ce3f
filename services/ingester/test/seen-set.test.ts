import { describe, expect, it } from "vitest";
import { SeenSet } from "../src/seen-set.ts";

describe("SeenSet", () => {
  it("reports the first sighting within the window and forgets after the TTL", () => {
    const s = new SeenSet(1000, 100);
    expect(s.firstSighting("a", 0)).toBe(true);
    expect(s.firstSighting("a", 999)).toBe(false);
    // The window is counted from the first sighting, not refreshed by repeats.
    expect(s.firstSighting("a", 1000)).toBe(true);
    expect(s.size).toBe(1);
  });

  it("expires from the old end in O(1) amortized and keeps live keys", () => {
    const s = new SeenSet(100, 1000);
    for (let i = 0; i < 50; i++) s.add(`k${i}`, i);
    s.expire(120);
    // k0..k20 expired (expiry = i + 100 <= 120), k21.. live.
    expect(s.size).toBe(29);
    expect(s.has("k20", 120)).toBe(false);
    expect(s.has("k21", 120)).toBe(true);
  });

  it("never reports a key live past its deadline even when inserted out of order", () => {
    const s = new SeenSet(100, 1000);
    s.add("late", 50);
    s.add("early", 10); // out of order: sits behind "late" in the map
    expect(s.has("early", 111)).toBe(false);
    expect(s.has("late", 111)).toBe(true);
  });

  it("bounds memory by capacity, evicting the oldest first", () => {
    const s = new SeenSet(1_000_000, 3);
    for (const k of ["a", "b", "c", "d"]) s.add(k, 0);
    expect(s.size).toBe(3);
    expect(s.evicted).toBe(1);
    expect(s.has("a", 1)).toBe(false);
    expect(s.has("d", 1)).toBe(true);
  });

  it("handles a million keys quickly", () => {
    const s = new SeenSet(60_000, 2_000_000);
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) s.firstSighting(`key-${i % 700_000}`, i / 10);
    const ms = performance.now() - t0;
    expect(s.size).toBeLessThanOrEqual(700_000);
    expect(ms).toBeGreaterThan(0);
  });
});
