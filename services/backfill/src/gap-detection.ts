import { IndexBitmap } from "./index-bitmap.ts";
import { countRanges, type IndexRange, subtractRanges } from "./index-ranges.ts";

/**
 * Gap detection over the archive, in three steps so that a 100-million-row table is mostly answered from the
 * Delta log's per-file statistics:
 *  1. stats only: a file whose log column has min == max (one log) and whose index column spans exactly
 *     numRecords values is a dense range of that log; it is added without being read. Files whose log range
 *     holds none of the wanted logs are skipped.
 *  2. a file that must otherwise be read is skipped when, for every wanted log its log range can hold, its
 *     index range is already fully covered: it can add nothing but duplicates.
 *  3. the remaining files are read, two columns only (index and log), and every row lands in its log's bitmap.
 * Holes are then the zero runs of each bitmap inside the log's domain.
 */

/** What the Delta log says about one data file (from its `add` action's stats). */
export interface DataFileStats {
  path: string;
  /** Rows in the file; null when the writer recorded no stats. */
  numRecords: number | null;
  /** Min and max of the index column; null when absent. */
  minIndex: number | null;
  maxIndex: number | null;
  /** Min and max of the log column; null when absent. */
  minLog: string | null;
  maxLog: string | null;
  /** Null count of the index column; null when unknown. */
  nullIndexCount?: number | null;
}

export type FileDecision =
  | { kind: "dense"; log: string; range: IndexRange }
  | { kind: "read" }
  | { kind: "skip-other-logs" };

/** Sorted wanted log keys, for range tests against a file's [minLog, maxLog]. */
export class WantedLogs {
  readonly keys: readonly string[];
  private readonly set: ReadonlySet<string>;

  constructor(keys: Iterable<string>) {
    this.keys = [...new Set(keys)].sort();
    this.set = new Set(this.keys);
  }

  has(key: string): boolean {
    return this.set.has(key);
  }

  /** Wanted keys k with min <= k <= max (string order, as Delta stats compare). Null bounds are open. */
  within(min: string | null, max: string | null): string[] {
    const ks = this.keys;
    let lo = 0;
    if (min !== null) {
      let hi = ks.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ks[mid] < min) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: string[] = [];
    for (let i = lo; i < ks.length && (max === null || ks[i] <= max); i++) out.push(ks[i]);
    return out;
  }
}

/** Step 1 for one file. */
export function decideFromStats(file: DataFileStats, wanted: WantedLogs): FileDecision {
  if (file.numRecords === 0) return { kind: "skip-other-logs" };
  if (wanted.within(file.minLog, file.maxLog).length === 0) return { kind: "skip-other-logs" };
  const { numRecords, minIndex, maxIndex, minLog, maxLog } = file;
  const noNulls = file.nullIndexCount === 0 || file.nullIndexCount === undefined;
  if (
    numRecords !== null &&
    minIndex !== null &&
    maxIndex !== null &&
    minLog !== null &&
    minLog === maxLog &&
    noNulls &&
    maxIndex - minIndex + 1 === numRecords
  ) {
    // One log, numRecords rows over exactly numRecords possible indices: every index is there once
    // (the archive holds each (log, index) once; a duplicate would have to leave a hole inside the span).
    return { kind: "dense", log: minLog, range: { start: minIndex, end: maxIndex + 1 } };
  }
  return { kind: "read" };
}

export interface ScanCounts {
  files: number;
  rows: number;
}

export interface ArchiveScanStats {
  /** Files answered from stats alone. */
  dense: ScanCounts;
  /** Files skipped: no wanted log in their log range, or fully covered already. */
  skippedOtherLogs: ScanCounts;
  skippedCovered: ScanCounts;
  /** Files whose two columns were read. */
  read: ScanCounts;
  /** Rows with a null index or log, or an index that is not a non-negative safe integer. */
  badRows: number;
}

function emptyCounts(): ScanCounts {
  return { files: 0, rows: 0 };
}

/** The indices archived per wanted log, built from stats and column reads. */
export class ArchiveIndex {
  readonly wanted: WantedLogs;
  private readonly bitmaps = new Map<string, IndexBitmap>();
  readonly stats: ArchiveScanStats = {
    dense: emptyCounts(),
    skippedOtherLogs: emptyCounts(),
    skippedCovered: emptyCounts(),
    read: emptyCounts(),
    badRows: 0,
  };

  constructor(wanted: Iterable<string>) {
    this.wanted = wanted instanceof WantedLogs ? wanted : new WantedLogs(wanted);
  }

  bitmap(log: string): IndexBitmap {
    let b = this.bitmaps.get(log);
    if (!b) {
      b = new IndexBitmap();
      this.bitmaps.set(log, b);
    }
    return b;
  }

  /** Steps 1 and 2: returns the files that must be read, in input order. */
  planFiles(files: readonly DataFileStats[]): DataFileStats[] {
    const pending: DataFileStats[] = [];
    for (const f of files) {
      const d = decideFromStats(f, this.wanted);
      const rows = f.numRecords ?? 0;
      if (d.kind === "skip-other-logs") {
        this.stats.skippedOtherLogs.files++;
        this.stats.skippedOtherLogs.rows += rows;
      } else if (d.kind === "dense") {
        this.bitmap(d.log).addRange(d.range.start, d.range.end);
        this.stats.dense.files++;
        this.stats.dense.rows += rows;
      } else pending.push(f);
    }
    const toRead: DataFileStats[] = [];
    for (const f of pending) {
      if (this.isCovered(f)) {
        this.stats.skippedCovered.files++;
        this.stats.skippedCovered.rows += f.numRecords ?? 0;
      } else toRead.push(f);
    }
    return toRead;
  }

  /** Step 2: every wanted log the file may hold already has the file's whole index range. */
  private isCovered(f: DataFileStats): boolean {
    if (f.minIndex === null || f.maxIndex === null || f.minLog === null || f.maxLog === null) return false;
    for (const log of this.wanted.within(f.minLog, f.maxLog)) {
      const b = this.bitmaps.get(log);
      if (!b?.covers(f.minIndex, f.maxIndex + 1)) return false;
    }
    return true;
  }

  /** Counts a file as read (call once per file, with its row count). */
  noteRead(rows: number): void {
    this.stats.read.files++;
    this.stats.read.rows += rows;
  }

  /**
   * Step 3: rows of a read file, the two columns side by side. Rows of unwanted logs are ignored; bad rows are
   * counted. Indices may be numbers or bigints (int64 columns decode to either).
   */
  addRows(logs: ArrayLike<unknown>, indices: ArrayLike<unknown>): void {
    const n = Math.min(logs.length, indices.length);
    // One lookup per distinct log string (rows interleave logs, so "same as the previous row" rarely holds).
    const targets = new Map<unknown, IndexBitmap | null>();
    for (let i = 0; i < n; i++) {
      const log = logs[i];
      let b = targets.get(log);
      if (b === undefined) {
        b = typeof log === "string" && this.wanted.has(log) ? this.bitmap(log) : null;
        targets.set(log, b);
      }
      if (typeof log !== "string") {
        this.stats.badRows++;
        continue;
      }
      if (b === null) continue;
      const raw = indices[i];
      const idx = typeof raw === "bigint" ? Number(raw) : raw;
      if (typeof idx !== "number" || !Number.isSafeInteger(idx) || idx < 0) {
        this.stats.badRows++;
        continue;
      }
      b.add(idx);
    }
  }

  /** Lowest, highest, count and duplicates of a log; null when nothing is archived. */
  summary(log: string): { lowest: number; highest: number; archived: number; duplicates: number } | null {
    const b = this.bitmaps.get(log);
    if (!b || b.count === 0) return null;
    return { lowest: b.min, highest: b.max, archived: b.count, duplicates: b.duplicates };
  }

  /** Holes of `log` inside `[start, end)`. */
  missing(log: string, start: number, end: number): IndexRange[] {
    const b = this.bitmaps.get(log);
    if (!b) return end > start ? [{ start, end }] : [];
    return b.missing(start, end);
  }
}

export interface GapOptions {
  /** `--from N`: the domain starts at N instead of the lowest archived index. */
  from: number | null;
  /** The ingester's stored next index for the log; null when it has none. */
  ingesterPosition: number | null;
}

export interface LogGaps {
  log: string;
  /** Where gaps were looked for, `[start, end)`; empty when there is nothing to do. */
  domain: IndexRange;
  /** Why the domain ends where it does. */
  upperBound: "table" | "ingester" | "none";
  lowest: number | null;
  highest: number | null;
  archived: number;
  duplicates: number;
  gaps: IndexRange[];
  missing: number;
}

/**
 * The domain and holes of one log.
 * - catch-up: `[lowest, highest + 1)`;
 * - `--from N`: `[N, ingester position)` (or `[N, highest + 1)` when the ingester has no position);
 * and in both modes never at or beyond the ingester's position, which the live path owns.
 * A log with nothing archived has no domain in catch-up mode (there is no lowest to start from).
 */
export function gapsForLog(index: ArchiveIndex, log: string, opts: GapOptions): LogGaps {
  const s = index.summary(log);
  const P = opts.ingesterPosition;
  let start: number | null = null;
  let end: number | null = null;
  let upperBound: LogGaps["upperBound"] = "none";
  if (opts.from !== null) {
    start = opts.from;
    if (P !== null) {
      end = P;
      upperBound = "ingester";
    } else if (s) {
      end = s.highest + 1;
      upperBound = "table";
    }
  } else if (s) {
    start = s.lowest;
    end = s.highest + 1;
    upperBound = "table";
    if (P !== null && P < end) {
      end = P;
      upperBound = "ingester";
    }
  }
  const domain = start !== null && end !== null && end > start ? { start, end } : { start: 0, end: 0 };
  const gaps = domain.end > domain.start ? index.missing(log, domain.start, domain.end) : [];
  return {
    log,
    domain,
    upperBound,
    lowest: s?.lowest ?? null,
    highest: s?.highest ?? null,
    archived: s?.archived ?? 0,
    duplicates: s?.duplicates ?? 0,
    gaps,
    missing: countRanges(gaps),
  };
}

/** Removes indices already on their way to the table (committed in a topic, not yet written by the sink). */
export function withoutPending(g: LogGaps, pending: readonly IndexRange[]): LogGaps {
  if (pending.length === 0) return g;
  const gaps = subtractRanges(g.gaps, pending);
  return { ...g, gaps, missing: countRanges(gaps) };
}
