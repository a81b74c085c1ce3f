import type { Logger } from "@certstream/log";
import { describe, expect, it } from "vitest";
import {
  etaSeconds,
  formatCount,
  formatDuration,
  LogLineProgress,
  type LogProgress,
  RateMeter,
  renderProgressLine,
  TtyProgress,
} from "../src/progress.ts";
import { exitCodeFor, formatSummary, summarize } from "../src/summary.ts";

const running = (done: number, total: number): LogProgress => ({
  name: "argon2026h1",
  total,
  done,
  state: "running",
  gapsRemaining: 2,
});

describe("progress rendering", () => {
  it("formats durations, counts and ETAs", () => {
    expect(formatDuration(7)).toBe("0:07");
    expect(formatDuration(245)).toBe("4:05");
    expect(formatDuration(3723)).toBe("1:02:03");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("--:--");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1234)).toBe("1.2k");
    expect(formatCount(45_678)).toBe("46k");
    expect(formatCount(3_400_000)).toBe("3.4M");
    expect(etaSeconds({ total: 100, done: 40 }, 20)).toBe(3);
    expect(etaSeconds({ total: 100, done: 100 }, 0)).toBe(0);
    expect(etaSeconds({ total: 100, done: 10 }, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("measures the rate over a sliding window", () => {
    const m = new RateMeter(10_000);
    m.sample(0, 0);
    expect(m.rate()).toBe(0);
    m.sample(1000, 500);
    expect(m.rate()).toBe(500);
    for (let t = 2000; t <= 20_000; t += 1000) m.sample(t, 500); // stalled: the old progress leaves the window
    expect(m.rate()).toBe(0);
    m.sample(21_000, 600);
    expect(m.rate()).toBe(10);
  });

  it("renders a bar line with done/total, percent, rate and ETA within the width", () => {
    const line = renderProgressLine(running(2500, 10_000), 250, 100, 12);
    expect(line).toContain("argon2026h1 ");
    expect(line).toMatch(/\[#+\.+\]/);
    expect(line).toContain("2.5k/10k");
    expect(line).toContain("25%");
    expect(line).toContain("250/s ETA 0:30");
    expect(line.length).toBeLessThanOrEqual(100);
    expect(renderProgressLine({ ...running(10, 10), state: "completed" }, 0, 80, 12)).toMatch(/100% done$/);
    expect(
      renderProgressLine({ ...running(3, 10), state: "failed", error: "unreachable" }, 0, 80, 12),
    ).toContain("FAILED: unreachable");
    expect(renderProgressLine(running(0, 10), 0, 30, 12).length).toBeLessThanOrEqual(30);
  });

  it("a TTY gets bars redrawn in place, one line per log plus a total", () => {
    let written = "";
    let now = 0;
    const out = {
      columns: 100,
      write: (s: string) => {
        written += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const tty = new TtyProgress(out, () => now);
    const logs = [running(0, 100), { ...running(0, 50), name: "xenon2026h1" }];
    tty.render(logs);
    expect(written.split("\n").filter(Boolean)).toHaveLength(3);
    expect(written).not.toContain("\x1b[3A");
    now = 1000;
    logs[0].done = 50;
    tty.render(logs);
    expect(written).toContain("\x1b[3A"); // cursor back up over the 3 lines drawn before
    expect(written).toContain("total 50/150 entries");
  });

  it("otherwise logs one line per running log at most every interval", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = { info: (o: Record<string, unknown>) => lines.push(o) } as unknown as Logger;
    let now = 0;
    const p = new LogLineProgress(logger, 10_000, () => now);
    const logs = [running(0, 100), { ...running(100, 100), name: "done-log", state: "completed" as const }];
    p.render(logs);
    expect(lines).toHaveLength(1);
    now = 5000;
    logs[0].done = 50;
    p.render(logs);
    expect(lines).toHaveLength(1);
    now = 10_000;
    p.render(logs);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      log: "argon2026h1",
      done: 50,
      total: 100,
      gaps_remaining: 2,
      rate_per_sec: 5,
    });
    p.render(logs, true);
    expect(lines.slice(2).map((l) => l.log)).toEqual(["argon2026h1", "done-log"]);
  });
});

describe("summary", () => {
  it("counts records, completed and failed logs, and sets the exit code", () => {
    const ok = summarize(
      [
        {
          name: "a",
          id: "A",
          state: "completed",
          gaps: [{ start: 0, end: 10 }],
          missing: 10,
          written: 10,
          refused: [],
          verified: true,
        },
        {
          name: "b",
          id: "B",
          state: "completed",
          gaps: [],
          missing: 0,
          written: 0,
          refused: [],
          verified: null,
        },
      ],
      1500,
    );
    expect(exitCodeFor(ok)).toBe(0);
    expect(formatSummary(ok)).toContain(
      "backfill complete: 10 records written, 2/2 logs completed, 0 failed, elapsed 1.5 s",
    );
    expect(formatSummary(ok)).toContain("ok     a: 10/10 entries in 1 gap(s); verified in the table");
    const bad = summarize(
      [
        {
          name: "a",
          id: "A",
          state: "completed",
          gaps: [],
          missing: 0,
          written: 0,
          refused: [],
          verified: null,
        },
        {
          name: "c",
          id: "C",
          state: "failed",
          gaps: [{ start: 0, end: 5 }],
          missing: 5,
          written: 2,
          refused: [{ start: 3, end: 5 }],
          error: "the log refused 2 entries for good",
          verified: null,
        },
      ],
      10,
    );
    expect(exitCodeFor(bad)).toBe(1);
    expect(bad).toMatchObject({ recordsWritten: 2, completed: 1, failed: 1 });
    expect(formatSummary(bad)).toContain(
      "FAILED c: 2/5 entries in 1 gap(s); refused by the log: 3-4 — the log refused",
    );
  });
});
