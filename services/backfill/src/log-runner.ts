import type { Logger } from "@certstream/log";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import { type IndexRange, normalizeRanges } from "./index-ranges.ts";
import type { BackfillClient, UnreachableGuard } from "./log-clients.ts";
import {
  backfillEntriesFetched,
  backfillParseFailures,
  backfillQueueDepth,
  backfillRemainingEntries,
  backfillWindowDuration,
  backfillWindows,
} from "./metrics.ts";
import type { LogProgress } from "./progress.ts";

/** Where a window's entries go: one transaction per call (BackfillProducer). */
export interface WindowCommitter {
  commit(logName: string, entries: readonly CertificateEntry[]): Promise<number>;
}

export interface LogRunInput {
  source: LogSource;
  client: BackfillClient;
  /** Windows to fill (aligned, at most window_size each), in index order. */
  windows: readonly IndexRange[];
  /** The gaps the windows were cut from (normalized), for "gaps remaining". */
  gaps: readonly IndexRange[];
  /** Windows in flight (fetching or waiting for their commit). */
  concurrency: number;
  producer: WindowCommitter;
  /** Aborted on job shutdown or when the guard gives the log up. */
  signal: AbortSignal;
  guard: UnreachableGuard;
  progress: LogProgress;
  logger: Logger;
}

export interface LogRunResult {
  written: number;
  /** Ranges the log refused for good (after the client's retries). */
  refused: IndexRange[];
  error: string | null;
}

/**
 * One log's fetcher: `concurrency` workers take windows in order, fetch each through the CT client (which paces
 * requests by the operator's budget and honours 429/503 Retry-After), parse with the live path's converter, and
 * hand the window to the log's transactional producer (one transaction per window). A worker takes its next window
 * only after its commit, so memory is bounded by concurrency × window size. The first error stops the log:
 * windows not committed are simply not written, and a re-run finds them missing again.
 */
export async function runLog(input: LogRunInput): Promise<LogRunResult> {
  const { source, client, producer, progress, logger } = input;
  const label = source.name;
  const refused: IndexRange[] = [];
  let written = 0;
  let error: string | null = null;
  let next = 0;
  const stop = new AbortController();
  const signal = AbortSignal.any([input.signal, stop.signal]);
  let remaining = input.windows.reduce((n, w) => n + (w.end - w.start), 0);
  // Windows left per gap: a gap is done when its last window is committed.
  const windowsLeft = input.gaps.map(() => 0);
  const gapOf = (w: IndexRange): number => {
    let lo = 0;
    let hi = input.gaps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (input.gaps[mid].start <= w.start) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const w of input.windows) if (input.gaps.length > 0) windowsLeft[gapOf(w)]++;
  backfillRemainingEntries.set({ log: label }, remaining);

  const fail = (err: unknown): void => {
    if (error === null) {
      error = input.guard.gaveUp ?? describe(err, input.signal);
      logger.error({ log: label, err: error }, "backfill of log failed; other logs go on");
    }
    stop.abort(err);
  };

  const worker = async (): Promise<void> => {
    while (!signal.aborted) {
      const w = input.windows[next++];
      if (!w) return;
      const t0 = performance.now();
      const entries: CertificateEntry[] = [];
      const windowRefused: IndexRange[] = [];
      try {
        // Items come in index order; a client may stop early (a static log's partial right-edge tile), so the
        // window is fetched again from where it stopped until it is covered, and fails if nothing comes.
        let cursor = w.start;
        while (cursor < w.end && !signal.aborted) {
          const from = cursor;
          for await (const item of client.client.fetch(cursor, w.end, { signal })) {
            if (item.kind === "gap") {
              windowRefused.push({ start: item.gap.start, end: item.gap.end });
              cursor = Math.max(cursor, item.gap.end);
              logger.warn(
                {
                  log: label,
                  start: item.gap.start,
                  end: item.gap.end,
                  reason: item.gap.reason,
                  detail: item.gap.detail,
                },
                "log refused entries for good; left as a gap",
              );
              continue;
            }
            const batch = item.entries as unknown[];
            const seen = Date.now() * 1000;
            for (const e of batch) {
              const entry = client.convert(source, e, seen);
              if (entry.parse_error) backfillParseFailures.inc({ log: label, kind: entry.parse_error.kind });
              entries.push(entry);
            }
            cursor = Math.max(cursor, item.start + batch.length);
            backfillEntriesFetched.inc({ log: label }, batch.length);
            backfillQueueDepth.inc({ log: label }, batch.length);
          }
          if (cursor === from && !signal.aborted)
            throw new Error(
              `the log served nothing for ${from}-${w.end - 1} (below the ingester's position)`,
            );
        }
        if (signal.aborted) throw signal.reason;
        const n = await producer.commit(label, entries);
        written += n;
        progress.done += n;
        remaining -= w.end - w.start;
        if (input.gaps.length > 0) {
          const g = gapOf(w);
          if (--windowsLeft[g] === 0) progress.gapsRemaining = Math.max(0, progress.gapsRemaining - 1);
        }
        backfillRemainingEntries.set({ log: label }, remaining);
        refused.push(...windowRefused);
        backfillWindows.inc({ log: label, outcome: windowRefused.length > 0 ? "refused" : "ok" });
      } catch (err) {
        backfillWindows.inc({ log: label, outcome: "failed" });
        fail(err);
        return;
      } finally {
        backfillQueueDepth.dec({ log: label }, entries.length);
        backfillWindowDuration.observe({ log: label }, (performance.now() - t0) / 1000);
      }
    }
  };

  await Promise.all(Array.from({ length: Math.max(1, input.concurrency) }, () => worker()));
  if (error === null && input.signal.aborted)
    error = input.guard.gaveUp ?? describe(input.signal.reason, input.signal);
  const merged = normalizeRanges(refused);
  if (error === null && merged.length > 0) {
    error = `the log refused ${merged.reduce((n, r) => n + r.end - r.start, 0)} entries for good`;
  }
  return { written, refused: merged, error };
}

function describe(err: unknown, jobSignal: AbortSignal): string {
  if (jobSignal.aborted) return `interrupted (${reasonText(jobSignal.reason)})`;
  return reasonText(err);
}

function reasonText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
