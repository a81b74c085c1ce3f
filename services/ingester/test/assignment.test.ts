import type { CertificateEntry } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { isFenced } from "../src/kafka-errors.ts";
import { assignPartitions, logPartition } from "../src/log-assignment.ts";
import { contiguousFrom } from "../src/log-watcher.ts";

describe("log assignment", () => {
  it("maps a log id to a stable partition", () => {
    expect(logPartition("abc=", 64)).toBe(logPartition("abc=", 64));
    const ps = new Set(Array.from({ length: 200 }, (_, i) => logPartition(`log-${i}`, 16)));
    expect(ps.size).toBe(16);
  });

  it("gives every partition exactly one member and balances by log count", () => {
    const weights = [5, 0, 3, 1, 1, 0, 2, 4, 0, 1];
    const a = assignPartitions(["m2", "m1", "m3"], weights);
    const all = [...a.values()].flat().sort((x, y) => x - y);
    expect(all).toEqual(weights.map((_, i) => i));
    const loads = [...a.values()].map((ps) => ps.reduce((n, p) => n + weights[p], 0));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    // Deterministic whatever the member order.
    expect(assignPartitions(["m3", "m1", "m2"], weights)).toEqual(a);
  });

  it("assigns everything to a single member and nothing to none", () => {
    expect(assignPartitions(["only"], [1, 2, 3]).get("only")).toEqual([0, 1, 2]);
    expect(assignPartitions([], [1]).size).toBe(0);
  });
});

describe("contiguousFrom", () => {
  const e = (index: number) => ({ index }) as CertificateEntry;
  it("keeps the gapless prefix starting at start, bounded by end", () => {
    expect(contiguousFrom([e(5), e(6), e(8)], 5, 10).map((x) => x.index)).toEqual([5, 6]);
    expect(contiguousFrom([e(6)], 5, 10)).toEqual([]);
    expect(contiguousFrom([e(5), e(6), e(7)], 5, 7).map((x) => x.index)).toEqual([5, 6]);
  });
});

describe("isFenced", () => {
  it("recognizes fencing errors through kafkajs wrappers", () => {
    expect(isFenced({ type: "INVALID_PRODUCER_EPOCH" })).toBe(true);
    expect(isFenced({ name: "KafkaJSNumberOfRetriesExceeded", cause: { code: 90 } })).toBe(true);
    expect(isFenced({ errors: [{ type: "PRODUCER_FENCED" }] })).toBe(true);
    expect(isFenced(new Error("Closed connection"))).toBe(false);
  });
});
