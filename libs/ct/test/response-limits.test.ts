import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { IssuerCache } from "../src/issuer-cache.ts";
import type { LogFetcher } from "../src/log-fetcher.ts";
import { loadLogList } from "../src/log-list.ts";
import { ctFetchErrors } from "../src/metrics.ts";
import {
  dataTileMaxBytes,
  GET_ENTRIES_ENTRY_ALLOWANCE_BYTES,
  getEntriesMaxBytes,
} from "../src/response-limits.ts";
import { RfcLogClient } from "../src/rfc-log-client.ts";
import { StaticLogClient } from "../src/static-log-client.ts";
import { drain, FAST_RETRY } from "./standin-helpers.ts";

// Every response we decompress or parse is bounded by what it can legitimately hold: a gzip bomb (32 KB inflating
// to 32 MiB) on any endpoint is refused as `compression_bomb` while inflating, counted, and the client carries on
// (the next answer is served normally).

const server = new StandInServer({
  rfc6962: [{ name: "rfc", initialSize: 120, pageSize: 40 }],
  static: [{ name: "tiles", initialSize: 600 }],
  growOnStart: false,
});
beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

async function bombs(log: string): Promise<number> {
  const m = await ctFetchErrors.get();
  return m.values.find((v) => v.labels.log === log && v.labels.kind === "compression_bomb")?.value ?? 0;
}

/** Runs `work` with one bomb on `endpoint`; expects it refused, counted, and `work` to succeed anyway. */
async function oneBomb<T>(
  log: "rfc" | "tiles",
  endpoint: string,
  fetcher: () => LogFetcher,
  work: () => Promise<T>,
  fault: "gzipBomb" | "storedGzipBomb" = "gzipBomb",
): Promise<T> {
  const standIn = server.logs.get(log);
  if (!standIn) throw new Error(`no stand-in ${log}`);
  const before = await bombs(log);
  standIn.faults.set({ [fault]: 1, endpoints: [endpoint], maxFaults: 1 });
  try {
    const out = await work();
    expect(standIn.faults.counts[fault]).toBe(1);
    expect(await bombs(log)).toBe(before + 1);
    expect(fetcher().lastFailure).toMatchObject({ kind: "compression_bomb", endpoint });
    return out;
  } finally {
    standIn.faults.set({});
  }
}

const rfcClient = () => new RfcLogClient({ ...server.rfcEndpoint("rfc"), retry: FAST_RETRY });
const staticClient = (verifyMerkle = false) =>
  new StaticLogClient({
    ...server.staticEndpoint("tiles"),
    issuers: new IssuerCache(),
    retry: FAST_RETRY,
    verifyMerkle,
  });

describe("response bounds", () => {
  it("are far below a 32 MiB bomb and far above real responses", () => {
    // navigli2025h2 data tiles are ~400 KB for 256 entries; argon2026h2 get-entries ~5 KB per entry.
    expect(dataTileMaxBytes()).toBe(8 * 1024 * 1024);
    expect(dataTileMaxBytes(10)).toBe(10 * 32 * 1024);
    expect(getEntriesMaxBytes(256)).toBe(256 * GET_ENTRIES_ENTRY_ALLOWANCE_BYTES);
    expect(getEntriesMaxBytes(256)).toBeLessThan(32 * 1024 * 1024);
  });

  it("get-sth: a bomb is refused, counted, and the next STH is read", async () => {
    const c = rfcClient();
    const sth = await oneBomb(
      "rfc",
      "get-sth",
      () => c.fetcher,
      () => c.head(),
    );
    expect(sth.treeSize).toBe(server.rfc("rfc").size);
  });

  it("get-sth-consistency: a bomb is refused, counted, and the proof is read on retry", async () => {
    const c = rfcClient();
    await c.head();
    server.rfc("rfc").grow(10);
    const sth = await oneBomb(
      "rfc",
      "get-sth-consistency",
      () => c.fetcher,
      () => c.head(),
    );
    expect(sth.treeSize).toBe(server.rfc("rfc").size);
  });

  it("get-entries: a bomb is refused, counted, and every entry is delivered", async () => {
    const c = rfcClient();
    await c.head();
    const { entries, gaps } = await oneBomb(
      "rfc",
      "get-entries",
      () => c.fetcher,
      () => drain(c.fetch(0, 120), 0),
    );
    expect(gaps).toEqual([]);
    expect(entries.length).toBe(120);
  });

  it("checkpoint: a bomb is refused, counted, and the checkpoint is read", async () => {
    const c = staticClient();
    const cp = await oneBomb(
      "tiles",
      "checkpoint",
      () => c.fetcher,
      () => c.head(),
    );
    expect(cp.treeSize).toBe(600);
  });

  it("hash tiles: a bomb is refused, counted, and the checkpoint verifies", async () => {
    const c = staticClient(true);
    const cp = await oneBomb(
      "tiles",
      "tile",
      () => c.fetcher,
      () => c.head(),
    );
    expect(cp.treeSize).toBe(600);
  });

  for (const fault of ["gzipBomb", "storedGzipBomb"] as const) {
    it(`data tiles (${fault}): a bomb is refused, counted, and every entry is delivered`, async () => {
      const c = staticClient();
      await c.head();
      const { entries, gaps } = await oneBomb(
        "tiles",
        "data-tile",
        () => c.fetcher,
        () => drain(c.fetch(0, 600), 0),
        fault,
      );
      expect(gaps).toEqual([]);
      expect(entries.length).toBe(600);
    });
  }

  it("issuers: a bomb is refused, counted, and the issuer is fetched again", async () => {
    const c = staticClient();
    await c.head();
    const { entries } = await oneBomb(
      "tiles",
      "issuer",
      () => c.fetcher,
      () => drain(c.fetch(0, 256), 0),
    );
    expect(entries.length).toBe(256);
    expect(entries.every((e) => e.missingIssuers === 0)).toBe(true);
  });

  it("a bomb refused for good on a data tile is a gap of that tile, with its kind", async () => {
    const c = staticClient();
    await c.head();
    server.static("tiles").faults.set({ gzipBomb: 1, endpoints: ["data-tile"] });
    try {
      const { gaps } = await drain(c.fetch(0, 256), 0);
      expect(gaps.map((g) => [g.start, g.end, g.reason])).toEqual([[0, 256, "compression_bomb"]]);
    } finally {
      server.static("tiles").faults.set({});
    }
  });

  it("the log list: a bomb is refused, counted, and the list is read on retry", async () => {
    const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
    let served = 0;
    const list = JSON.stringify(server.logList());
    const http = createServer((_req, res) => {
      if (served++ === 0) {
        res.writeHead(200, { "content-encoding": "gzip", "content-length": String(bomb.length) });
        res.end(bomb);
      } else res.end(list);
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const location = `http://127.0.0.1:${(http.address() as AddressInfo).port}/log_list.json`;
      const before = await bombs("log-list");
      // The list fetcher retries a refusal once: the bomb is refused and counted, the second answer is read.
      const loaded = await loadLogList({ location });
      expect(loaded.logs.length).toBe(2);
      expect(await bombs("log-list")).toBe(before + 1);
      expect(served).toBe(2);
    } finally {
      http.close();
    }
  });
});
