import { decodeBase64Strict } from "./base64.ts";
import { CompactRange } from "./compact-range.ts";
import type { RawLogEntry } from "./entry.ts";
import { CtFetchError } from "./fetch-error.ts";
import { LogFetcher, type LogFetcherOptions } from "./log-fetcher.ts";
import type { LogKey } from "./log-key.ts";
import type { EntryBatch, LogClient, LogGap, LogRangeItem, TreeHead } from "./log-range.ts";
import { verifyConsistencyProof } from "./merkle-proof.ts";
import { ctFetchErrors, ctGaps, ctTreeSize } from "./metrics.ts";
import {
  AUDIT_PATH_MAX_BYTES,
  CONSISTENCY_PROOF_MAX_BYTES,
  getEntriesMaxBytes,
  STH_MAX_BYTES,
} from "./response-limits.ts";
import { parseSignedTreeHead, type SignedTreeHead, verifySignedTreeHead } from "./signed-tree-head.ts";

// RFC 6962 §4 read API: get-sth (§4.3), get-sth-consistency (§4.4), get-proof-by-hash (§4.5), get-entries (§4.6).

export interface RfcLogClientOptions extends Omit<LogFetcherOptions, "log" | "operator"> {
  /** Log name (metrics, errors, gaps). */
  name: string;
  /** Base URL; "ct/v1/..." is appended. A missing trailing slash is added. */
  url: string;
  operator?: string;
  /** The log's key: STH signatures are verified when present. */
  key?: LogKey | null;
  /** Entries asked for per get-entries request before the log's real page size is known (`ct_log.batch_size`). */
  batchSize?: number;
  /** get-entries windows in flight (`ct_log.fetch_concurrency`). */
  fetchConcurrency?: number;
  /** A tree head verified earlier (e.g. persisted by the ingester): the next head must be consistent with it. */
  trustedHead?: SignedTreeHead;
  /** Check consistency between successive STHs with get-sth-consistency. Default true. */
  checkConsistency?: boolean;
  /** Reuse an existing fetcher (shares its health/breaker) instead of building one. */
  fetcher?: LogFetcher;
}

function base64Field(value: unknown, what: string): Uint8Array {
  const bytes = decodeBase64Strict(value);
  if (bytes === null) throw new Error(`${what} is not base64`);
  return bytes;
}

export class RfcLogClient implements LogClient<RawLogEntry> {
  readonly name: string;
  readonly url: string;
  readonly fetcher: LogFetcher;
  readonly #key: LogKey | null;
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #checkConsistency: boolean;
  #head: SignedTreeHead | undefined;
  #pageSize: number | undefined;

  constructor(opts: RfcLogClientOptions) {
    this.name = opts.name;
    this.url = opts.url.endsWith("/") ? opts.url : `${opts.url}/`;
    this.fetcher =
      opts.fetcher ?? new LogFetcher({ ...opts, log: opts.name, operator: opts.operator ?? "unknown" });
    this.#key = opts.key ?? null;
    this.#batchSize = Math.max(1, opts.batchSize ?? 256);
    this.#concurrency = Math.max(1, opts.fetchConcurrency ?? 4);
    this.#checkConsistency = opts.checkConsistency ?? true;
    this.#head = opts.trustedHead;
  }

  /** The newest STH accepted by head(), if any. */
  get lastHead(): SignedTreeHead | undefined {
    return this.#head;
  }

  /** The log's page size as learned from get-entries responses (undefined until the first response). */
  get pageSize(): number | undefined {
    return this.#pageSize;
  }

  /**
   * get-sth, verified: signature (when the key is known), no rollback below an accepted size, and consistency
   * with the previous accepted STH. Throws CtFetchError (bad_signature, rollback, inconsistent, refused, aborted).
   */
  async head(signal?: AbortSignal): Promise<SignedTreeHead> {
    const sth = await this.fetcher.get(
      `${this.url}ct/v1/get-sth`,
      { endpoint: "get-sth", signal, maxBytes: STH_MAX_BYTES },
      ({ body }) => {
        const parsed = parseSignedTreeHead(Buffer.from(body).toString("utf8"));
        if (this.#key && !verifySignedTreeHead(parsed, this.#key)) {
          ctFetchErrors.inc({ log: this.name, kind: "bad_signature" });
          throw new CtFetchError(
            "bad_signature",
            this.name,
            `get-sth: signature does not verify (tree_size ${parsed.treeSize})`,
          );
        }
        return parsed;
      },
    );
    const prev = this.#head;
    if (prev) {
      if (sth.treeSize < prev.treeSize) {
        ctFetchErrors.inc({ log: this.name, kind: "rollback" });
        throw new CtFetchError(
          "rollback",
          this.name,
          `get-sth: tree_size ${sth.treeSize} is below the accepted ${prev.treeSize}`,
        );
      }
      if (sth.treeSize === prev.treeSize) {
        if (Buffer.compare(sth.rootHash, prev.rootHash) !== 0) {
          ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
          throw new CtFetchError(
            "inconsistent",
            this.name,
            `get-sth: two different roots for tree_size ${sth.treeSize}`,
          );
        }
      } else if (this.#checkConsistency && prev.treeSize > 0) {
        await this.#checkConsistent(prev, sth, signal);
      }
    }
    if (!prev || sth.treeSize > prev.treeSize || sth.timestamp > prev.timestamp) this.#head = sth;
    ctTreeSize.set({ log: this.name }, sth.treeSize);
    return sth;
  }

  async #checkConsistent(prev: SignedTreeHead, next: SignedTreeHead, signal?: AbortSignal): Promise<void> {
    const url = `${this.url}ct/v1/get-sth-consistency?first=${prev.treeSize}&second=${next.treeSize}`;
    const opts = { endpoint: "get-sth-consistency", signal, maxBytes: CONSISTENCY_PROOF_MAX_BYTES };
    const proof = await this.fetcher.get(url, opts, ({ body }) => {
      const json = JSON.parse(Buffer.from(body).toString("utf8")) as { consistency?: unknown };
      if (!Array.isArray(json.consistency)) throw new Error("get-sth-consistency: no consistency array");
      return json.consistency.map((h, i) => {
        const b = base64Field(h, `consistency[${i}]`);
        if (b.length !== 32) throw new Error(`consistency[${i}] is not 32 bytes`);
        return b;
      });
    });
    if (!verifyConsistencyProof(prev.treeSize, next.treeSize, prev.rootHash, next.rootHash, proof)) {
      ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
      throw new CtFetchError(
        "inconsistent",
        this.name,
        `get-sth-consistency: proof from ${prev.treeSize} to ${next.treeSize} does not verify: the log is not append-only`,
      );
    }
  }

  /** True when head() verifies signatures (the log's key is known): only such heads can verify entries. */
  get signsHeads(): boolean {
    return this.#key !== null;
  }

  /**
   * The compact range [0, index) of the tree of `head`, from one get-proof-by-hash (RFC 6962 §4.5) for the
   * entry at `index` whose leaf hash is `leafHashValue`: the audit path's left siblings, once the path verifies
   * against the head's root. Null when the log answers with another index or a path that does not verify
   * (counted as inconsistent); throws CtFetchError when the request fails.
   */
  async compactRangeAt(
    index: number,
    leafHashValue: Uint8Array,
    head: TreeHead,
    signal?: AbortSignal,
  ): Promise<CompactRange | null> {
    if (index === 0) return CompactRange.empty();
    const hash = encodeURIComponent(Buffer.from(leafHashValue).toString("base64"));
    const url = `${this.url}ct/v1/get-proof-by-hash?hash=${hash}&tree_size=${head.treeSize}`;
    const opts = { endpoint: "get-proof-by-hash", signal, maxBytes: AUDIT_PATH_MAX_BYTES };
    const { leafIndex, auditPath } = await this.fetcher.get(url, opts, ({ body }) => {
      const json = JSON.parse(Buffer.from(body).toString("utf8")) as {
        leaf_index?: unknown;
        audit_path?: unknown;
      };
      if (typeof json.leaf_index !== "number" || !Number.isSafeInteger(json.leaf_index))
        throw new Error("get-proof-by-hash: leaf_index is not an integer");
      if (!Array.isArray(json.audit_path)) throw new Error("get-proof-by-hash: no audit_path array");
      const path = json.audit_path.map((h, i) => {
        const b = base64Field(h, `audit_path[${i}]`);
        if (b.length !== 32) throw new Error(`audit_path[${i}] is not 32 bytes`);
        return b;
      });
      return { leafIndex: json.leaf_index, auditPath: path };
    });
    // The same certificate may be logged twice: the log may answer with the other index. Not this entry's path.
    if (leafIndex !== index) return null;
    const range = CompactRange.fromInclusionProof(
      index,
      head.treeSize,
      leafHashValue,
      auditPath,
      head.rootHash,
    );
    if (!range) ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
    return range;
  }

  /** One get-entries request for [start, end) (end exclusive); returns 1..(end-start) entries or throws. */
  async getEntries(start: number, end: number, signal?: AbortSignal): Promise<RawLogEntry[]> {
    const url = `${this.url}ct/v1/get-entries?start=${start}&end=${end - 1}`;
    const opts = { endpoint: "get-entries", signal, maxBytes: getEntriesMaxBytes(end - start) };
    return this.fetcher.get(url, opts, ({ body }) => {
      const json = JSON.parse(Buffer.from(body).toString("utf8")) as { entries?: unknown };
      if (!Array.isArray(json.entries)) throw new Error("get-entries: no entries array");
      if (json.entries.length === 0) throw new Error(`get-entries: empty page for ${start}-${end - 1}`);
      // A log must not return more than asked; anything beyond is ignored, never attributed to wrong indexes.
      const n = Math.min(json.entries.length, end - start);
      const out: RawLogEntry[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const e = json.entries[i] as { leaf_input?: unknown; extra_data?: unknown } | null;
        out[i] = {
          index: start + i,
          leafInput: base64Field(e?.leaf_input, `entries[${i}].leaf_input`),
          extraData: base64Field(e?.extra_data, `entries[${i}].extra_data`),
        };
      }
      return out;
    });
  }

  /**
   * Entries [start, end) in strict index order: up to fetchConcurrency windows of one page each are in flight;
   * a short page is completed by asking for the rest. Transient failures are retried until `signal` aborts; a
   * range the log refuses for good comes out as a gap item, narrowed down by bisection to the entries that are
   * actually refused.
   */
  async *fetch(
    start: number,
    end: number,
    opts: { signal?: AbortSignal } = {},
  ): AsyncGenerator<LogRangeItem<RawLogEntry>> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end)) || start < 0)
      throw new RangeError(`bad range ${start}-${end}`);
    if (this.#head && end > this.#head.treeSize) {
      throw new RangeError(`fetch end ${end} beyond the accepted tree size ${this.#head.treeSize}`);
    }
    if (start >= end) return;
    const inner = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, inner.signal]) : inner.signal;
    const inflight: Promise<LogRangeItem<RawLogEntry>[]>[] = [];
    try {
      // The first window (batch_size entries) goes alone: its responses teach or refresh the page size used for
      // the others. Logs that cut pages at internal boundaries answer a first short page up to the boundary,
      // then full ones, so a whole batch shows the real size even when a smaller one was learnt before.
      const first = Math.min(end, start + this.#batchSize);
      let next = first;
      for (const item of await this.#window(start, first, signal)) yield item;
      while (next < end || inflight.length > 0) {
        while (inflight.length < this.#concurrency && next < end) {
          const s = next;
          const e = this.#windowEnd(s, end);
          next = e;
          const p = this.#window(s, e, signal);
          p.catch(() => undefined); // observed below; avoid an unhandled rejection if we are abandoned first
          inflight.push(p);
        }
        const items = await (inflight.shift() as Promise<LogRangeItem<RawLogEntry>[]>);
        for (const item of items) yield item;
      }
    } finally {
      inner.abort(new CtFetchError("aborted", this.name, "fetch stopped"));
      await Promise.allSettled(inflight);
    }
  }

  /** All of [start, end): entries as they arrive (short pages completed), gaps for what is refused for good. */
  async #window(start: number, end: number, signal: AbortSignal): Promise<LogRangeItem<RawLogEntry>[]> {
    const items: LogRangeItem<RawLogEntry>[] = [];
    let batch: EntryBatch<RawLogEntry> | null = null;
    let cursor = start;
    const pushGap = (gap: LogGap) => {
      batch = null;
      ctGaps.inc({ log: this.name }, gap.end - gap.start);
      items.push({ kind: "gap", gap });
    };
    while (cursor < end) {
      try {
        const entries = await this.getEntries(cursor, end, signal);
        this.#learnPageSize(entries.length, end - cursor);
        if (batch === null) {
          batch = { kind: "entries", start: cursor, entries: [] };
          items.push(batch);
        }
        for (const e of entries) (batch as EntryBatch<RawLogEntry>).entries.push(e);
        cursor += entries.length;
      } catch (err) {
        if (!(err instanceof CtFetchError) || err.kind === "aborted") throw err;
        // Not a compression bomb: its bound shrinks with the page, so a smaller page would be refused alike.
        if (
          (err.kind === "bad_response" || err.kind === "refused" || err.kind === "too_large") &&
          end - cursor > 1
        ) {
          // The log refuses or garbles something in this range: halve it to find exactly which entries, so
          // the gap covers only those and the rest is delivered.
          const mid = cursor + Math.floor((end - cursor) / 2);
          for (const [s, e] of [
            [cursor, mid],
            [mid, end],
          ]) {
            for (const item of await this.#window(s, e, signal)) {
              if (item.kind === "gap") {
                batch = null; // already counted by the inner window
                const last = items[items.length - 1];
                // Adjacent refused halves are one gap.
                if (
                  last?.kind === "gap" &&
                  last.gap.end === item.gap.start &&
                  last.gap.reason === item.gap.reason
                ) {
                  last.gap.end = item.gap.end;
                } else items.push(item);
              } else if (batch !== null)
                for (const x of item.entries) (batch as EntryBatch<RawLogEntry>).entries.push(x);
              else {
                batch = item;
                items.push(item);
              }
            }
          }
          return items;
        }
        pushGap({ log: this.name, start: cursor, end, reason: err.kind, detail: err.message });
        return items;
      }
    }
    return items;
  }

  /**
   * A page shorter than asked shows the log's cap (logs may also cut pages at their internal boundaries, so the
   * largest short page seen wins). A full page of batch_size shows batch_size works.
   */
  #learnPageSize(got: number, asked: number): void {
    const known = this.#pageSize ?? 0;
    if (got < asked) this.#pageSize = Math.max(known, got);
    else if (asked >= this.#batchSize || (this.#pageSize !== undefined && got > known)) {
      this.#pageSize = Math.min(this.#batchSize, Math.max(known, got));
    }
  }

  /** End of the window starting at s: page-aligned once the page size is known, so pages are not cut in two. */
  #windowEnd(s: number, end: number): number {
    const ps = this.#pageSize ?? this.#batchSize;
    return Math.min(end, (Math.floor(s / ps) + 1) * ps);
  }
}
