import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import type { CtFetchError } from "../src/fetch-error.ts";
import { IssuerCache } from "../src/issuer-cache.ts";
import { createLogClient } from "../src/log-client-factory.ts";
import { LogFetcher } from "../src/log-fetcher.ts";
import { parseLogList } from "../src/log-list.ts";
import { OperatorBudgets } from "../src/operator-budget.ts";
import { RfcLogClient } from "../src/rfc-log-client.ts";
import { StaticLogClient } from "../src/static-log-client.ts";
import { drain, FAST_RETRY } from "./standin-helpers.ts";

// Bad input on the network side: each case is a typed error or an exact gap, never a crash or a stall.

const server = new StandInServer({
  rfc6962: [{ name: "rfc", initialSize: 120, pageSize: 40 }],
  static: [{ name: "tiles", initialSize: 600 }],
});
beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

const fetcher = (maxResponseBytes: number, requestTimeoutMs = 2_000) =>
  new LogFetcher({
    log: "bad-input",
    operator: "x",
    maxResponseBytes,
    requestTimeoutMs,
    retry: { ...FAST_RETRY, maxAttempts: 1 },
  });

describe("bad input from logs", () => {
  it("an endless body is cut at the size cap (too_large), or by the request timeout", async () => {
    server.rfc("rfc").faults.set({ endless: 1 });
    try {
      const capped = await fetcher(1 << 20)
        .getOnce(`${server.url("rfc")}ct/v1/get-sth`, { endpoint: "get-sth" })
        .catch((e) => e);
      expect((capped as CtFetchError).kind).toBe("too_large");
      const timed = await fetcher(1 << 30, 200)
        .getOnce(`${server.url("rfc")}ct/v1/get-sth`, { endpoint: "get-sth" })
        .catch((e) => e);
      expect((timed as CtFetchError).kind).toBe("timeout");
    } finally {
      server.rfc("rfc").faults.set({});
    }
  });

  it("an unparsable URL is a refusal, not an endless retry", async () => {
    const err = await fetcher(1 << 20)
      .get("http://", { endpoint: "get-sth" }, (b) => b)
      .catch((e) => e);
    expect((err as CtFetchError).kind).toBe("refused");
  });

  it("a gzip bomb is cut at the cap on the inflated size (compression_bomb)", async () => {
    server.static("tiles").faults.set({ gzipBomb: 1 });
    try {
      const err = await fetcher(4 << 20)
        .getOnce(`${server.url("tiles")}tile/data/000`, { endpoint: "data-tile" })
        .catch((e) => e);
      expect((err as CtFetchError).kind).toBe("compression_bomb");
    } finally {
      server.static("tiles").faults.set({});
    }
  });

  it("an entry with bad base64 becomes an exact one-entry gap; its neighbours are delivered", async () => {
    const log = server.rfc("rfc");
    log.faults.set({ corruptEntries: [57] });
    try {
      const c = new RfcLogClient({ ...server.rfcEndpoint("rfc"), retry: FAST_RETRY });
      const { entries, gaps } = await drain(c.fetch(0, 120), 0);
      expect(gaps.map((g) => [g.start, g.end, g.reason])).toEqual([[57, 58, "bad_response"]]);
      expect(gaps[0].detail).toMatch(/leaf_input is not base64/);
      expect(entries.length).toBe(119);
    } finally {
      log.faults.set({});
    }
  });

  it("a tile leaf whose leaf_index is not its position becomes a one-entry gap", async () => {
    const log = server.static("tiles");
    log.faults.set({ swapLeaves: [300] });
    try {
      const c = new StaticLogClient({
        ...server.staticEndpoint("tiles"),
        issuers: new IssuerCache(),
        retry: FAST_RETRY,
      });
      await c.head();
      const { entries, gaps } = await drain(c.fetch(0, 600), 0);
      expect(gaps.map((g) => [g.start, g.end, g.reason])).toEqual([[300, 301, "leaf_index_mismatch"]]);
      expect(entries.length).toBe(599);
      // With Merkle checks the tampered tile is not included in the tree: the whole tile is refused.
      const strict = new StaticLogClient({
        ...server.staticEndpoint("tiles"),
        issuers: new IssuerCache(),
        retry: FAST_RETRY,
        verifyMerkle: true,
      });
      await strict.head();
      const r = await drain(strict.fetch(0, 600), 0);
      expect(r.gaps.map((g) => [g.start, g.end, g.reason])).toEqual([[256, 512, "inconsistent"]]);
    } finally {
      log.faults.set({});
    }
  });

  it("a tile refused for a wrong leaf is not kept: once the log serves the right one, it is fetched again", async () => {
    const log = server.static("tiles");
    for (const verifyMerkle of [false, true]) {
      const c = new StaticLogClient({
        ...server.staticEndpoint("tiles"),
        issuers: new IssuerCache(),
        retry: FAST_RETRY,
        verifyMerkle,
      });
      await c.head();
      log.faults.set({ swapLeaves: [300] });
      try {
        // Retried while the log serves the wrong tile: each try asks the log again.
        for (let i = 0; i < 2; i++) {
          const before = log.requests["data-tile"] ?? 0;
          const { gaps } = await drain(c.fetch(300, 512), 300);
          expect(gaps[0]?.start).toBe(300);
          expect(gaps[0]?.reason).toBe(verifyMerkle ? "inconsistent" : "leaf_index_mismatch");
          expect((log.requests["data-tile"] ?? 0) - before).toBe(1);
        }
      } finally {
        log.faults.set({});
      }
      const before = log.requests["data-tile"] ?? 0;
      const { entries, gaps } = await drain(c.fetch(300, 512), 300);
      expect(gaps).toEqual([]);
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 212 }, (_, k) => 300 + k));
      expect((log.requests["data-tile"] ?? 0) - before).toBe(1);
    }
  });

  it("createLogClient builds both kinds from the stand-in's log list and config-shaped settings", async () => {
    const res = await fetch(`${server.baseUrl}/log_list.json`);
    const list = parseLogList(await res.text());
    const shared = { budgets: new OperatorBudgets(), issuers: new IssuerCache() };
    const settings = {
      batch_size: 100,
      fetch_concurrency: 2,
      request_timeout_secs: 5,
      retry_max_attempts: 3,
      retry_initial_delay_ms: 5,
      retry_max_delay_ms: 20,
      verify_static_merkle: true,
    };
    for (const d of list.logs) {
      const c = createLogClient(d, settings, shared);
      const head = await c.head();
      let n = 0;
      for await (const item of c.fetch(0, head.treeSize))
        if (item.kind === "entries") n += item.entries.length;
      expect(n).toBe(head.treeSize);
      expect(c instanceof StaticLogClient).toBe(d.kind === "static");
    }
  });
});
