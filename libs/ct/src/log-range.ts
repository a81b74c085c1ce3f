import type { CompactRange } from "./compact-range.ts";

// What the clients hand to the ingester for a range of a log: ordered batches of entries, and gaps. A gap is a
// range the log refused for good (after retries); it is reported, never skipped silently, so the ingester can
// record it and the backfill can try again later.

export interface LogGap {
  /** Log name. */
  log: string;
  /** First index of the gap. */
  start: number;
  /** One past the last index of the gap. */
  end: number;
  /** Bounded reason (FetchErrorKind, or a tile/leaf decoding reason) and detail. */
  reason: string;
  detail: string;
}

export interface EntryBatch<E> {
  kind: "entries";
  /** Index of entries[0]; entries are consecutive. */
  start: number;
  entries: E[];
}

export interface GapItem {
  kind: "gap";
  gap: LogGap;
}

/** Items come strictly in index order: batch.start, or gap.start, equals the end of the previous item. */
export type LogRangeItem<E> = EntryBatch<E> | GapItem;

export interface TreeHead {
  treeSize: number;
  timestamp: number;
  rootHash: Uint8Array;
}

/** What the RFC 6962 and static-ct-api clients have in common. */
export interface LogClient<E> {
  /** Newest verified tree head (signature checked when the key is known; consistent with the previous one). */
  head(signal?: AbortSignal): Promise<TreeHead>;
  /** Entries [start, end) in index order, as batches and gaps. Stop by breaking out or aborting the signal. */
  fetch(start: number, end: number, opts?: { signal?: AbortSignal }): AsyncGenerator<LogRangeItem<E>>;
  /** True when head() verifies signatures (the log's key is known). Absent: it does not. */
  readonly signsHeads?: boolean;
  /**
   * The compact range [0, index) of the tree of `head` (an RFC 6962 audit path, or static-ct-api hash tiles),
   * where the entry at `index` has the leaf hash given; null when the log's answer does not verify. Absent:
   * the client cannot seed a range (its log is verified only from index 0).
   */
  compactRangeAt?(
    index: number,
    leafHashValue: Uint8Array,
    head: TreeHead,
    signal?: AbortSignal,
  ): Promise<CompactRange | null>;
}
