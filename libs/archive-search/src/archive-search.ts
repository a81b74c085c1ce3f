import type { DataFile, Snapshot, Storage } from "@certstream/delta";
import { compressors, DeltaTable, LocalStorage, storagePath } from "@certstream/delta";
import type { AsyncBuffer } from "hyparquet";
import { parquetReadObjects } from "hyparquet";
import { RESULT_COLUMNS } from "./archive-schema.ts";
import type { DataFileFooter } from "./data-file-footer.ts";
import { FooterCache, PARSERS } from "./data-file-footer.ts";
import { openDataFile, ReadCounter } from "./data-file-reader.ts";
import { registeredDomainOf } from "./domain-key.ts";
import { QueryTooBroadError, SearchError, SearchParamError, StaleReferenceError } from "./errors.ts";
import { readColumnRows } from "./page-rows.ts";
import { decodeCursor, encodeCursor, queryHash } from "./search-cursor.ts";
import type { RowRanges } from "./search-plan.ts";
import {
  candidateFiles,
  candidateRows,
  logShortNameQuery,
  narrowingHint,
  rowCount,
  tableRows,
} from "./search-plan.ts";
import type { SearchQuery } from "./search-query.ts";
import { queryIdentity } from "./search-query.ts";
import type { SearchResultRow } from "./search-result.ts";
import { derReference, parseDerReference, resultRow } from "./search-result.ts";

export interface ArchiveSearchOptions {
  storage: Storage;
  /** Refuse a query whose candidate rows exceed this share of the table's rows (0 < share ≤ 1). */
  maxScanShare: number;
  /** Data file footers kept in memory. */
  footerCacheFiles?: number;
  /** How long the latest snapshot is reused before the log is read again for new commits. */
  refreshIntervalMs?: number;
  /** Rows examined per read while filtering (bounds memory per search). */
  chunkRows?: number;
  /**
   * Most files filtered at once (the window grows 1, 2, 4, ... up to this). Default: 8 on an object store, where
   * each file costs round trips; 1 on a local table, where reading is decoding and files past the page's last
   * row would be decoded for nothing.
   */
  filesAtOnce?: number;
  /** Skip every pruning step (benchmarks compare against this full scan). */
  fullScan?: boolean;
  now?: () => number;
}

/** What a search did, for the response, logs and metrics. */
export interface SearchStats {
  tableVersion: number;
  tableRows: number;
  filesInTable: number;
  filesCandidate: number;
  rowsCandidate: number;
  rowsExamined: number;
  bytesRead: number;
  readRequests: number;
  footerCacheHits: number;
  elapsedMs: number;
}

export interface SearchResult {
  rows: SearchResultRow[];
  /** Pass back as `cursor=` for the next page; null when there is none. */
  nextCursor: string | null;
  stats: SearchStats;
}

/** A row of filter columns read from a file (hyparquet objects). */
type Values = Record<string, unknown>;

const lower = (v: unknown): string | null => (typeof v === "string" ? v.toLowerCase() : null);

/** Does one row (its filter columns) satisfy every condition of q? */
function rowMatches(r: Values, q: SearchQuery): boolean {
  if (q.registered !== undefined || q.suffix !== undefined || q.exactDomain !== undefined) {
    const domains = r.all_domains as string[] | null | undefined;
    if (!domains) return false;
    if (q.registered !== undefined) {
      const reg = r.registered_domains as string[] | null | undefined;
      const list = reg ?? domains.map((d) => registeredDomainOf(d));
      if (!list.includes(q.registered)) return false;
    }
    if (q.exactDomain !== undefined) {
      // Names as written: a certificate for *.example.com covers www.example.com but does not name it.
      const want = q.exactDomain;
      let hit = false;
      for (const d of domains) if (d.toLowerCase() === want) hit = true;
      if (!hit) return false;
    }
    if (q.suffix !== undefined) {
      const s = q.suffix;
      let hit = false;
      for (const d of domains) {
        let n = d.toLowerCase();
        if (n.startsWith("*.")) n = n.slice(2);
        if (n === s || n.endsWith(`.${s}`)) hit = true;
      }
      if (!hit) return false;
    }
  }
  if (q.issuer !== undefined) {
    const want = q.issuer.toLowerCase();
    if (lower(r.issuer_o) !== want && lower(r.issuer_cn) !== want) return false;
  }
  if (q.log !== undefined) {
    const want = q.log.toLowerCase();
    if (lower(r.log_name) !== want && lower(r.source_name) !== want) return false;
  }
  if (q.from !== undefined || q.to !== undefined) {
    const t = (q.timeField === "seen" ? r.seen : r.not_before_ts) as number | null | undefined;
    if (t === null || t === undefined) return false;
    if (q.from !== undefined && t < q.from) return false;
    if (q.to !== undefined && t > q.to) return false;
  }
  return true;
}

/** A candidate file and the row ranges a search reads of it. */
interface FilePlan {
  file: DataFile;
  footer: DataFileFooter;
  ranges: RowRanges;
}

/** What the filter found in one file (see ArchiveSearch.#filterFile). */
interface FileMatches {
  plan: FilePlan;
  file: AsyncBuffer;
  /** Matching rows, ascending. */
  rows: number[];
  /** The filter columns' values of those rows (null when the query has no condition a file can check). */
  known: Values[] | null;
  /** Rows past the last one may match too. */
  more: boolean;
  examined: number;
}

/** Columns the conditions of q read. */
function filterColumns(q: SearchQuery): string[] {
  const cols: string[] = [];
  if (q.registered !== undefined || q.suffix !== undefined || q.exactDomain !== undefined) {
    cols.push("all_domains");
    if (q.registered !== undefined) cols.push("registered_domains");
  }
  if (q.issuer !== undefined) cols.push("issuer_o", "issuer_cn");
  if (q.log !== undefined)
    cols.push(logShortNameQuery(q) === null ? "source_name" : "log_name", "source_name");
  if (q.from !== undefined || q.to !== undefined)
    cols.push(q.timeField === "seen" ? "seen" : "not_before_ts");
  return [...new Set(cols)];
}

/**
 * Searches the archive table: prunes files by partition values, Delta stats and cluster-key tags, row groups by
 * Parquet stats, granules by the domain filters in clustered files' footers, then reads only the columns the
 * conditions need over the remaining rows (hyparquet, byte ranges through the offset index), and the result
 * columns of matching rows only. Stateless between requests except for caches (footers, the latest snapshot).
 */
export class ArchiveSearch {
  readonly #storage: Storage;
  readonly #maxScanShare: number;
  readonly #footers: FooterCache;
  readonly #refreshMs: number;
  readonly #chunkRows: number;
  readonly #fullScan: boolean;
  readonly #filesAtOnce: number;
  readonly #now: () => number;
  #table: DeltaTable | null = null;
  #refreshedAt = 0;
  #refreshing: Promise<Snapshot> | null = null;
  readonly #versions = new Map<number, Promise<Snapshot>>();

  constructor(options: ArchiveSearchOptions) {
    this.#storage = options.storage;
    this.#maxScanShare = options.maxScanShare;
    this.#footers = new FooterCache(options.footerCacheFiles ?? 4096);
    this.#refreshMs = options.refreshIntervalMs ?? 5000;
    this.#chunkRows = options.chunkRows ?? 8192;
    this.#fullScan = options.fullScan ?? false;
    this.#filesAtOnce = options.filesAtOnce ?? (options.storage instanceof LocalStorage ? 1 : 8);
    this.#now = options.now ?? Date.now;
  }

  /** The latest snapshot, read again from the log at most every refreshIntervalMs. */
  async latest(): Promise<Snapshot> {
    const now = this.#now();
    if (this.#table && now - this.#refreshedAt < this.#refreshMs) return this.#table.snapshot;
    if (!this.#refreshing) {
      this.#refreshing = (async () => {
        if (!this.#table) this.#table = await DeltaTable.open(this.#storage);
        else await this.#table.refresh();
        this.#refreshedAt = this.#now();
        return this.#table.snapshot.clone();
      })().finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  /** The snapshot at `version` (what a cursor's first page read); a few are kept. */
  async #at(version: number): Promise<Snapshot> {
    const latest = await this.latest();
    if (latest.version === version) return latest;
    let s = this.#versions.get(version);
    if (!s) {
      s = DeltaTable.open(this.#storage, { version }).then(
        (t) => t.snapshot,
        (err: unknown) => {
          this.#versions.delete(version);
          throw new StaleReferenceError(
            `table version ${version} can no longer be read (${err instanceof Error ? err.message : String(err)}): search again`,
          );
        },
      );
      this.#versions.set(version, s);
      while (this.#versions.size > 8) this.#versions.delete(this.#versions.keys().next().value as number);
    }
    return s;
  }

  async search(q: SearchQuery): Promise<SearchResult> {
    const t0 = performance.now();
    const identity = queryIdentity(q);
    const cursor = q.cursor !== undefined ? decodeCursor(q.cursor, identity) : null;
    const snap = cursor ? await this.#at(cursor.version) : await this.latest();
    const counter = new ReadCounter();
    const hitsBefore = this.#footers.hits;
    const files = this.#fullScan ? snap.files() : candidateFiles(snap, q);
    let startIndex = 0;
    if (cursor) {
      startIndex = files.findIndex((f) => f.path === cursor.file);
      if (startIndex < 0)
        throw new StaleReferenceError("the cursor's file is not in its table version: search again");
    }
    // Plan every candidate file before reading data, so a too-broad query is refused having read only footers.
    const plans: FilePlan[] = [];
    let candidateRowsTotal = 0;
    // Footers load concurrently (on S3 each is a round trip); they are cached, so this is the cold path only.
    const footers = await mapBounded(files.slice(startIndex), 16, (f) =>
      this.#footers.get(this.#storage, f.path, f.size, counter),
    );
    for (let i = startIndex; i < files.length; i++) {
      const file = files[i];
      const footer = footers[i - startIndex];
      let ranges: RowRanges = this.#fullScan ? [[0, footer.numRows]] : candidateRows(footer, q);
      if (cursor && i === startIndex) ranges = clipFrom(ranges, cursor.row);
      if (ranges.length === 0) continue;
      plans.push({ file, footer, ranges });
      candidateRowsTotal += rowCount(ranges);
    }
    const total = tableRows(snap);
    if (!this.#fullScan && total > 0 && candidateRowsTotal / total > this.#maxScanShare) {
      throw new QueryTooBroadError(candidateRowsTotal / total, this.#maxScanShare, narrowingHint(q));
    }
    // Files are filtered a window at a time, in order, the window growing 1, 2, 4, ... up to filesAtOnce: a
    // popular domain fills its page from the first file without touching the next, and a rare one has the files
    // it must visit read concurrently (on S3 each file costs round trips). Result columns are read for the rows
    // taken only, every file at once.
    const fcols = filterColumns(q);
    const taken: FileMatches[] = [];
    let count = 0;
    let examined = 0;
    let nextCursor: string | null = null;
    let window = 1;
    for (
      let i = 0;
      i < plans.length && count < q.limit;
      i += window, window = Math.min(window * 2, this.#filesAtOnce)
    ) {
      const batch = plans.slice(i, i + window);
      const room = q.limit - count;
      const found = await Promise.all(batch.map((plan) => this.#filterFile(plan, q, fcols, room, counter)));
      for (let k = 0; k < found.length && count < q.limit; k++) {
        const f = found[k];
        examined += f.examined;
        if (f.rows.length === 0) continue;
        const n = Math.min(f.rows.length, q.limit - count);
        taken.push({ ...f, rows: f.rows.slice(0, n), known: f.known?.slice(0, n) ?? null });
        count += n;
        if (count >= q.limit && (n < f.rows.length || f.more || i + k + 1 < plans.length)) {
          nextCursor = encodeCursor({
            version: snap.version,
            query: queryHash(identity),
            file: f.plan.file.path,
            row: f.rows[n - 1] + 1,
          });
        }
      }
    }
    const rows: SearchResultRow[] = [];
    const results = await Promise.all(
      taken.map((t) => readResultRows(t.file, t.plan.footer, t.rows, t.known, fcols)),
    );
    taken.forEach((t, k) => {
      for (const r of results[k])
        rows.push(resultRow(r.values, derReference(snap.version, t.plan.file.path, r.row)));
    });
    return {
      rows,
      nextCursor,
      stats: {
        tableVersion: snap.version,
        tableRows: total,
        filesInTable: snap.numFiles,
        filesCandidate: plans.length,
        rowsCandidate: candidateRowsTotal,
        rowsExamined: examined,
        bytesRead: counter.bytes,
        readRequests: counter.requests,
        footerCacheHits: this.#footers.hits - hitsBefore,
        elapsedMs: performance.now() - t0,
      },
    };
  }

  /**
   * The rows of one file that satisfy q, in order, at most `limit` of them (with their filter columns' values),
   * and whether rows may remain past them.
   */
  async #filterFile(
    plan: FilePlan,
    q: SearchQuery,
    fcols: string[],
    limit: number,
    counter: ReadCounter,
  ): Promise<FileMatches> {
    const file = await openDataFile(this.#storage, storagePath(plan.file.path), plan.file.size, counter);
    const have = plan.footer.columns;
    const readable = fcols.filter((c) => have.has(c));
    const found: FileMatches = {
      plan,
      file,
      rows: [],
      known: readable.length > 0 ? [] : null,
      more: false,
      examined: 0,
    };
    // Older files without registered_domains: derived from all_domains in rowMatches.
    if (q.registered !== undefined && !have.has("all_domains")) return found;
    for (const [rs, re] of plan.ranges) {
      for (let s = rs; s < re; s += this.#chunkRows) {
        if (found.rows.length >= limit) {
          found.more = true;
          return found;
        }
        const e = Math.min(re, s + this.#chunkRows);
        const values =
          readable.length > 0 ? await readColumns(file, plan.footer, readable, range(s, e)) : null;
        found.examined += e - s;
        for (let i = 0; i < e - s; i++) {
          if (values !== null && !rowMatches(values[i], q)) continue;
          if (found.rows.length >= limit) {
            found.more = true;
            return found;
          }
          found.rows.push(s + i);
          if (values !== null) found.known?.push(values[i]);
        }
      }
    }
    return found;
  }

  /** The DER of the certificate a result's `der` reference points at. */
  async certificateDer(ref: string): Promise<Uint8Array> {
    const { version, path, row } = parseDerReference(ref);
    const snap = await this.#at(version);
    const file = snap.files().find((f) => f.path === path);
    if (!file)
      throw new StaleReferenceError("the certificate's data file is not in that table version: search again");
    const counter = new ReadCounter();
    const footer = await this.#footers.get(this.#storage, file.path, file.size, counter);
    if (row >= footer.numRows) throw new SearchParamError("ref", "row out of range");
    if (!footer.columns.has("as_der"))
      throw new SearchError("SEARCH_ERR_NOT_FOUND", "this file has no as_der column");
    const buf = await openDataFile(this.#storage, storagePath(file.path), file.size, counter);
    const [r] = await readColumns(buf, footer, ["as_der"], [row]);
    const der = r?.as_der;
    if (!(der instanceof Uint8Array)) {
      throw new SearchError(
        "SEARCH_ERR_NOT_FOUND",
        "no DER for this entry (its certificate could not be parsed)",
      );
    }
    return der;
  }
}

/** fn over items, at most `limit` at a time, results in order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

function clipFrom(ranges: RowRanges, row: number): RowRanges {
  const out: RowRanges = [];
  for (const [s, e] of ranges) {
    if (e <= row) continue;
    out.push([Math.max(s, row), e]);
  }
  return out;
}

/**
 * Values of `columns` (all present in the file) at the given rows (ascending), one object per row. Each column's
 * values are picked from its pages without decoding the rest of a page (page-rows.ts); a column that cannot be read
 * so (a dictionary-encoded file of the sink) is read with hyparquet, rows up to a page apart as one run.
 */
async function readColumns(
  file: AsyncBuffer,
  footer: DataFileFooter,
  columns: readonly string[],
  rows: readonly number[],
): Promise<Values[]> {
  const out: Values[] = rows.map(() => ({}));
  // Every column at once: on S3 each page is a round trip.
  const picked = await Promise.all(
    columns.map((c) => readColumnRows(file, footer.metadata, footer.rowGroupStarts, c, rows)),
  );
  const rest: string[] = [];
  columns.forEach((c, k) => {
    const column = picked[k];
    if (column === null) rest.push(c);
    else for (let i = 0; i < out.length; i++) out[i][c] = column[i];
  });
  let i = 0;
  while (rest.length > 0 && i < rows.length) {
    let j = i;
    // Rows up to a page apart (16 KiB pages hold ~1,000 rows of most columns) are read as one run: the pages
    // between them cost less than a read per row.
    while (j + 1 < rows.length && rows[j + 1] - rows[j] <= RUN_GAP_ROWS) j++;
    const start = rows[i];
    const values = await hyparquetRows(file, footer, rest, start, rows[j] + 1);
    for (let k = i; k <= j; k++) Object.assign(out[k], values[rows[k] - start]);
    i = j + 1;
  }
  return out;
}

const RUN_GAP_ROWS = 1024;

/** Rows [start, end) of `columns` read by hyparquet (every value of each page it needs decoded). */
async function hyparquetRows(
  file: AsyncBuffer,
  footer: DataFileFooter,
  columns: string[],
  start: number,
  end: number,
): Promise<Values[]> {
  // One read per column, all at once: hyparquet fetches a call's column chunks (offset index, then pages) one
  // after another, which on S3 is a round trip each (26 result columns took 26 × 50 ms on the stack's store).
  const perColumn = await Promise.all(
    columns.map(
      (c) =>
        parquetReadObjects({
          file,
          metadata: footer.metadata,
          columns: [c],
          rowStart: start,
          rowEnd: end,
          compressors,
          parsers: PARSERS,
          // Binary columns (as_der) stay bytes; string columns are annotated as such and still decode to strings.
          utf8: false,
          useOffsetIndex: true,
        }) as Promise<Values[]>,
    ),
  );
  const rows = perColumn[0];
  for (let k = 1; k < perColumn.length; k++) {
    const c = columns[k];
    const part = perColumn[k];
    for (let i = 0; i < rows.length; i++) rows[i][c] = part[i][c];
  }
  return rows;
}

/**
 * The result columns of the given rows (ascending). Columns the filter already read for these rows (`known`, one
 * object per row, of `filterColumns`) are taken from it: `all_domains`, a list column, was the costliest page of
 * every file an exact-domain search touched.
 */
async function readResultRows(
  file: AsyncBuffer,
  footer: DataFileFooter,
  rowNumbers: number[],
  known: Values[] | null,
  filterColumns: readonly string[],
): Promise<{ row: number; values: Values }[]> {
  const reuse =
    known === null ? [] : RESULT_COLUMNS.filter((c) => filterColumns.includes(c) && footer.columns.has(c));
  const cols = RESULT_COLUMNS.filter((c) => footer.columns.has(c) && !reuse.includes(c));
  const values = await readColumns(file, footer, cols, rowNumbers);
  return rowNumbers.map((row, i) => {
    if (known) for (const c of reuse) values[i][c] = known[i][c];
    return { row, values: values[i] };
  });
}
