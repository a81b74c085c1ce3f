import { Snapshot } from "@certstream/delta";
import { describe, expect, it } from "vitest";
import { fileStatsOf, sinkTxnVersions } from "../src/archive-scan.ts";
import { formatPlan } from "../src/backfill-job.ts";
import { backfillTransactionalId } from "../src/backfill-producer.ts";
import { parseArgs } from "../src/cli-args.ts";
import { UnreachableGuard } from "../src/log-clients.ts";

function respond(status: number, headers: Record<string, string> = {}): Response {
  return new Response("x", { status, headers });
}

describe("UnreachableGuard", () => {
  it("gives a log up after `limit` consecutive network failures or 5xx, and says why", async () => {
    const ctl = new AbortController();
    const guard = new UnreachableGuard(3, ctl);
    const script: (() => Response)[] = [
      () => {
        throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
      },
      () => respond(500),
      () => respond(200), // resets
      () => respond(502),
      () => {
        throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });
      },
      () => respond(500),
    ];
    let i = 0;
    const f = guard.wrap((async () => script[i++]()) as unknown as typeof fetch);
    for (let k = 0; k < script.length; k++) await f("http://x/").catch(() => undefined);
    expect(ctl.signal.aborted).toBe(true);
    expect(guard.gaveUp).toBe("unreachable: 3 consecutive failed requests (last: HTTP 500)");
  });

  it("does not count 4xx, 429 or 503 with Retry-After (politeness), nor its own aborts", async () => {
    const ctl = new AbortController();
    const guard = new UnreachableGuard(2, ctl);
    const statuses = [429, 503, 400, 404, 429, 503];
    let i = 0;
    const f = guard.wrap((async () =>
      respond(statuses[i++], { "retry-after": "1" })) as unknown as typeof fetch);
    for (let k = 0; k < statuses.length; k++) await f("http://x/");
    expect(ctl.signal.aborted).toBe(false);
    expect(guard.gaveUp).toBeNull();
    const mine = new AbortController();
    mine.abort();
    const aborting = guard.wrap((async () => {
      throw new DOMException("aborted", "AbortError");
    }) as unknown as typeof fetch);
    for (let k = 0; k < 3; k++) await aborting("http://x/", { signal: mine.signal }).catch(() => undefined);
    expect(ctl.signal.aborted).toBe(false);
  });
});

describe("table helpers", () => {
  it("reads the sink's txn version per partition of a topic, whatever the app id prefix", () => {
    const snap = new Snapshot();
    snap.apply([
      { txn: { appId: "certstream-delta-sink-certstream.backfill.v1-0", version: 10, lastUpdated: 1 } },
      { txn: { appId: "certstream-delta-sink-certstream.backfill.v1-2", version: 7, lastUpdated: 1 } },
      { txn: { appId: "old-sink-certstream.backfill.v1-0", version: 12, lastUpdated: 1 } },
      { txn: { appId: "certstream-delta-sink-certstream.entries.v1-0", version: 99, lastUpdated: 1 } },
      { txn: { appId: "certstream-delta-sink-xcertstream.backfill.v1-1", version: 5, lastUpdated: 1 } },
    ]);
    expect(sinkTxnVersions(snap, "certstream.backfill.v1")).toEqual(
      new Map([
        [0, 12n],
        [2, 7n],
      ]),
    );
    expect(sinkTxnVersions(null, "t").size).toBe(0);
  });

  it("turns add stats into gap-detection stats; loose bounds are not trusted", () => {
    const base = { path: "p", partitionValues: {}, size: 1, modificationTime: 0, dataChange: true };
    const stats = {
      numRecords: 5,
      minValues: { cert_index: 10, log_id: "A" },
      maxValues: { cert_index: 14, log_id: "A" },
      nullCount: { cert_index: 0 },
    };
    expect(fileStatsOf({ ...base, parsedStats: stats })).toEqual({
      path: "p",
      numRecords: 5,
      minIndex: 10,
      maxIndex: 14,
      minLog: "A",
      maxLog: "A",
      nullIndexCount: 0,
    });
    expect(fileStatsOf({ ...base, parsedStats: { ...stats, tightBounds: false } }).minIndex).toBeNull();
    expect(fileStatsOf({ ...base, parsedStats: null }).numRecords).toBeNull();
  });

  it("per-log transactional ids are stable and distinct", () => {
    const a = backfillTransactionalId("certstream-backfill", "AAAA");
    expect(a).toBe(backfillTransactionalId("certstream-backfill", "AAAA"));
    expect(a).not.toBe(backfillTransactionalId("certstream-backfill", "AAAB"));
    expect(a).toMatch(/^certstream-backfill-[0-9a-f]{16}$/);
  });
});

describe("dry-run listing", () => {
  it("prints one line per log with domain, bound, counts and ranges", () => {
    const log = (name: string) =>
      ({ id: `${name}-id`, name, url: `https://${name}/`, operator: "op", kind: "rfc6962" }) as never;
    const text = formatPlan(
      {
        logs: [
          {
            log: log("argon"),
            inFlight: 5,
            gaps: {
              log: "argon-id",
              domain: { start: 0, end: 300 },
              upperBound: "ingester",
              lowest: 0,
              highest: 400,
              archived: 200,
              duplicates: 1,
              gaps: [
                { start: 10, end: 40 },
                { start: 100, end: 101 },
              ],
              missing: 31,
            },
          },
          {
            log: log("xenon"),
            inFlight: 0,
            gaps: {
              log: "xenon-id",
              domain: { start: 0, end: 0 },
              upperBound: "none",
              lowest: null,
              highest: null,
              archived: 0,
              duplicates: 0,
              gaps: [],
              missing: 0,
            },
          },
        ],
        scanMs: 12.3,
        scanStats: {
          dense: { files: 3, rows: 30 },
          skippedOtherLogs: { files: 1, rows: 1 },
          skippedCovered: { files: 0, rows: 0 },
          read: { files: 2, rows: 20 },
          badRows: 0,
        },
        positions: new Map(),
        inFlightRecords: { entries: 0, backfill: 5 },
      },
      parseArgs([]),
      "/data/t",
    );
    expect(text).toBe(
      [
        "gaps (catch-up) in /data/t: scanned in 12 ms (3 files from stats, 2 read, 1 skipped)",
        "  argon [argon-id]: 31 missing in 2 gap(s) within 0-299 (upper bound: ingester position; 200 archived, 5 in flight, 1 DUPLICATES): 10-39, 100",
        "  xenon [xenon-id]: nothing to look at (nothing archived)",
        "total: 31 entries missing in 1 log(s)",
      ].join("\n"),
    );
  });
});
