import type { CertificateEntry, LogSource } from "@certstream/schema";

export interface LogHead {
  treeSize: number;
  /** STH / checkpoint timestamp, ms (null when the log does not say). */
  timestamp: number | null;
}

/**
 * What a log watcher needs from a CT log: its head, and its entries already turned into CertificateEntry
 * (every index, parsed or not). Implemented over the libs/ct clients and parser by `ct-log-reader.ts`; tests may
 * implement it over anything that serves entries.
 */
export interface LogReader {
  readonly log: LogSource;
  head(signal: AbortSignal): Promise<LogHead>;
  /**
   * Entries [start, end) in index order, contiguous from `start`. It may return fewer than asked (a log serves
   * pages of its own size) but never skips an index; an empty array means "nothing yet, ask later".
   */
  entries(start: number, end: number, signal: AbortSignal): Promise<CertificateEntry[]>;
  /**
   * The newest failed attempt to reach the log, retried ones included (a read may retry for minutes before it
   * fails): how the watcher sees a stall while the read is still pending. Optional: readers that do not retry.
   */
  lastFailure?(): ReadFailure | null;
}

/** A failed attempt of a read: bounded reason, message, and when (ms since the epoch). */
export interface ReadFailure {
  reason: string;
  message: string;
  at: number;
}
