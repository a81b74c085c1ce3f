import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { CtFetchError } from "../src/fetch-error.ts";
import { parseLogKey } from "../src/log-key.ts";
import { RfcLogClient, type RfcLogClientOptions } from "../src/rfc-log-client.ts";
import { drain, FAST_RETRY } from "./standin-helpers.ts";

const server = new StandInServer({
  rfc6962: [
    { name: "clean", initialSize: 600, pageSize: 50, mode: "distinct" },
    { name: "faulty", initialSize: 400, pageSize: 40, mode: "distinct" },
    { name: "refusing", initialSize: 200, pageSize: 30, faults: { refuseRange: { start: 95, end: 105 } } },
    { name: "growing", initialSize: 30, pageSize: 16 },
    { name: "aligned", initialSize: 500, pageSize: 50, alignPages: true },
  ],
});

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

function client(name: string, extra: Partial<RfcLogClientOptions> = {}): RfcLogClient {
  return new RfcLogClient({
    ...server.rfcEndpoint(name),
    batchSize: 256,
    fetchConcurrency: 4,
    retry: FAST_RETRY,
    requestTimeoutMs: 2_000,
    ...extra,
  });
}

function expectServed(
  name: string,
  entries: { index: number; leafInput: Uint8Array; extraData: Uint8Array }[],
): void {
  const log = server.rfc(name);
  for (const e of entries) {
    expect(Buffer.from(e.leafInput).equals(log.entry(e.index).leafInput)).toBe(true);
    expect(Buffer.from(e.extraData).equals(log.entry(e.index).extraData)).toBe(true);
  }
}

describe("RfcLogClient against the stand-in", () => {
  it("reads from 0 to the verified head with no gap and no duplicate, learning the page size", async () => {
    const c = client("clean");
    const head = await c.head();
    expect(head.treeSize).toBe(600);
    const { entries, gaps } = await drain(c.fetch(0, head.treeSize), 0);
    expect(gaps).toEqual([]);
    expect(entries.length).toBe(600);
    expect(c.pageSize).toBe(50);
    expectServed("clean", entries);
  });

  it("reads a log that cuts pages at its page boundaries, from an unaligned start", async () => {
    const c = client("aligned");
    const head = await c.head();
    const { entries, gaps } = await drain(c.fetch(7, head.treeSize), 7);
    expect(gaps).toEqual([]);
    expect(entries.length).toBe(head.treeSize - 7);
    expect(c.pageSize).toBe(50);
  });

  it("relearns a page size underestimated from a short tail (page boundaries)", async () => {
    const c = client("aligned");
    // A first small read that ends short at the log's page boundary (50) teaches 40...
    await drain(c.fetch(10, 60), 10);
    expect(c.pageSize).toBe(40);
    // ...and the next batch, asked whole, shows the real size.
    await drain(c.fetch(60, 400), 60);
    expect(c.pageSize).toBe(50);
  });

  it("starts anywhere and stops at the end asked for", async () => {
    const c = client("clean");
    const { entries } = await drain(c.fetch(123, 377), 123);
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 254 }, (_, i) => 123 + i));
  });

  const faults: [string, Record<string, unknown>][] = [
    ["429 with Retry-After", { rateLimited: 0.15, retryAfterSecs: 0 }],
    ["503 with Retry-After", { unavailable: 0.2, retryAfterSecs: 0 }],
    ["500", { serverError: 0.2 }],
    ["transient 400", { badRequest: 0.15 }],
    ["short pages", { shortPage: 0.6 }],
    ["truncated bodies", { truncated: 0.2 }],
    ["garbage JSON", { garbage: 0.15 }],
    ["slow responses beyond the timeout", { slowMs: 400, slow: 0.15 }],
  ];
  for (const [label, f] of faults) {
    it(`reads everything under ${label}`, async () => {
      const log = server.rfc("faulty");
      log.faults.set({ seed: 7, ...f });
      try {
        const c = client("faulty", { requestTimeoutMs: 250 });
        const head = await c.head();
        const { entries, gaps } = await drain(c.fetch(0, head.treeSize), 0);
        expect(gaps).toEqual([]);
        expect(entries.length).toBe(400);
        expectServed("faulty", entries);
        expect(Object.values(log.faults.counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      } finally {
        log.faults.set({});
      }
    });
  }

  it("reports a range refused for good as a gap and carries on after it", async () => {
    const c = client("refusing");
    const { entries, gaps } = await drain(c.fetch(0, 200), 0);
    expect(gaps.length).toBeGreaterThan(0);
    for (const g of gaps) {
      expect(g.log).toBe("refusing");
      expect(g.reason).toBe("refused");
      expect(g.start < 105 && g.end > 95).toBe(true);
    }
    const missing = gaps.reduce((n, g) => n + g.end - g.start, 0);
    expect(entries.length + missing).toBe(200);
    // Bisection narrows the gap down to exactly the refused entries.
    expect(gaps.map((g) => [g.start, g.end])).toEqual([[95, 105]]);
    expect(missing).toBe(10);
  });

  it("follows a growing log: successive STHs are consistent (get-sth-consistency verified)", async () => {
    const log = server.rfc("growing");
    const c = client("growing");
    let next = 0;
    for (let round = 0; round < 4; round++) {
      const head = await c.head();
      const { entries, gaps } = await drain(c.fetch(next, head.treeSize), next);
      expect(gaps).toEqual([]);
      next += entries.length;
      expect(next).toBe(head.treeSize);
      log.grow(17 + round * 40);
    }
    expect(log.requests["get-sth-consistency"]).toBeGreaterThanOrEqual(3);
  });

  it("refuses a rollback of the tree size", async () => {
    const log = server.rfc("growing");
    const c = client("growing");
    await c.head();
    log.faults.set({ rollbackTimes: 1 });
    const err = await c.head().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtFetchError);
    expect((err as CtFetchError).kind).toBe("rollback");
    // The accepted head is unchanged and the next honest STH is accepted.
    const again = await c.head();
    expect(again.treeSize).toBe(log.size);
  });

  it("refuses an STH signed by another key", async () => {
    const other = server.rfc("clean").key.publicKeyBase64;
    const c = client("growing", { key: parseLogKey(other), retry: { ...FAST_RETRY, maxAttempts: 2 } });
    const err = await c.head().catch((e: unknown) => e);
    expect((err as CtFetchError).kind).toBe("bad_signature");
  });

  it("stops cleanly when the consumer breaks out early", async () => {
    const c = client("clean");
    let n = 0;
    for await (const item of c.fetch(0, 600)) {
      if (item.kind === "entries") n += item.entries.length;
      if (n >= 100) break;
    }
    expect(n).toBeGreaterThanOrEqual(100);
  });
});
