import type { DataFile, Snapshot } from "@certstream/delta";
import type { DataFileFooter } from "./data-file-footer.ts";
import { mayContain, mayOverlap } from "./domain-filter.ts";
import { registeredDomainOf, reversedKey, suffixKeyRange } from "./domain-key.ts";
import type { SearchQuery } from "./search-query.ts";

/** Half-open row ranges [start, end) of one file, ascending and disjoint. */
export type RowRanges = [number, number][];

/** How a domain condition narrows the granules of a clustered file. */
export type DomainProbe = { kind: "key"; key: string } | { kind: "range"; lo: string; hi: string } | null;

/**
 * The key a domain condition looks up: the reversed registered domain for an exact name, a registered domain,
 * or a suffix at or under one; a key range for a suffix above any registered domain (`*.co.uk`, `*.github.io`).
 */
export function domainProbe(q: SearchQuery): DomainProbe {
  const name = q.registered ?? q.exactDomain ?? q.suffix;
  if (name === undefined) return null;
  const rd = registeredDomainOf(name);
  if (rd !== null) return { kind: "key", key: reversedKey(rd) };
  const r = suffixKeyRange(name);
  return { kind: "range", lo: r.exact, hi: r.hi };
}

const DAY_US = 86_400_000_000;

function isoDay(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().slice(0, 10);
}

/** A timestamp stat as µs: Delta stats hold ISO strings truncated to ms, Parquet stats our parsed numbers. */
function statMicros(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? ms * 1000 : undefined;
  }
  if (v instanceof Date) return v.getTime() * 1000;
  return undefined;
}

/** Could values in [min, max] (µs; either unknown) fall within the query's [from, to]? Stats may be ms-truncated. */
function timeMayMatch(min: unknown, max: unknown, q: SearchQuery): boolean {
  const lo = statMicros(min);
  const hi = statMicros(max);
  if (q.from !== undefined && hi !== undefined && hi + 1000 < q.from) return false;
  if (q.to !== undefined && lo !== undefined && lo - 1000 > q.to) return false;
  return true;
}

/** A log's short name is one lower-case word; a full name (with spaces) is matched on source_name instead. */
export function logShortNameQuery(q: SearchQuery): string | null {
  if (q.log === undefined || /\s/.test(q.log)) return null;
  return q.log.toLowerCase();
}

const timeColumn = (q: SearchQuery): string => (q.timeField === "seen" ? "seen" : "not_before_ts");

/**
 * Live files that may hold a match, newest day first (then by path, a stable order for cursors): partition
 * values (seen_date), Delta file stats (seen / not_before_ts, log_name) and the cluster-key tags.
 */
export function candidateFiles(snap: Snapshot, q: SearchQuery): DataFile[] {
  const probe = domainProbe(q);
  const logName = logShortNameQuery(q);
  const tcol = timeColumn(q);
  const fromDay = q.timeField === "seen" && q.from !== undefined ? isoDay(q.from - DAY_US / 24) : null;
  const toDay = q.timeField === "seen" && q.to !== undefined ? isoDay(q.to + DAY_US / 24) : null;
  const out: DataFile[] = [];
  for (const f of snap.files()) {
    const day = f.partitionValues.seen_date;
    if (fromDay !== null && typeof day === "string" && day < fromDay) continue;
    if (toDay !== null && typeof day === "string" && day > toDay) continue;
    const st = f.parsedStats;
    if (st && (q.from !== undefined || q.to !== undefined)) {
      if (st.numRecords > 0 && st.nullCount[tcol] === st.numRecords) continue;
      if (!timeMayMatch(st.minValues[tcol], st.maxValues[tcol], q)) continue;
    }
    if (st && logName !== null) {
      const min = st.minValues.log_name;
      const max = st.maxValues.log_name;
      if (typeof min === "string" && logName < min) continue;
      if (typeof max === "string" && logName > max) continue;
      if (st.numRecords > 0 && st.nullCount.log_name === st.numRecords) continue;
    }
    if (probe !== null && f.tags) {
      const min = f.tags["certstream.cluster_key.min"];
      const max = f.tags["certstream.cluster_key.max"];
      if (typeof min === "string" && typeof max === "string") {
        if (probe.kind === "key" && (probe.key < min || probe.key > max)) continue;
        if (probe.kind === "range" && (probe.hi <= min || probe.lo > max)) continue;
      }
    }
    out.push(f);
  }
  out.sort((a, b) => {
    const da = a.partitionValues.seen_date ?? "";
    const db = b.partitionValues.seen_date ?? "";
    if (da !== db) return da < db ? 1 : -1;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
  return out;
}

function columnStats(
  footer: DataFileFooter,
  rg: number,
  column: string,
): { min: unknown; max: unknown } | null {
  for (const c of footer.metadata.row_groups[rg].columns) {
    const md = c.meta_data;
    if (md && md.path_in_schema.length === 1 && md.path_in_schema[0] === column) {
      const s = md.statistics;
      if (!s) return null;
      return { min: s.min_value ?? s.min, max: s.max_value ?? s.max };
    }
  }
  return null;
}

function intersect(a: RowRanges, b: RowRanges): RowRanges {
  const out: RowRanges = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i][0], b[j][0]);
    const e = Math.min(a[i][1], b[j][1]);
    if (s < e) out.push([s, e]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

function pushMerged(out: RowRanges, s: number, e: number): void {
  const last = out[out.length - 1];
  if (last && last[1] === s) last[1] = e;
  else out.push([s, e]);
}

/**
 * The rows of one file a search must examine: row groups whose Parquet stats allow the time and log conditions,
 * then (clustered files) the granules whose domain filter may hold the domain.
 */
export function candidateRows(footer: DataFileFooter, q: SearchQuery): RowRanges {
  const starts = footer.rowGroupStarts;
  const tcol = timeColumn(q);
  const logName = logShortNameQuery(q);
  let ranges: RowRanges = [];
  for (let rg = 0; rg < footer.metadata.row_groups.length; rg++) {
    if (q.from !== undefined || q.to !== undefined) {
      if (!footer.columns.has(tcol)) continue;
      const s = columnStats(footer, rg, tcol);
      if (s && !timeMayMatch(s.min, s.max, q)) continue;
    }
    if (logName !== null && footer.columns.has("log_name")) {
      const s = columnStats(footer, rg, "log_name");
      if (s && typeof s.min === "string" && typeof s.max === "string" && (logName < s.min || logName > s.max))
        continue;
    }
    if (starts[rg + 1] > starts[rg]) pushMerged(ranges, starts[rg], starts[rg + 1]);
  }
  const probe = domainProbe(q);
  const filters = footer.domainFilters;
  if (probe !== null && filters !== null) {
    const granules: RowRanges = [];
    const g = filters.granuleRows;
    for (let i = 0; i < filters.granules.length; i++) {
      const f = filters.granules[i];
      const hit = probe.kind === "key" ? mayContain(f, probe.key) : mayOverlap(f, probe.lo, probe.hi);
      if (hit) pushMerged(granules, i * g, Math.min(footer.numRows, (i + 1) * g));
    }
    ranges = intersect(ranges, granules);
  }
  return ranges;
}

export function rowCount(ranges: RowRanges): number {
  let n = 0;
  for (const [s, e] of ranges) n += e - s;
  return n;
}

/** Rows of the snapshot, from the Delta stats (files without stats counted by a footer-less estimate of 0). */
export function tableRows(snap: Snapshot): number {
  let n = 0;
  for (const f of snap.files()) n += f.parsedStats?.numRecords ?? 0;
  return n;
}

/** How to narrow a query refused as too broad, in the words of its parameters. */
export function narrowingHint(q: SearchQuery): string {
  const tips: string[] = [];
  if (q.exactDomain === undefined && q.suffix === undefined && q.registered === undefined) {
    tips.push("add domain= (example.com or *.example.com) or registered=");
  } else if (q.suffix !== undefined && registeredDomainOf(q.suffix) === null) {
    tips.push(`search a registered domain under .${q.suffix} rather than the whole suffix`);
  }
  if (q.timeField !== "seen") {
    tips.push("bound the time with on=seen (the archive is laid out by the day a certificate was seen)");
  } else if (q.from === undefined || q.to === undefined) {
    tips.push("bound the time with from= and to= (for example from=7d)");
  } else {
    tips.push("shorten the from=/to= window");
  }
  if (q.log === undefined) tips.push("or name one log= (argon2026h2)");
  return tips.join("; ");
}
