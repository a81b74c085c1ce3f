import { CtFetchError } from "@certstream/ct";
import { failureKind } from "@certstream/metrics";
import { LogRangeRefused } from "./ct-log-reader.ts";

/**
 * A log that does not progress: reading it has been failing since `since`, at `index`. Shown in /api/logs, in
 * certstream_ingester_stalled_seconds (the stall alert reads it) and in one warning when it starts.
 */
export interface LogStall {
  /** When the first failure of this stall happened (ms since the epoch). */
  since: number;
  /** The index the log is stuck at (the next to write); null while the position is not known yet. */
  index: number | null;
  /** Bounded: the CT failure kind or gap reason (compression_bomb, leaf_index_mismatch, network, ...). */
  reason: string;
  /** What could not be read: the log's head (STH, checkpoint) or its entries. */
  read: "head" | "entries";
}

/**
 * A read still pending this long after a failed attempt in it is a stall. The CT clients retry inside a read
 * (without limit for network failures, up to a minute of backoff for refusals), so without this a log can stand
 * still for minutes while nothing reaches the watcher; a hiccup retried away within seconds is not a stall.
 */
export const STALL_AFTER_MS = 10_000;

/** How often a pending read is looked at (stall, and the lag/idle gauges the stall alert reads). */
export const STALL_CHECK_MS = 1_000;

/** The reason a read failed, from the bounded lists: the gap reason, the CT fetch kind, else the failure kind. */
export function stallReason(e: unknown): string {
  if (e instanceof LogRangeRefused) return e.reason;
  if (e instanceof CtFetchError) return e.kind;
  return failureKind(e);
}
