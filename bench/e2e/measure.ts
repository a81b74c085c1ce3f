/**
 * The figures of bench/e2e-latency.bench.ts: CPU time of named processes and of the whole machine between two
 * marks (/proc), quantiles, and the latency of sampled frames against the stand-in's publish times.
 */
import { readFileSync } from "node:fs";
import type { StandInLog } from "../../test/ct-standin/server.ts";
import { procStats } from "../soak/sampler.ts";

// /proc/<pid>/stat and /proc/stat count in USER_HZ ticks (100 per second on Linux).
const MS_PER_TICK = 10;

export interface CpuMark {
  at: number;
  /** utime + stime ticks per named process; null: it is gone. */
  ticks: Record<string, number | null>;
  machine: { busy: number; total: number };
}

export function cpuMark(pids: Record<string, number | null | undefined>): CpuMark {
  const ticks: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(pids))
    ticks[name] = pid ? (procStats(pid)?.cpuTicks ?? null) : null;
  // cpu  user nice system idle iowait irq softirq steal ...
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { at: Date.now(), ticks, machine: { busy: total - f[3] - f[4], total } };
}

/** CPU time of `name` between the marks, in ms; null when it was not measurable at both. */
export function cpuMs(a: CpuMark, b: CpuMark, name: string): number | null {
  const x = a.ticks[name];
  const y = b.ticks[name];
  return x === null || y === null || x === undefined || y === undefined ? null : (y - x) * MS_PER_TICK;
}

/** Share of one core `name` used between the marks (1 = a whole core). */
export function coreShare(a: CpuMark, b: CpuMark, name: string): number | null {
  const ms = cpuMs(a, b, name);
  return ms === null ? null : ms / (b.at - a.at);
}

/** Share of all cores busy between the marks. */
export function machineBusy(a: CpuMark, b: CpuMark): number {
  const total = b.machine.total - a.machine.total;
  return total > 0 ? (b.machine.busy - a.machine.busy) / total : 0;
}

/** RSS of a process in MB; null when it is gone. */
export function rssMb(pid: number | null | undefined): number | null {
  const s = pid ? procStats(pid) : null;
  return s ? Math.round(s.rssBytes / 1024 / 1024) : null;
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function distribution(xs: number[]): Distribution {
  const s = Float64Array.from(xs).sort();
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: quantile(s, 1) };
}

export interface Latencies {
  /** Client receive − publish (the first checkpoint / STH served that covers the entry): what users feel. */
  fromPublish: Distribution;
  /** Client receive − the entry's timestamp (when the stand-in appended it; before any tree head shows it). */
  fromAppend: Distribution;
  /** The ingester's `seen` − publish: polling and fetching. */
  publishToSeen: Distribution;
  /** Client receive − `seen`: parse, Kafka transaction, dedup, streamer, the socket. */
  seenToClient: Distribution;
  /** fromPublish of the second half of the window's entries only: past the start-up transient. */
  fromPublishSecondHalf: Distribution;
  /** Sampled frames of an entry no served tree head covered (should be none). */
  unpublished: number;
}

/**
 * Latencies of flattened samples (cert_index, receive ms, seen ms, submission ms) of stand-in `log`, whose
 * window's entries are [from, to).
 */
export function latencies(samples: number[][], log: StandInLog, from: number, to: number): Latencies {
  const half = from + Math.floor((to - from) / 2);
  const fromPublish: number[] = [];
  const secondHalf: number[] = [];
  const fromAppend: number[] = [];
  const publishToSeen: number[] = [];
  const seenToClient: number[] = [];
  let unpublished = 0;
  for (const flat of samples) {
    for (let i = 0; i + 3 < flat.length; i += 4) {
      const [index, recv, seen, submitted] = [flat[i], flat[i + 1], flat[i + 2], flat[i + 3]];
      const pub = log.publishedAt(index);
      fromAppend.push(recv - submitted);
      seenToClient.push(recv - seen);
      if (pub === null) {
        unpublished++;
        continue;
      }
      fromPublish.push(recv - pub);
      if (index >= half) secondHalf.push(recv - pub);
      publishToSeen.push(seen - pub);
    }
  }
  return {
    fromPublish: distribution(fromPublish),
    fromPublishSecondHalf: distribution(secondHalf),
    fromAppend: distribution(fromAppend),
    publishToSeen: distribution(publishToSeen),
    seenToClient: distribution(seenToClient),
    unpublished,
  };
}

/** Sums string-keyed counts. */
export function mergeCounts(maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}
