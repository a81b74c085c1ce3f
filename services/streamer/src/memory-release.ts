/**
 * Gives the memory of a burst back to the system once the load has fallen.
 *
 * V8 keeps the pages its heap grew into under a burst: after an ordinary GC they are free but still resident, in
 * its page pool, and nothing empties the pool while the process is quiet (its memory reducer waits for
 * allocations). Measured with the burst bench: 1000 clients through bursts, then gone: V8's heap 30 MB, RSS still
 * 197 MB, 367 pooled 256 KiB pages resident; a "last resort" GC (the one V8 runs on a low-memory notification)
 * unmaps them. That GC stops the event loop for a while (478 ms for 200 -> 113 MB in the e2e bench on a machine
 * at full load, after 1000 clients had left), so it runs only when it pays: the RSS has
 * grown past `slackBytes` since the last release, the delivery rate has fallen below a quarter of its peak
 * since then (clients left, or a burst is over), and `minIntervalMs` has passed.
 */
import v8 from "node:v8";
import vm from "node:vm";

export interface MemoryReleaseOptions {
  /** RSS growth since the last release (or start) worth a release. */
  slackBytes: number;
  /** The shortest time between two releases. */
  minIntervalMs: number;
  rss: () => number;
  /** Runs the memory-releasing GC. */
  release: () => void;
}

export interface ReleaseOutcome {
  rssBefore: number;
  rssAfter: number;
  ms: number;
}

/** A delivery rate below this share of the peak since the last release means the load has fallen. */
const FALLEN_SHARE = 0.25;

export class MemoryRelease {
  private readonly o: MemoryReleaseOptions;
  private baseline: number;
  private lastReleaseAt: number;
  private peakRate = 0;
  private last: { at: number; delivered: number } | null = null;

  constructor(o: MemoryReleaseOptions, now: number) {
    this.o = o;
    this.baseline = o.rss();
    this.lastReleaseAt = now;
  }

  /**
   * Called periodically with the deliveries made so far (a counter); releases when it pays. Returns what the
   * release did, or null when there was none.
   */
  check(now: number, deliveredTotal: number): ReleaseOutcome | null {
    const prev = this.last;
    this.last = { at: now, delivered: deliveredTotal };
    if (prev === null || now <= prev.at) return null;
    const rate = ((deliveredTotal - prev.delivered) * 1000) / (now - prev.at);
    this.peakRate = Math.max(this.peakRate, rate);
    const rss = this.o.rss();
    if (!this.shouldRelease(now, rate, rss)) return null;
    const t0 = performance.now();
    this.o.release();
    const after = this.o.rss();
    this.baseline = after;
    this.lastReleaseAt = now;
    this.peakRate = rate;
    return { rssBefore: rss, rssAfter: after, ms: performance.now() - t0 };
  }

  private shouldRelease(now: number, rate: number, rss: number): boolean {
    return (
      rss - this.baseline > this.o.slackBytes &&
      now - this.lastReleaseAt >= this.o.minIntervalMs &&
      rate <= this.peakRate * FALLEN_SHARE
    );
  }
}

let lastResortGc: ((options: object) => void) | null = null;

/**
 * V8's "last resort" full GC, which also unmaps its pooled pages. Without --expose-gc the gc function is taken
 * from a fresh context after enabling the flag (global `gc` stays undefined for the rest of the program).
 */
export function releaseV8Memory(): void {
  if (lastResortGc === null) {
    v8.setFlagsFromString("--expose-gc");
    lastResortGc = vm.runInNewContext("gc") as (options: object) => void;
  }
  lastResortGc({ type: "major", execution: "sync", flavor: "last-resort" });
}
