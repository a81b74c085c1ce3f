// TODO: import from "@certstream/ct" once its index exports the client types.

import { type CompactRange, entryTbsHash, type LogFetcher, leafHash } from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import type { LogClient, TreeHead } from "../../../libs/ct/src/log-range.ts";
import type { LogHead, LogReader, ReadFailure } from "./log-reader.ts";

/** Both libs/ct clients carry their fetcher, whose last failure shows retries in progress. */
type ClientWithFetcher<E> = LogClient<E> & { readonly fetcher?: Pick<LogFetcher, "lastFailure"> };

/** Error for a range the log refused for good: the watcher retries later and never skips it. */
export class LogRangeRefused extends Error {
  readonly start: number;
  readonly end: number;
  readonly reason: string;
  constructor(start: number, end: number, reason: string, detail: string) {
    super(`log refused entries ${start}..${end} (${reason}): ${detail}`);
    this.name = "LogRangeRefused";
    this.start = start;
    this.end = end;
    this.reason = reason;
  }
}

/**
 * A LogReader over a libs/ct client (RFC 6962 or static-ct-api) and the parser. A gap reported by the client
 * ends the read at the gap: the entries before it are returned (and committed); if the gap is first, the read
 * fails, so the watcher retries the same index later rather than leaving a hole in `entries`.
 */
export class CtLogReader<E extends { leafInput: Uint8Array }> implements LogReader {
  readonly log: LogSource;
  private readonly client: ClientWithFetcher<E>;
  private readonly convert: (log: LogSource, e: E, seenMicros: number) => CertificateEntry;

  constructor(
    log: LogSource,
    client: ClientWithFetcher<E>,
    convert: (log: LogSource, e: E, seenMicros: number) => CertificateEntry,
  ) {
    this.log = log;
    this.client = client;
    this.convert = convert;
  }

  async head(signal: AbortSignal): Promise<LogHead> {
    const h: TreeHead = await this.client.head(signal);
    return {
      treeSize: h.treeSize,
      timestamp: h.timestamp,
      rootHash: h.rootHash,
      signed: this.client.signsHeads === true,
    };
  }

  async compactRangeAt(
    index: number,
    leafHashValue: Uint8Array,
    head: LogHead,
    signal: AbortSignal,
  ): Promise<CompactRange | null> {
    if (!this.client.compactRangeAt || !head.rootHash) return null;
    const th: TreeHead = { treeSize: head.treeSize, timestamp: head.timestamp ?? 0, rootHash: head.rootHash };
    return this.client.compactRangeAt(index, leafHashValue, th, signal);
  }

  lastFailure(): ReadFailure | null {
    const f = this.client.fetcher?.lastFailure;
    return f ? { reason: f.kind, message: f.message, at: f.at } : null;
  }

  async entries(start: number, end: number, signal: AbortSignal): Promise<CertificateEntry[]> {
    const out: CertificateEntry[] = [];
    for await (const item of this.client.fetch(start, end, { signal })) {
      if (item.kind === "gap") {
        if (out.length === 0)
          throw new LogRangeRefused(item.gap.start, item.gap.end, item.gap.reason, item.gap.detail);
        break;
      }
      const seen = Date.now() * 1000;
      for (const e of item.entries) {
        const ce = this.convert(this.log, e, seen);
        // RFC 6962 leaf hash of the MerkleTreeLeaf as served: what the log's tree is built from.
        ce.leaf_hash = leafHash(e.leafInput);
        // The precert/final-certificate link: both share it (libs/ct tbs-hash.ts).
        ce.tbs_hash = ce.leaf ? entryTbsHash(ce.update_type, e.leafInput, ce.leaf_der) : null;
        out.push(ce);
      }
    }
    return out;
  }
}
