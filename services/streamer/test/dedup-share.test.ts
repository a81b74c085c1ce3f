import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { DedupShare, DedupWindow } from "../src/dedup-share.ts";

describe("DedupWindow", () => {
  it("shares over the window per replica, summed; a restarted replica counts from its new start", () => {
    const w = new DedupWindow(60_000);
    w.add("a", { forwarded: 100, duplicates: 0 }, 0);
    w.add("b", { forwarded: 50, duplicates: 50 }, 0);
    expect(w.view(null).share).toBeNull(); // one sample each: nothing within the window yet
    w.add("a", { forwarded: 110, duplicates: 90 }, 30_000); // +10 / +90
    w.add("b", { forwarded: 60, duplicates: 50 }, 30_000); // +10 / +0
    const v = w.view(null);
    expect(v.forwarded).toBe(20);
    expect(v.duplicates).toBe(90);
    expect(v.share).toBeCloseTo(90 / 110);
    expect(v.share_since_start).toBeCloseTo(140 / 310);
    expect(v.replicas).toBe(2);
    w.add("a", { forwarded: 5, duplicates: 15 }, 40_000); // restarted: counts 5/15 since its start
    expect(w.view(null).duplicates).toBe(15);
    // Samples older than the window drop out; the one just before it stays as the base.
    w.add("a", { forwarded: 5, duplicates: 15 }, 200_000);
    w.add("b", { forwarded: 60, duplicates: 50 }, 200_000);
    expect(w.view(null)).toMatchObject({ forwarded: 0, duplicates: 0, share: null });
    w.expire(200_000 + 181_000);
    expect(w.view(null).replicas).toBe(0);
  });
});

describe("DedupShare", () => {
  it("reads the dedup counters of an ingester's /api/logs and names a URL that fails", async () => {
    let counters = { forwarded: 10, duplicates: 0 };
    const server = createServer((req, res) => {
      if (req.url !== "/api/logs") return res.writeHead(404).end();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ replica: "r1", logs: [], dedup: { ...counters, unparsed: 0, cacheSize: 3 } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = new DedupShare([`${base}/api/logs`]);
      await ok.poll();
      counters = { forwarded: 12, duplicates: 6 };
      await ok.poll();
      expect(ok.view()).toMatchObject({ forwarded: 2, duplicates: 6, share: 0.75, replicas: 1, error: null });
      const bad = new DedupShare([`${base}/nope`]);
      await bad.poll();
      expect(bad.view().error).toBe(`${base}/nope: HTTP 404`);
      expect(bad.view().share).toBeNull();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
