import { createHash } from "node:crypto";
import { type Checkpoint, CheckpointError, parseCheckpoint } from "./checkpoint.ts";
import type { CompactRange } from "./compact-range.ts";
import type { DecodedEntry } from "./entry.ts";
import { CtFetchError } from "./fetch-error.ts";
import type { IssuerCache } from "./issuer-cache.ts";
import { LogFetcher, type LogFetcherOptions } from "./log-fetcher.ts";
import type { LogKey } from "./log-key.ts";
import type { EntryBatch, LogClient, LogGap, LogRangeItem, TreeHead } from "./log-range.ts";
import { leafHash } from "./merkle-hash.ts";
import { ctFetchErrors, ctGaps, ctTreeSize } from "./metrics.ts";
import {
  CHECKPOINT_MAX_BYTES,
  dataTileMaxBytes,
  hashTileMaxBytes,
  ISSUER_MAX_BYTES,
} from "./response-limits.ts";
import { TileHashes } from "./tile-hashes.ts";
import { readDataTile, type TileLeaf, TileLeafError } from "./tile-leaf.ts";
import { TILE_WIDTH, tilePath } from "./tile-path.ts";

// c2sp.org/static-ct-api monitoring client: checkpoint, data tiles, issuers, and (optionally) hash tiles.

/** One static-ct-api entry: the DecodedEntry plus what an archive needs when the certificate does not parse. */
export interface StaticLogEntry extends DecodedEntry {
  /** RFC 6962 MerkleTreeLeaf (v1, timestamped_entry) of this entry: its leaf hash is in the tree. */
  leafInput: Uint8Array;
  /** SHA-256 fingerprints of the submitted chain, as in the TileLeaf (chainDer has the resolved ones). */
  chainFingerprints: Uint8Array[];
  /** Issuers named in the TileLeaf that the log did not serve (chainDer lacks them). */
  missingIssuers: number;
}

export interface StaticLogClientOptions extends Omit<LogFetcherOptions, "log" | "operator"> {
  name: string;
  /** Monitoring prefix; a missing trailing slash is added. */
  url: string;
  /** Checkpoint origin line; default: the submission URL (or url) without scheme and trailing slash. */
  origin?: string;
  submissionUrl?: string;
  operator?: string;
  /** When present the checkpoint's RFC6962NoteSignature must verify with it. */
  key?: LogKey | null;
  /** The process-wide issuer cache (share one between all static logs). */
  issuers: IssuerCache;
  /** Data tiles in flight (`ct_log.fetch_concurrency`). */
  fetchConcurrency?: number;
  /** A partial data tile at the right edge is fetched only once it has been partial this long. Default 0. */
  partialTileWaitMs?: number;
  /** Check consistency of successive checkpoints and inclusion of every data tile with the hash tiles. */
  verifyMerkle?: boolean;
  /** A checkpoint accepted earlier (persisted by the ingester): the next must not roll back below it. */
  trustedHead?: Checkpoint;
  fetcher?: LogFetcher;
  /** Clock for the partial-tile wait (tests). */
  now?: () => number;
}

/** Decoded data tiles kept per client (a few MB at most). */
const RECENT_TILES = 4;

/** Origin line for a prefix: "https://rome.ct.example.com/2024h1/" → "rome.ct.example.com/2024h1". */
export function originOf(prefix: string): string {
  return prefix.replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
}

export class StaticLogClient implements LogClient<StaticLogEntry> {
  readonly name: string;
  readonly url: string;
  readonly origin: string;
  readonly fetcher: LogFetcher;
  readonly #key: LogKey | null;
  readonly #issuers: IssuerCache;
  readonly #concurrency: number;
  readonly #partialWaitMs: number;
  readonly #verifyMerkle: boolean;
  readonly #now: () => number;
  #head: Checkpoint | undefined;
  #hashes: TileHashes | undefined;
  readonly #recentTiles = new Map<string, Promise<TileLeaf[]>>();
  /** Tile index → when it was first seen partial at the right edge. */
  readonly #partialSince = new Map<number, number>();

  constructor(opts: StaticLogClientOptions) {
    this.name = opts.name;
    this.url = opts.url.endsWith("/") ? opts.url : `${opts.url}/`;
    this.origin = opts.origin ?? originOf(opts.submissionUrl ?? opts.url);
    this.fetcher =
      opts.fetcher ?? new LogFetcher({ ...opts, log: opts.name, operator: opts.operator ?? "unknown" });
    this.#key = opts.key ?? null;
    this.#issuers = opts.issuers;
    this.#concurrency = Math.max(1, opts.fetchConcurrency ?? 4);
    this.#partialWaitMs = opts.partialTileWaitMs ?? 0;
    this.#verifyMerkle = opts.verifyMerkle ?? false;
    this.#now = opts.now ?? Date.now;
    this.#head = opts.trustedHead;
  }

  get lastHead(): Checkpoint | undefined {
    return this.#head;
  }

  /**
   * The checkpoint: origin checked, signature verified when the key is known, no rollback, and (verifyMerkle)
   * consistent with the previous one through the hash tiles. Throws CtFetchError.
   */
  async head(signal?: AbortSignal): Promise<Checkpoint> {
    const cp = await this.fetcher.get(
      `${this.url}checkpoint`,
      { endpoint: "checkpoint", signal, maxBytes: CHECKPOINT_MAX_BYTES },
      ({ body }) => {
        try {
          return parseCheckpoint(Buffer.from(body).toString("utf8"), {
            origin: this.origin,
            key: this.#key ?? undefined,
          });
        } catch (err) {
          if (err instanceof CheckpointError && err.reason === "bad_signature") {
            ctFetchErrors.inc({ log: this.name, kind: "bad_signature" });
            throw new CtFetchError("bad_signature", this.name, `checkpoint: ${err.message}`);
          }
          throw err;
        }
      },
    );
    const prev = this.#head;
    if (prev && cp.treeSize < prev.treeSize) {
      ctFetchErrors.inc({ log: this.name, kind: "rollback" });
      throw new CtFetchError(
        "rollback",
        this.name,
        `checkpoint: tree size ${cp.treeSize} is below the accepted ${prev.treeSize}`,
      );
    }
    if (prev && cp.treeSize === prev.treeSize && Buffer.compare(cp.rootHash, prev.rootHash) !== 0) {
      ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
      throw new CtFetchError(
        "inconsistent",
        this.name,
        `checkpoint: two different roots for tree size ${cp.treeSize}`,
      );
    }
    if (this.#verifyMerkle) {
      const hashes = this.#tileHashes(cp.treeSize, signal);
      const root = await hashes.rootHash().catch((err) => this.#rethrow(err, "hash tiles"));
      if (Buffer.compare(root, cp.rootHash) !== 0) {
        ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
        throw new CtFetchError(
          "inconsistent",
          this.name,
          `checkpoint: hash tiles do not hash to the root of tree size ${cp.treeSize}`,
        );
      }
      if (prev && prev.treeSize > 0 && prev.treeSize < cp.treeSize) {
        const old = await hashes.rootHash(prev.treeSize).catch((err) => this.#rethrow(err, "hash tiles"));
        if (Buffer.compare(old, prev.rootHash) !== 0) {
          ctFetchErrors.inc({ log: this.name, kind: "inconsistent" });
          throw new CtFetchError(
            "inconsistent",
            this.name,
            `checkpoint: tree ${cp.treeSize} does not extend the accepted tree ${prev.treeSize}`,
          );
        }
      }
      this.#hashes = this.#tileHashes(cp.treeSize);
    }
    this.#head = cp;
    ctTreeSize.set({ log: this.name }, cp.treeSize);
    return cp;
  }

  /** True when head() verifies signatures (the log's key is known): only such heads can verify entries. */
  get signsHeads(): boolean {
    return this.#key !== null;
  }

  /**
   * The compact range [0, index) of the tree of `head`, read from its hash tiles (one tile per level). The
   * leaf hash is not needed here: the range is checked, with everything appended to it, at the next tree head
   * the ingester reaches. Throws CtFetchError when a tile cannot be had.
   */
  async compactRangeAt(
    index: number,
    _leafHashValue: Uint8Array,
    head: TreeHead,
    signal?: AbortSignal,
  ): Promise<CompactRange> {
    return this.#tileHashes(head.treeSize, signal)
      .compactRange(index)
      .catch((err) => this.#rethrow(err, "hash tiles"));
  }

  #rethrow(err: unknown, what: string): never {
    if (err instanceof CtFetchError) throw err;
    throw new CtFetchError("bad_response", this.name, `${what}: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
  }

  #tileHashes(treeSize: number, signal?: AbortSignal): TileHashes {
    return new TileHashes(treeSize, (level, n, width) =>
      this.fetcher.get(
        `${this.url}${tilePath(level, n, width)}`,
        { endpoint: "tile", signal, maxBytes: hashTileMaxBytes(width) },
        ({ body }) => {
          if (body.length !== width * 32)
            throw new Error(`hash tile ${level}/${n} width ${width}: ${body.length} bytes`);
          return body;
        },
      ),
    );
  }

  /**
   * Entries [start, end) in index order, one batch per data tile (or part of one), up to fetchConcurrency tiles
   * in flight. `end` must not exceed the last checkpoint's size (head() is called first if it never was).
   * It stops EARLY before a partial tile at the right edge until that tile has been partial for partialTileWaitMs
   * (and again between two fetches of a growing partial tile): resume from the index after the last item.
   */
  async *fetch(
    start: number,
    end: number,
    opts: { signal?: AbortSignal } = {},
  ): AsyncGenerator<LogRangeItem<StaticLogEntry>> {
    // Tile widths follow the checkpoint: partial tiles exist only for sizes the log has checkpointed.
    const treeSize = (this.#head ?? (await this.head(opts.signal))).treeSize;
    if (end > treeSize)
      throw new RangeError(`fetch end ${end} beyond the checkpoint's tree size ${treeSize}`);
    if (start >= end) return;
    const inner = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, inner.signal]) : inner.signal;
    const inflight: Promise<LogRangeItem<StaticLogEntry>[]>[] = [];
    try {
      let n = Math.floor(start / TILE_WIDTH);
      let stopped = false;
      while (!stopped || inflight.length > 0) {
        while (!stopped && inflight.length < this.#concurrency && n * TILE_WIDTH < end) {
          const tileStart = n * TILE_WIDTH;
          const width = Math.min(TILE_WIDTH, treeSize - tileStart);
          if (width < TILE_WIDTH && !this.#partialReady(n)) {
            stopped = true;
            break;
          }
          const p = this.#tile(
            n,
            width,
            Math.max(start, tileStart),
            Math.min(end, tileStart + width),
            treeSize,
            signal,
          );
          p.catch(() => undefined);
          inflight.push(p);
          n++;
        }
        if (n * TILE_WIDTH >= end) stopped = true;
        const p = inflight.shift();
        if (!p) break;
        for (const item of await p) yield item;
      }
    } finally {
      inner.abort(new CtFetchError("aborted", this.name, "fetch stopped"));
      await Promise.allSettled(inflight);
    }
  }

  #partialReady(n: number): boolean {
    if (this.#partialWaitMs <= 0) return true;
    const now = this.#now();
    const since = this.#partialSince.get(n);
    if (since === undefined) {
      this.#partialSince.set(n, now);
      for (const k of this.#partialSince.keys()) if (k < n) this.#partialSince.delete(k);
      return false;
    }
    if (now - since < this.#partialWaitMs) return false;
    // Fetched now: the next (wider) partial of this tile waits again, so a growing tile is fetched at most once
    // per wait period rather than at every poll.
    this.#partialSince.set(n, now);
    return true;
  }

  /** Data tile n (width) → entries [from, to) as one batch, with gaps for what cannot be had. */
  async #tile(
    n: number,
    width: number,
    from: number,
    to: number,
    treeSize: number,
    signal: AbortSignal,
  ): Promise<LogRangeItem<StaticLogEntry>[]> {
    const tileStart = n * TILE_WIDTH;
    const gap = (
      start: number,
      end: number,
      reason: string,
      detail: string,
    ): LogRangeItem<StaticLogEntry> => {
      ctGaps.inc({ log: this.name }, end - start);
      return { kind: "gap", gap: { log: this.name, start, end, reason, detail } satisfies LogGap };
    };
    let leaves: TileLeaf[];
    try {
      leaves = await this.#fetchDataTile(n, width, signal);
    } catch (err) {
      if (!(err instanceof CtFetchError) || err.kind === "aborted") throw err;
      return [gap(from, to, err.kind, err.message)];
    }
    if (this.#verifyMerkle) {
      const bad = await this.#checkInclusion(tileStart, leaves, treeSize, signal);
      if (bad) {
        // Either the data tile or a hash tile is wrong: both are fetched again next time.
        this.#forgetTile(n, width);
        this.#hashes = undefined;
        return [gap(from, to, "inconsistent", bad)];
      }
    }
    // Resolve each distinct issuer once for the whole tile.
    const fps = new Map<string, Uint8Array | null>();
    for (let i = from; i < to; i++)
      for (const fp of leaves[i - tileStart].chainFingerprints)
        fps.set(Buffer.from(fp).toString("hex"), null);
    await Promise.all([...fps.keys()].map(async (hex) => fps.set(hex, await this.#issuer(hex, signal))));
    const items: LogRangeItem<StaticLogEntry>[] = [];
    let batch: EntryBatch<StaticLogEntry> | null = null;
    for (let i = from; i < to; i++) {
      const leaf = leaves[i - tileStart];
      if (leaf.leafIndex !== null && leaf.leafIndex !== i) {
        batch = null;
        items.push(
          gap(
            i,
            i + 1,
            "leaf_index_mismatch",
            `data tile ${n}: entry at ${i} carries leaf_index ${leaf.leafIndex}`,
          ),
        );
        ctFetchErrors.inc({ log: this.name, kind: "bad_response" });
        // A refused tile is not kept: the log may serve the right one on the next try.
        this.#forgetTile(n, width);
        continue;
      }
      const chainDer: Uint8Array[] = [];
      let missing = 0;
      for (const fp of leaf.chainFingerprints) {
        const der = fps.get(Buffer.from(fp).toString("hex"));
        if (der) chainDer.push(der);
        else missing++;
      }
      if (batch === null) {
        batch = { kind: "entries", start: i, entries: [] };
        items.push(batch);
      }
      batch.entries.push({
        index: i,
        timestamp: leaf.timestamp,
        entryType: leaf.entryType,
        leafDer: leaf.leafCertificate,
        chainDer,
        leafInput: leaf.merkleTreeLeaf,
        chainFingerprints: leaf.chainFingerprints,
        missingIssuers: missing,
      });
    }
    return items;
  }

  /**
   * Data tiles are immutable: the last few decoded ones are kept, so a caller reading in ranges that are not
   * tile-aligned (batch_size entries from wherever it stopped) does not fetch every tile twice.
   */
  async #fetchDataTile(n: number, width: number, signal: AbortSignal): Promise<TileLeaf[]> {
    const key = `${n}/${width}`;
    const hit = this.#recentTiles.get(key);
    if (hit) return hit;
    const p = this.#fetchDataTileUncached(n, width, signal);
    this.#recentTiles.set(key, p);
    p.catch(() => this.#recentTiles.delete(key));
    while (this.#recentTiles.size > RECENT_TILES)
      this.#recentTiles.delete(this.#recentTiles.keys().next().value as string);
    return p;
  }

  #forgetTile(n: number, width: number): void {
    this.#recentTiles.delete(`${n}/${width}`);
  }

  async #fetchDataTileUncached(n: number, width: number, signal: AbortSignal): Promise<TileLeaf[]> {
    const decode = ({ body }: { body: Uint8Array }) => {
      try {
        return readDataTile(body, width);
      } catch (err) {
        if (err instanceof TileLeafError) throw new Error(`data tile ${n}: ${err.message}`);
        throw err;
      }
    };
    // What `width` leaves can hold: an endless or bomb-like body is refused at that (gzip is bounded too).
    const opts = { endpoint: "data-tile", signal, maxBytes: dataTileMaxBytes(width) };
    try {
      // A partial tile gets one try (no refusal retries): the full tile is the fallback.
      const first = width < TILE_WIDTH ? { ...opts, maxAttempts: 1 } : opts;
      return await this.fetcher.get(`${this.url}${tilePath("data", n, width)}`, first, decode);
    } catch (err) {
      // A partial tile may be gone once the full one exists (spec: fetch the full tile as a fallback).
      if (width < TILE_WIDTH && err instanceof CtFetchError && err.kind === "refused" && err.status === 404) {
        const fullOpts = { ...opts, maxBytes: dataTileMaxBytes(TILE_WIDTH) };
        const full = await this.fetcher.get(`${this.url}${tilePath("data", n)}`, fullOpts, ({ body }) =>
          readDataTile(body, TILE_WIDTH),
        );
        return full.slice(0, width);
      }
      throw err;
    }
  }

  /** Null when the tile's leaves are included in the checkpoint's tree at their positions, else the reason. */
  async #checkInclusion(
    tileStart: number,
    leaves: TileLeaf[],
    treeSize: number,
    signal: AbortSignal,
  ): Promise<string | null> {
    const head = this.#head;
    if (!head || head.treeSize !== treeSize) return null;
    // Hash tiles are cached per tree size; fetched without the caller's signal since the cache outlives the call.
    if (this.#hashes?.treeSize !== treeSize) this.#hashes = this.#tileHashes(treeSize);
    signal.throwIfAborted();
    const hashes = leaves.map((l) => leafHash(l.merkleTreeLeaf));
    const root = await this.#hashes
      .rootHash(treeSize, { start: tileStart, hashes })
      .catch((err) => this.#rethrow(err, "hash tiles"));
    return Buffer.compare(root, head.rootHash) === 0
      ? null
      : `data tile at ${tileStart}: leaves are not included in tree ${treeSize}`;
  }

  async #issuer(hex: string, signal: AbortSignal): Promise<Uint8Array | null> {
    return this.#issuers.get(hex, async (fp) => {
      try {
        return await this.fetcher.get(
          `${this.url}issuer/${fp}`,
          { endpoint: "issuer", signal, maxBytes: ISSUER_MAX_BYTES },
          ({ body }) => {
            if (createHash("sha256").update(body).digest("hex") !== fp)
              throw new Error(`issuer/${fp}: body does not hash to its name`);
            return body;
          },
        );
      } catch (err) {
        // Absent for good (404 after retries, or a wrong or bomb-like body): cached as negative. Aborts propagate.
        if (
          err instanceof CtFetchError &&
          (err.kind === "refused" || err.kind === "bad_response" || err.kind === "compression_bomb")
        )
          return null;
        throw err;
      }
    });
  }
}
