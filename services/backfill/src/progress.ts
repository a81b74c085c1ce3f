import type { Logger } from "@certstream/log";

/** One log's progress as the job tracks it. `done` counts entries produced (committed to the backfill topic). */
export interface LogProgress {
  name: string;
  total: number;
  done: number;
  state: "pending" | "running" | "completed" | "failed";
  /** Gap ranges not yet finished. */
  gapsRemaining: number;
  /** Why it failed, when it did. */
  error?: string;
}

/**
 * Entries per second over a sliding window of samples, so the rate and ETA follow what the log does now (a
 * Retry-After pause shows at once) rather than the average since the start.
 */
export class RateMeter {
  private readonly windowMs: number;
  private readonly samples: { t: number; v: number }[] = [];

  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  sample(now: number, value: number): void {
    this.samples.push({ t: now, v: value });
    while (this.samples.length > 2 && now - this.samples[1].t >= this.windowMs) this.samples.shift();
  }

  /** Per second; 0 until two samples at least 1 ms apart exist. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = b.t - a.t;
    return dt > 0 ? ((b.v - a.v) * 1000) / dt : 0;
  }
}

/** "1:02:03", "4:05", "0:07"; "--:--" when unknown. */
export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return "--:--";
  const s = Math.round(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

/** 999, 1.2k, 3.4M. */
export function formatCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
}

/** Seconds left at `rate`; Infinity when the rate is 0 and work remains. */
export function etaSeconds(p: Pick<LogProgress, "total" | "done">, rate: number): number {
  const left = p.total - p.done;
  if (left <= 0) return 0;
  return rate > 0 ? left / rate : Number.POSITIVE_INFINITY;
}

/** One terminal line: name, bar, done/total, percent, rate, ETA or final state. Fits `width` columns. */
export function renderProgressLine(p: LogProgress, rate: number, width: number, nameWidth: number): string {
  const name = p.name.length > nameWidth ? `${p.name.slice(0, nameWidth - 1)}…` : p.name.padEnd(nameWidth);
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  const counts = `${formatCount(p.done)}/${formatCount(p.total)}`.padStart(13);
  let tail: string;
  if (p.state === "completed") tail = "done";
  else if (p.state === "failed") tail = `FAILED: ${p.error ?? "unknown error"}`;
  else if (p.state === "pending") tail = "waiting";
  else tail = `${formatCount(rate).padStart(5)}/s ETA ${formatDuration(etaSeconds(p, rate))}`;
  const fixed = name.length + counts.length + pct.length + 6;
  const barWidth = Math.max(10, Math.min(40, width - fixed - Math.min(tail.length, 24)));
  const filled = Math.round(frac * barWidth);
  const bar = `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`;
  const line = `${name} ${bar} ${counts} ${pct} ${tail}`;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** Where progress goes: a TTY gets redrawn bars, anything else periodic JSON log lines. */
export interface ProgressSink {
  /** Redraws or logs; `final` forces output (at the end). */
  render(logs: readonly LogProgress[], final?: boolean): void;
  /** A one-line status before the bars exist (gap detection); replaced by the next status or the bars. */
  status?(text: string): void;
}

/** Bars redrawn in place (ANSI cursor-up + clear-line), at most one line per log plus a total line. */
export class TtyProgress implements ProgressSink {
  private readonly out: NodeJS.WriteStream;
  private readonly meters = new Map<string, RateMeter>();
  private readonly totalMeter = new RateMeter();
  private drawn = 0;
  private statusShown = false;
  private readonly now: () => number;

  constructor(out: NodeJS.WriteStream, now: () => number = Date.now) {
    this.out = out;
    this.now = now;
  }

  status(text: string): void {
    const width = Math.max(40, (this.out.columns || 100) - 1);
    this.out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.statusShown = true;
  }

  render(logs: readonly LogProgress[]): void {
    if (this.statusShown) {
      this.out.write("\r\x1b[2K");
      this.statusShown = false;
    }
    const t = this.now();
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const nameWidth = Math.min(28, Math.max(8, ...logs.map((l) => l.name.length)));
    const lines: string[] = [];
    let done = 0;
    let total = 0;
    for (const l of logs) {
      let m = this.meters.get(l.name);
      if (!m) {
        m = new RateMeter();
        this.meters.set(l.name, m);
      }
      m.sample(t, l.done);
      done += l.done;
      total += l.total;
      lines.push(renderProgressLine(l, m.rate(), width, nameWidth));
    }
    this.totalMeter.sample(t, done);
    const failed = logs.filter((l) => l.state === "failed").length;
    const completed = logs.filter((l) => l.state === "completed").length;
    lines.push(
      `total ${formatCount(done)}/${formatCount(total)} entries, ${formatCount(this.totalMeter.rate())}/s, ` +
        `${completed} completed, ${failed} failed, ${logs.length - completed - failed} running`,
    );
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    for (const line of lines) s += `\x1b[2K${line}\n`;
    this.out.write(s);
    this.drawn = lines.length;
  }
}

/** Periodic log lines (one per unfinished log) for pipes, files and container logs. */
export class LogLineProgress implements ProgressSink {
  private readonly log: Logger;
  private readonly meters = new Map<string, RateMeter>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private last = Number.NEGATIVE_INFINITY;

  constructor(log: Logger, intervalMs = 10_000, now: () => number = Date.now) {
    this.log = log;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  render(logs: readonly LogProgress[], final = false): void {
    const t = this.now();
    for (const l of logs) {
      let m = this.meters.get(l.name);
      if (!m) {
        m = new RateMeter(Math.max(this.intervalMs * 3, 10_000));
        this.meters.set(l.name, m);
      }
      m.sample(t, l.done);
    }
    if (!final && t - this.last < this.intervalMs) return;
    this.last = t;
    for (const l of logs) {
      if (l.state !== "running" && !final) continue;
      const rate = this.meters.get(l.name)?.rate() ?? 0;
      const eta = etaSeconds(l, rate);
      this.log.info(
        {
          log: l.name,
          state: l.state,
          done: l.done,
          total: l.total,
          gaps_remaining: l.gapsRemaining,
          rate_per_sec: Math.round(rate),
          eta_secs: Number.isFinite(eta) ? Math.round(eta) : null,
        },
        "backfill progress",
      );
    }
  }
}
