import type { CompactRange } from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";

export interface LogHead {
  treeSize: number;
  /** STH / checkpoint timestamp, ms (null when the log does not say). */
  timestamp: number | null;
  /** The head's root hash (absent from readers that do not know it: nothing is verified then). */
  rootHash?: Uint8Array | null;
  /** True when the head's signature was verified with the log's key: only such heads verify entries. */
  signed?: boolean;
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
  /**
   * The compact range [0, index) of the tree of `head`, the entry at `index` having `leafHash` (an audit path,
   * or hash tiles); null when the log's answer does not verify. Optional: without it a log started past index 0
   * is not verified.
   */
  compactRangeAt?(
    index: number,
    leafHash: Uint8Array,
    head: LogHead,
    signal: AbortSignal,
  ): Promise<CompactRange | null>;
}

/** A failed attempt of a read: bounded reason, message, and when (ms since the epoch). */
export interface ReadFailure {
  reason: string;
  message: string;
  at: number;
}
