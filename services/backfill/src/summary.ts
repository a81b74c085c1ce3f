import { formatRanges, type IndexRange } from "./index-ranges.ts";

/** How one log's part of the run ended. */
export interface LogOutcome {
  name: string;
  id: string;
  state: "completed" | "failed";
  /** Gaps this run set out to fill. */
  gaps: IndexRange[];
  missing: number;
  /** Entries committed to the backfill topic by this run. */
  written: number;
  /** Ranges the log refused for good (HTTP 4xx after retries): produced nothing for them. */
  refused: IndexRange[];
  error?: string;
  /** With --wait: true when the table then held every gap index; null when not checked. */
  verified: boolean | null;
}

export interface BackfillSummary {
  logs: LogOutcome[];
  recordsWritten: number;
  completed: number;
  failed: number;
  elapsedMs: number;
}

export function summarize(logs: LogOutcome[], elapsedMs: number): BackfillSummary {
  const failed = logs.filter((l) => l.state === "failed").length;
  return {
    logs,
    recordsWritten: logs.reduce((n, l) => n + l.written, 0),
    completed: logs.length - failed,
    failed,
    elapsedMs,
  };
}

/** 0 when every log completed, 1 otherwise (2, bad arguments or config, is decided before any work). */
export function exitCodeFor(summary: BackfillSummary): 0 | 1 {
  return summary.failed === 0 ? 0 : 1;
}

/** The human-readable completion summary printed at the end (stdout). */
export function formatSummary(s: BackfillSummary): string {
  const lines = [
    `backfill ${s.failed === 0 ? "complete" : "finished with failures"}: ${s.recordsWritten} records written, ` +
      `${s.completed}/${s.logs.length} logs completed, ${s.failed} failed, elapsed ${(s.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const l of s.logs) {
    let line = `  ${l.state === "completed" ? "ok    " : "FAILED"} ${l.name}: ${l.written}/${l.missing} entries`;
    if (l.gaps.length > 0) line += ` in ${l.gaps.length} gap(s)`;
    if (l.refused.length > 0) line += `; refused by the log: ${formatRanges(l.refused, 5)}`;
    if (l.verified === true) line += "; verified in the table";
    if (l.verified === false) line += "; NOT all in the table after waiting";
    if (l.error) line += ` — ${l.error}`;
    lines.push(line);
  }
  return lines.join("\n");
}
