import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { NAVIGLI_DIR } from "../../../test/ct-standin/testdata.ts";
import { CtFetchError } from "../src/fetch-error.ts";
import { IssuerCache } from "../src/issuer-cache.ts";
import { parseLogKey } from "../src/log-key.ts";
import { leafHash } from "../src/merkle-hash.ts";
import {
  StaticLogClient,
  type StaticLogClientOptions,
  type StaticLogEntry,
} from "../src/static-log-client.ts";
import { drain, FAST_RETRY } from "./standin-helpers.ts";

const server = new StandInServer({
  static: [
    { name: "navigli", initialSize: 1024 },
    { name: "faulty", initialSize: 778, mode: "distinct", certSeed: 3 },
    { name: "growing", initialSize: 300, gzip: false },
    { name: "orig-issuers", initialSize: 300, issuers: "original" },
    { name: "refusing", initialSize: 1024, faults: { refuseRange: { start: 300, end: 301 } } },
  ],
});

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

const sharedIssuers = new IssuerCache();

function client(name: string, extra: Partial<StaticLogClientOptions> = {}): StaticLogClient {
  return new StaticLogClient({
    ...server.staticEndpoint(name),
    issuers: sharedIssuers,
    fetchConcurrency: 3,
    retry: FAST_RETRY,
    requestTimeoutMs: 2_000,
    ...extra,
  });
}

function expectChains(name: string, entries: StaticLogEntry[]): void {
  const log = server.static(name);
  for (const e of entries) {
    expect(e.missingIssuers).toBe(0);
    expect(e.chainDer.length).toBe(e.chainFingerprints.length);
    for (const der of e.chainDer) expect([...log.issuers.values()].some((i) => i.equals(der))).toBe(true);
  }
}

describe("StaticLogClient against the stand-in (navigli2025h2 tiles)", () => {
  it("reads the 1024 real entries with verified checkpoint and Merkle checks; leaf hashes equal tile/0", async () => {
    const c = client("navigli", { verifyMerkle: true });
    const cp = await c.head();
    expect(cp.treeSize).toBe(1024);
    expect(Buffer.from(cp.rootHash).toString("base64")).toBe("EMfGG85uIddeOXt5/wdQGP3IQd0COCqoLg9Q6CsPLJA=");
    const { entries, gaps } = await drain(c.fetch(0, cp.treeSize), 0);
    expect(gaps).toEqual([]);
    expect(entries.length).toBe(1024);
    for (let n = 0; n < 4; n++) {
      const tile0 = readFileSync(`${NAVIGLI_DIR}/tile/0/00${n}`);
      for (let i = 0; i < 256; i++) {
        expect(
          Buffer.from(leafHash(entries[n * 256 + i].leafInput)).equals(tile0.subarray(i * 32, i * 32 + 32)),
        ).toBe(true);
      }
    }
    expect(entries.every((e) => e.entryType === "precert")).toBe(true);
    expectChains("navigli", entries);
  });

  it("fetches each issuer once, shared across logs", async () => {
    const requestsBefore = server.static("navigli").requests.issuer ?? 0;
    const c = client("navigli");
    await c.head();
    await drain(c.fetch(0, 1024), 0);
    expect(server.static("navigli").requests.issuer ?? 0).toBe(requestsBefore);
    expect(sharedIssuers.size).toBeGreaterThan(0);
  });

  it("reads in ranges that are not tile-aligned without fetching a tile twice", async () => {
    const log = server.static("navigli");
    const c = client("navigli");
    const cp = await c.head();
    const before = log.requests["data-tile"] ?? 0;
    let next = 0;
    while (next < cp.treeSize) {
      const end = Math.min(cp.treeSize, next + 100);
      const { entries } = await drain(c.fetch(next, end), next);
      expect(entries.length).toBe(end - next);
      next = end;
    }
    expect((log.requests["data-tile"] ?? 0) - before).toBe(4);
  });

  it("calls head() itself when needed, and falls back to the full tile when a partial one is gone", async () => {
    const log = server.static("growing");
    const c = client("growing");
    const before = log.size;
    const { entries: first } = await drain(c.fetch(0, 10), 0); // no head() yet: fetch calls it
    expect(first.length).toBe(10);
    expect(c.lastHead?.treeSize).toBe(before);
    // The log grows past the next tile boundary and drops the partial tile of the checkpoint we hold.
    log.grow(256);
    log.faults.set({ noPartialTiles: true });
    try {
      const { entries, gaps } = await drain(c.fetch(10, before), 10);
      expect(gaps).toEqual([]);
      expect(entries.length).toBe(before - 10);
    } finally {
      log.faults.set({});
    }
  });

  it("starts mid-tile and honours the partial tile wait", async () => {
    let now = 1_000_000;
    const c = client("faulty", { partialTileWaitMs: 5_000, now: () => now });
    const cp = await c.head();
    expect(cp.treeSize).toBe(778);
    const first = await drain(c.fetch(100, cp.treeSize), 100);
    // Tiles 0..2 are full; tile 3 is partial (width 10) and has not waited long enough yet.
    expect(first.entries.length).toBe(768 - 100);
    now += 5_000;
    const second = await drain(c.fetch(768, cp.treeSize), 768);
    expect(second.entries.map((e) => e.index)).toEqual(Array.from({ length: 10 }, (_, i) => 768 + i));
    // Right after a partial fetch of that tile, the next one waits again.
    expect((await drain(c.fetch(770, cp.treeSize), 770)).entries.length).toBe(0);
  });

  const faults: [string, Record<string, unknown>][] = [
    ["429 with Retry-After", { rateLimited: 0.2, retryAfterSecs: 0 }],
    ["503 with Retry-After", { unavailable: 0.2, retryAfterSecs: 0 }],
    ["transient 400", { badRequest: 0.2 }],
    ["truncated bodies", { truncated: 0.25 }],
    ["garbage bodies", { garbage: 0.2 }],
    ["slow responses beyond the timeout", { slowMs: 400, slow: 0.2 }],
  ];
  for (const [label, f] of faults) {
    it(`reads everything under ${label}, with Merkle checks`, async () => {
      const log = server.static("faulty");
      log.faults.set({ seed: 11, ...f });
      try {
        const c = client("faulty", { requestTimeoutMs: 250, verifyMerkle: true, issuers: new IssuerCache() });
        const cp = await c.head();
        const { entries, gaps } = await drain(c.fetch(0, cp.treeSize), 0);
        expect(gaps).toEqual([]);
        expect(entries.length).toBe(778);
        for (const e of entries)
          expect(Buffer.from(e.leafInput).equals(leafInputOf(log.leafBytes(e.index)))).toBe(true);
        expectChains("faulty", entries);
        expect(Object.values(log.faults.counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      } finally {
        log.faults.set({});
      }
    });
  }

  it("follows a growing log: successive checkpoints consistent through the hash tiles", async () => {
    const log = server.static("growing");
    const c = client("growing", { verifyMerkle: true });
    let next = 0;
    for (let round = 0; round < 4; round++) {
      const cp = await c.head();
      const { entries, gaps } = await drain(c.fetch(next, cp.treeSize), next);
      expect(gaps).toEqual([]);
      next += entries.length;
      expect(next).toBe(cp.treeSize);
      log.grow(100 + round * 300);
    }
    expect(next).toBeGreaterThan(1024);
  });

  it("refuses a rollback of the tree size", async () => {
    const log = server.static("growing");
    const c = client("growing");
    await c.head();
    log.faults.set({ rollbackTimes: 1 });
    const err = await c.head().catch((e: unknown) => e);
    expect((err as CtFetchError).kind).toBe("rollback");
    expect((await c.head()).treeSize).toBe(log.size);
  });

  it("refuses a checkpoint signed by another key or with another origin", async () => {
    const other = parseLogKey(server.static("navigli").key.publicKeyBase64);
    const bad = await client("growing", { key: other, retry: { ...FAST_RETRY, maxAttempts: 2 } })
      .head()
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CtFetchError);
    const wrongOrigin = await client("growing", {
      origin: "elsewhere.example/log",
      retry: { ...FAST_RETRY, maxAttempts: 2 },
    })
      .head()
      .catch((e: unknown) => e);
    expect((wrongOrigin as CtFetchError).kind).toBe("bad_response");
  });

  it("delivers entries whose issuer the log does not serve, counting the missing issuers", async () => {
    const c = client("orig-issuers", { issuers: new IssuerCache() });
    const cp = await c.head();
    const { entries, gaps } = await drain(c.fetch(0, cp.treeSize), 0);
    expect(gaps).toEqual([]);
    expect(entries.length).toBe(300);
    expect(entries.every((e) => e.missingIssuers === 2 && e.chainDer.length === 0)).toBe(true);
    // Negative results are cached: one request (plus retries) per distinct fingerprint, not per entry.
    expect(server.static("orig-issuers").requests.issuer).toBeLessThan(40);
  });

  it("reports a data tile refused for good as a gap and carries on", async () => {
    const c = client("refusing");
    const cp = await c.head();
    const { entries, gaps } = await drain(c.fetch(0, cp.treeSize), 0);
    expect(gaps.map((g) => [g.start, g.end, g.reason])).toEqual([[256, 512, "refused"]]);
    expect(entries.length).toBe(1024 - 256);
  });
});

/** MerkleTreeLeaf of an encoded TileLeaf, computed independently of the client. */
function leafInputOf(tileLeaf: Buffer): Buffer {
  let p = 10;
  if (tileLeaf.readUInt16BE(8) === 1) p += 32;
  p += 3 + tileLeaf.readUIntBE(p, 3);
  p += 2 + tileLeaf.readUInt16BE(p);
  return Buffer.concat([Buffer.from([0, 0]), tileLeaf.subarray(0, p)]);
}
