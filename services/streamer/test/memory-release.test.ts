/** The streamer gives a burst's memory back once the load has fallen (src/memory-release.ts). */
import { describe, expect, it } from "vitest";
import { MemoryRelease, releaseV8Memory } from "../src/memory-release.ts";

const MiB = 1024 * 1024;

/** A MemoryRelease over a settable RSS, counting its releases (a release brings the RSS to `afterRelease`). */
function subject(o: { slackMiB?: number; minIntervalMs?: number; afterRelease?: number } = {}) {
  const state = { rss: 100 * MiB, releases: 0 };
  const release = new MemoryRelease(
    {
      slackBytes: (o.slackMiB ?? 32) * MiB,
      minIntervalMs: o.minIntervalMs ?? 30_000,
      rss: () => state.rss,
      release: () => {
        state.releases++;
        state.rss = o.afterRelease ?? 110 * MiB;
      },
    },
    0,
  );
  return { state, release };
}

describe("memory release policy", () => {
  it("keeps the memory while the load holds, gives it back once the delivery rate has fallen", () => {
    const { state, release } = subject();
    // Steady load (10k deliveries per 5 s tick), RSS grown by 100 MiB: the pages are in use, keep them.
    let delivered = 0;
    for (let t = 5_000; t <= 60_000; t += 5_000) {
      delivered += 10_000;
      state.rss = 200 * MiB;
      expect(release.check(t, delivered)).toBeNull();
    }
    // The clients leave: no delivery in the next tick.
    const done = release.check(65_000, delivered);
    expect(done).toMatchObject({ rssBefore: 200 * MiB, rssAfter: 110 * MiB });
    expect(state.releases).toBe(1);
    // The RSS after the release is the new baseline: quiet and flat, nothing more to do.
    for (let t = 70_000; t <= 200_000; t += 5_000) release.check(t, delivered);
    expect(state.releases).toBe(1);
  });

  it("does not release for growth within the slack, nor twice within the minimum interval", () => {
    const small = subject({ slackMiB: 32 });
    small.release.check(40_000, 50_000);
    small.state.rss += 20 * MiB; // grown, but less than the slack
    expect(small.release.check(45_000, 50_000)).toBeNull();

    const { state, release } = subject({ minIntervalMs: 30_000, afterRelease: 100 * MiB });
    release.check(30_000, 50_000);
    state.rss = 200 * MiB;
    expect(release.check(35_000, 50_000)).not.toBeNull(); // load fell, 35 s since start
    state.rss = 200 * MiB; // a second burst came and went at once
    release.check(40_000, 100_000);
    expect(release.check(45_000, 100_000)).toBeNull(); // 10 s after the last release: too soon
    expect(release.check(70_000, 100_000)).not.toBeNull();
    expect(state.releases).toBe(2);
  });
});

describe("releaseV8Memory", () => {
  it("unmaps the pages a grown heap left behind (an ordinary GC keeps them resident)", () => {
    const grow = () => {
      const keep: { a: number; b: string; c: number[] }[] = [];
      for (let i = 0; i < 900_000; i++) keep.push({ a: i, b: `x${i}`, c: [i, i] });
      return keep.length;
    };
    expect(grow()).toBe(900_000);
    const before = process.memoryUsage.rss();
    releaseV8Memory();
    const after = process.memoryUsage.rss();
    // ~110 MB of heap were grown for the garbage above; most of it goes back.
    expect(before - after).toBeGreaterThan(50 * MiB);
  });
});
