/**
 * What the soak measures: RSS and CPU of a process (from /proc), consumer lag of a group (committed offsets
 * against the high watermarks), and the 10-second sample that puts them together with client deliveries,
 * appended as one JSON line per sample.
 */
import { appendFileSync, readFileSync } from "node:fs";
import type { Admin } from "kafkajs";

// /proc/<pid>/stat counts CPU time in clock ticks: USER_HZ, 100 on Linux (getconf CLK_TCK).
const CLOCK_TICKS_PER_SEC = 100;

export interface ProcStats {
  rssBytes: number;
  /** utime + stime, in clock ticks since the process started. */
  cpuTicks: number;
}

/** RSS (VmRSS of /proc/<pid>/status) and CPU ticks (/proc/<pid>/stat fields 14 and 15); null once it is gone. */
export function procStats(pid: number): ProcStats | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { rssBytes: Number(rss?.[1] ?? 0) * 1024, cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** CPU use between two readings of the same process, in % of one core. */
export function cpuPercent(before: ProcStats, after: ProcStats, elapsedMs: number): number {
  const ticks = after.cpuTicks - before.cpuTicks;
  return elapsedMs > 0 ? (ticks / CLOCK_TICKS_PER_SEC / (elapsedMs / 1000)) * 100 : 0;
}

/**
 * Messages of `topics` that `groupId` has not committed: per partition, high watermark minus the committed
 * offset (the low watermark when the group has none). On a transactional topic the last offset is a commit
 * marker the group never commits past, so a drained group shows one per partition; see `lagTolerance`.
 */
export async function groupLag(admin: Admin, groupId: string, topics: string[]): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  let lag = 0;
  for (const t of committed) {
    const byPartition = new Map(t.partitions.map((p) => [p.partition, Number(p.offset)]));
    for (const end of await admin.fetchTopicOffsets(t.topic)) {
      const c = byPartition.get(end.partition) ?? -1;
      lag += Math.max(0, Number(end.high) - (c >= 0 ? c : Number(end.low)));
    }
  }
  return lag;
}

/** Rejects after `ms`: an admin call to a cluster with a broker just killed may hang for its retries. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface ServiceSample {
  pid: number | null;
  rssMb: number | null;
  cpuPct: number | null;
  /** ms since this process (re)started, to leave its warm-up out of the RSS comparison. */
  upMs: number;
}

export interface Sample {
  t: string;
  /** Seconds since the logs started growing. */
  elapsedS: number;
  services: Record<string, ServiceSample>;
  /** null: the admin call failed (a broker just killed). */
  lag: { dedup: number | null; sink: number | null };
  /** Entries the stand-in logs hold that the ingester has not committed yet; null: it did not answer. */
  backlog: number | null;
  deliveriesPerSec: number;
  droppedTotal: number;
  clientsConnected: number;
  clientReconnects: number;
}

/** Appends one sample as a JSON line. */
export function writeSample(path: string, s: Sample): void {
  appendFileSync(path, `${JSON.stringify(s)}\n`);
}
