/**
 * The soak's goals turned into figures and verdicts: RSS flat after warm-up (median of the second quarter
 * against the last quarter, per service), lag back within a minute of each fault, and the summary table.
 */
import type { Sample } from "./sampler.ts";

/** A sample taken less than this after its process (re)started is warm-up, left out of the RSS comparison. */
export const WARM_UP_MS = 60_000;
export const RSS_TOLERANCE = 0.1;
export const RECOVERY_GOAL_S = 60;

export interface Goal {
  goal: string;
  figure: string;
  pass: boolean | null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The warm RSS samples (MB, in time order) of the longest-lived process of `service`: a service killed and
 * restarted is compared within one process life, not old process against new.
 */
function warmRssOfLongestLife(samples: Sample[], service: string): number[] {
  const byPid = new Map<number, number[]>();
  for (const s of samples) {
    const v = s.services[service];
    if (!v || v.pid === null || v.rssMb === null || v.upMs < WARM_UP_MS) continue;
    const list = byPid.get(v.pid) ?? [];
    list.push(v.rssMb);
    byPid.set(v.pid, list);
  }
  return [...byPid.values()].reduce((best, l) => (l.length > best.length ? l : best), [] as number[]);
}

/**
 * RSS flat within ±10 % after warm-up: over the warm samples of the longest-lived process, the median of the
 * last quarter against the median of the second quarter.
 */
export function rssGoal(samples: Sample[], service: string): Goal {
  const rss = warmRssOfLongestLife(samples, service);
  const q = (from: number, to: number) =>
    median(rss.slice(Math.floor(from * rss.length), Math.floor(to * rss.length)));
  const q2 = q(0.25, 0.5);
  const q4 = q(0.75, 1);
  const goal = `RSS flat ±10 % (${service})`;
  if (rss.length < 4 || q2 === null || q4 === null)
    return { goal, figure: `n/a: ${rss.length} warm samples of one process`, pass: null };
  const change = q4 / q2 - 1;
  const figure =
    `Q2 median ${q2.toFixed(0)} MB, Q4 median ${q4.toFixed(0)} MB (${(change * 100).toFixed(1)} %; ` +
    `one process, ${rss.length} warm samples)`;
  return { goal, figure, pass: Math.abs(change) <= RSS_TOLERANCE };
}

export interface Recovery {
  kind: string;
  target: string;
  /** Seconds from the fault's end (victim restarted) until lag and backlog were back; null: not in 120 s. */
  recoveredS: number | null;
}

export function recoveryGoal(recoveries: Recovery[]): Goal {
  const worst = recoveries.reduce((m, r) => Math.max(m, r.recoveredS ?? Number.POSITIVE_INFINITY), 0);
  const late = recoveries.filter((r) => r.recoveredS === null || r.recoveredS > RECOVERY_GOAL_S);
  return {
    goal: "lag back within 60 s of each fault",
    figure: `${recoveries.length} faults, worst ${Number.isFinite(worst) ? `${worst.toFixed(0)} s` : "never"}, ${late.length} late`,
    pass: late.length === 0,
  };
}

export function countGoal(goal: string, n: number, detail = ""): Goal {
  return { goal, figure: `${n}${detail ? ` (${detail})` : ""}`, pass: n === 0 };
}

/** Mean and max of a figure over the samples (nulls left out). */
export function meanMax(xs: (number | null)[]): { mean: number; max: number } {
  const v = xs.filter((x): x is number => x !== null);
  if (v.length === 0) return { mean: 0, max: 0 };
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
}

/** The figures of the samples, per service and overall. */
export function sampleTable(samples: Sample[], services: string[]): string[][] {
  const rows: string[][] = [["figure", "mean", "max"]];
  for (const name of services) {
    const rss = meanMax(samples.map((s) => s.services[name]?.rssMb ?? null));
    const cpu = meanMax(samples.map((s) => s.services[name]?.cpuPct ?? null));
    rows.push([`${name} RSS MB`, rss.mean.toFixed(0), rss.max.toFixed(0)]);
    rows.push([`${name} CPU % of a core`, cpu.mean.toFixed(1), cpu.max.toFixed(1)]);
  }
  const dedup = meanMax(samples.map((s) => s.lag.dedup));
  const sink = meanMax(samples.map((s) => s.lag.sink));
  const dps = meanMax(samples.map((s) => s.deliveriesPerSec));
  rows.push(["dedup group lag (messages)", dedup.mean.toFixed(0), dedup.max.toFixed(0)]);
  rows.push(["delta-sink group lag (messages)", sink.mean.toFixed(0), sink.max.toFixed(0)]);
  rows.push(["deliveries/s to clients", dps.mean.toFixed(0), dps.max.toFixed(0)]);
  return rows;
}

export function goalRows(goals: Goal[]): string[][] {
  return [
    ["goal", "figure", "verdict"],
    ...goals.map((g) => [g.goal, g.figure, g.pass === null ? "n/a" : g.pass ? "PASS" : "FAIL"]),
  ];
}

/** A plain-text table with aligned columns. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n");
}
