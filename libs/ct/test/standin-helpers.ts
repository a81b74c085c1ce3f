import { expect } from "vitest";
import type { LogGap, LogRangeItem } from "../src/log-range.ts";

/** Drain a client's fetch(start, end); assert strict order (each item starts where the previous ended). */
export async function drain<E extends { index: number }>(
  it: AsyncGenerator<LogRangeItem<E>>,
  start: number,
): Promise<{ entries: E[]; gaps: LogGap[] }> {
  const entries: E[] = [];
  const gaps: LogGap[] = [];
  let next = start;
  for await (const item of it) {
    if (item.kind === "entries") {
      expect(item.start).toBe(next);
      for (const e of item.entries) {
        expect(e.index).toBe(next);
        next++;
        entries.push(e);
      }
    } else {
      expect(item.gap.start).toBe(next);
      expect(item.gap.end).toBeGreaterThan(item.gap.start);
      next = item.gap.end;
      gaps.push(item.gap);
    }
  }
  return { entries, gaps };
}

export const FAST_RETRY = { maxAttempts: 4, initialMs: 5, maxMs: 40 };
