import { createLogger } from "@certstream/log";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import type { LogClient, LogRangeItem } from "../../../libs/ct/src/log-range.ts";
import { splitIntoWindows } from "../src/index-ranges.ts";
import { UnreachableGuard } from "../src/log-clients.ts";
import { runLog, type WindowCommitter } from "../src/log-runner.ts";
import type { LogProgress } from "../src/progress.ts";

const source: LogSource = { id: "L", name: "test-log", url: "https://l/", operator: "op", kind: "rfc6962" };
const logger = createLogger("test", "silent");

/** An in-memory log: pages of `page` entries; `refuse` ranges come back as gaps; `stopEarlyOnce` cuts one answer. */
class FakeLog implements LogClient<number> {
  fetches: [number, number][] = [];
  page = 10;
  refuse: { start: number; end: number } | null = null;
  stopEarlyOnce = false;
  serveNothingFrom: number | null = null;
  failAt: number | null = null;

  async head() {
    return { treeSize: 1e6, timestamp: 0, rootHash: new Uint8Array(32) };
  }

  async *fetch(start: number, end: number): AsyncGenerator<LogRangeItem<number>> {
    this.fetches.push([start, end]);
    if (this.serveNothingFrom !== null && start >= this.serveNothingFrom) return;
    let stop = end;
    if (this.stopEarlyOnce) {
      this.stopEarlyOnce = false;
      stop = start + Math.floor((end - start) / 2);
    }
    for (let s = start; s < stop; s += this.page) {
      const e = Math.min(stop, s + this.page);
      if (this.failAt !== null && this.failAt >= s && this.failAt < e) throw new Error("connection reset");
      const r = this.refuse;
      if (r && s < r.end && e > r.start) {
        yield {
          kind: "gap",
          gap: { log: "test-log", start: s, end: e, reason: "refused", detail: "HTTP 400" },
        };
        continue;
      }
      yield { kind: "entries", start: s, entries: Array.from({ length: e - s }, (_, i) => s + i) };
    }
  }
}

class MemoryCommitter implements WindowCommitter {
  readonly committed: number[] = [];
  async commit(_log: string, entries: readonly CertificateEntry[]): Promise<number> {
    for (const e of entries) this.committed.push(e.index);
    return entries.length;
  }
}

function run(log: FakeLog, gaps: { start: number; end: number }[], windowSize = 25, concurrency = 3) {
  const committer = new MemoryCommitter();
  const progress: LogProgress = {
    name: "test-log",
    total: gaps.reduce((n, g) => n + g.end - g.start, 0),
    done: 0,
    state: "running",
    gapsRemaining: gaps.length,
  };
  const ctl = new AbortController();
  const result = runLog({
    source,
    client: {
      client: log,
      convert: (_l, e, seen) => ({ index: e as number, seen }) as unknown as CertificateEntry,
    },
    windows: splitIntoWindows(gaps, windowSize),
    gaps,
    concurrency,
    producer: committer,
    signal: ctl.signal,
    guard: new UnreachableGuard(3, ctl),
    progress,
    logger,
  });
  return { result, committer, progress };
}

describe("runLog", () => {
  it("fills every window once, concurrently, and counts progress per gap", async () => {
    const log = new FakeLog();
    const { result, committer, progress } = run(log, [
      { start: 0, end: 60 },
      { start: 100, end: 101 },
    ]);
    expect(await result).toEqual({ written: 61, refused: [], error: null });
    expect(committer.committed.sort((a, b) => a - b)).toEqual([
      ...Array.from({ length: 60 }, (_, i) => i),
      100,
    ]);
    expect(progress).toMatchObject({ done: 61, gapsRemaining: 0 });
  });

  it("re-fetches the rest of a window when the client stops early", async () => {
    const log = new FakeLog();
    log.stopEarlyOnce = true;
    const { result, committer } = run(log, [{ start: 0, end: 20 }], 25, 1);
    expect((await result).error).toBeNull();
    expect(committer.committed).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(log.fetches).toEqual([
      [0, 20],
      [10, 20],
    ]);
  });

  it("reports ranges the log refuses for good and fails the log, keeping what it got", async () => {
    const log = new FakeLog();
    log.refuse = { start: 30, end: 40 };
    const { result, committer } = run(log, [{ start: 0, end: 50 }]);
    const r = await result;
    // The fake refuses whole pages (25-34 and 35-44 overlap 30-39), as a log refuses whole requests.
    expect(r.refused).toEqual([{ start: 25, end: 45 }]);
    expect(r.error).toBe("the log refused 20 entries for good");
    expect(r.written).toBe(30);
    expect(committer.committed).toHaveLength(30);
  });

  it("fails when the log serves nothing below the ingester position, and on a fetch error", async () => {
    const empty = new FakeLog();
    empty.serveNothingFrom = 25;
    const a = await run(empty, [{ start: 0, end: 50 }], 25, 1).result;
    expect(a.error).toBe("the log served nothing for 25-49 (below the ingester's position)");
    expect(a.written).toBe(25);

    const broken = new FakeLog();
    broken.failAt = 55;
    const b = run(broken, [{ start: 0, end: 100 }], 25, 1);
    const rb = await b.result;
    expect(rb.error).toBe("connection reset");
    expect(rb.written).toBe(50); // the windows before the failing one were committed, nothing after it
    expect(b.progress.gapsRemaining).toBe(1);
  });
});
