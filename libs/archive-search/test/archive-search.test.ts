import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ClusteredFileOptions, SearchQuery } from "@certstream/archive-search";
import {
  ARCHIVE_SCHEMA,
  ArchiveSearch,
  clusterTable,
  parseSearchParams,
  QueryTooBroadError,
  registeredDomainOf,
  SearchParamError,
  writeClusteredFile,
  writeSyntheticArchive,
} from "@certstream/archive-search";
import { compressors, DeltaTable, LocalStorage, storagePath, toRow } from "@certstream/delta";
import type { AsyncBuffer, FileMetaData } from "hyparquet";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realEntries } from "../../delta/test/fixtures/entries.ts";
import { python } from "../../delta/test/python.ts";
import { PARSERS } from "../src/data-file-footer.ts";
import { readColumnRows } from "../src/page-rows.ts";

interface RefRow {
  cert_index: number;
  log_name: string | null;
  source_name: string;
  all_domains: string[] | null;
  registered_domains: string[] | null;
  issuer_o: string | null;
  issuer_cn: string | null;
  seen: number;
  not_before_ts: number | null;
  sha256: string | null;
}

/** Every row as delta-rs reads it (an independent reader, no pruning). */
async function referenceRows(table: string): Promise<RefRow[]> {
  const script = fileURLToPath(new URL("./python/table_rows.py", import.meta.url));
  const { stdout } = await promisify(execFile)(python(), [script, table], { maxBuffer: 1 << 28 });
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as RefRow);
}

/** The naive answer: every condition checked on every row. */
function naive(rows: RefRow[], q: SearchQuery): string[] {
  return rows
    .filter((r) => {
      const names = (r.all_domains ?? []).map((d) => d.toLowerCase());
      if (q.exactDomain && !names.includes(q.exactDomain)) return false;
      if (q.suffix) {
        const s = q.suffix;
        if (!names.some((d) => d.replace(/^\*\./, "") === s || d.endsWith(`.${s}`))) return false;
      }
      if (q.registered && !(r.registered_domains ?? []).includes(q.registered)) return false;
      if (q.issuer) {
        const i = q.issuer.toLowerCase();
        if (r.issuer_o?.toLowerCase() !== i && r.issuer_cn?.toLowerCase() !== i) return false;
      }
      if (q.log && r.log_name !== q.log.toLowerCase() && r.source_name.toLowerCase() !== q.log.toLowerCase())
        return false;
      const t = q.timeField === "seen" ? r.seen : r.not_before_ts;
      if (q.from !== undefined && (t === null || t < q.from)) return false;
      if (q.to !== undefined && (t === null || t > q.to)) return false;
      return true;
    })
    .map((r) => `${r.log_name}/${r.cert_index}`)
    .sort();
}

/** Every page of a search, following the cursor. */
async function allPages(
  s: ArchiveSearch,
  qs: string,
): Promise<{ keys: string[]; pages: number; bytes: number; domains: Map<string, string[]> }> {
  const keys: string[] = [];
  const domains = new Map<string, string[]>();
  let cursor: string | null = null;
  let pages = 0;
  let bytes = 0;
  do {
    const p = new URLSearchParams(qs);
    if (cursor) p.set("cursor", cursor);
    const r = await s.search(parseSearchParams(p, NOW));
    for (const row of r.rows) {
      keys.push(`${row.log.name}/${row.index}`);
      domains.set(`${row.log.name}/${row.index}`, row.leaf_cert.all_domains);
    }
    cursor = r.nextCursor;
    bytes += r.stats.bytesRead;
    pages++;
  } while (cursor !== null && pages < 100);
  return { keys: keys.sort(), pages, bytes, domains };
}

/** `rows` (one day's) written as one clustered file and committed to `table`. */
async function commitClustered(
  table: DeltaTable,
  rows: Record<string, unknown>[],
  options: ClusteredFileOptions,
): Promise<void> {
  const cols: Record<string, unknown[]> = {};
  for (const f of ARCHIVE_SCHEMA.fields) cols[f.name] = rows.map((r) => r[f.name] ?? null);
  const add = await writeClusteredFile(
    table.storage,
    ARCHIVE_SCHEMA,
    ["seen_date"],
    { seen_date: rows[0].seen_date as string },
    cols,
    rows.length,
    options,
  );
  await table.commit([{ add }], { operation: "WRITE" });
}

const NOW = Date.UTC(2026, 5, 1);
const dirs: string[] = [];
let clustered: string;
let unclustered: string;
let reference: RefRow[];
let top: string[];

beforeAll(async () => {
  clustered = mkdtempSync(join(tmpdir(), "archive-search-"));
  unclustered = mkdtempSync(join(tmpdir(), "archive-search-plain-"));
  dirs.push(clustered, unclustered);
  const common = { rows: 12_000, days: 3, endMs: NOW, seed: 5, maxFileRows: 3000, registeredDomains: 2000 };
  const r = await writeSyntheticArchive(new LocalStorage(clustered, { sync: false }), common);
  top = r.topDomains;
  await writeSyntheticArchive(new LocalStorage(unclustered, { sync: false }), {
    ...common,
    clustered: false,
  });
  reference = await referenceRows(clustered);
  expect(reference.length).toBe(12_000);
});

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Before the cluster test below, which rewrites the unclustered table.
describe("rows picked from pages (page-rows.ts)", () => {
  /** Every data file of a table: its bytes as a hyparquet AsyncBuffer, footer and row-group starts. */
  async function dataFiles(dir: string) {
    const snap = (await DeltaTable.open(new LocalStorage(dir))).snapshot;
    return snap.files().map((f) => {
      const b = readFileSync(join(dir, storagePath(f.path)));
      const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      const metadata = parquetMetadata(ab);
      const starts = [0];
      for (const rg of metadata.row_groups) starts.push(starts[starts.length - 1] + Number(rg.num_rows));
      const file = { byteLength: ab.byteLength, slice: async (s: number, e?: number) => ab.slice(s, e) };
      return { file, metadata, starts, numRows: Number(metadata.num_rows) };
    });
  }
  /** Every row of a file as hyparquet decodes it (a null list, which it reads as undefined, made null). */
  async function decodeAll(file: AsyncBuffer, metadata: FileMetaData): Promise<Record<string, unknown>[]> {
    const all = (await parquetReadObjects({
      file,
      metadata,
      compressors,
      parsers: PARSERS,
      utf8: false,
    })) as Record<string, unknown>[];
    for (const r of all) for (const c of Object.keys(r)) r[c] ??= null;
    return all;
  }
  const columnsOf = (metadata: FileMetaData): string[] =>
    metadata.row_groups[0].columns.map((c) => c.meta_data?.path_in_schema[0] ?? "");

  it("every column of a clustered file, at scattered rows across pages and row groups, equals hyparquet's full decode", async () => {
    let seed = 11;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    let compared = 0;
    let nonNull = 0;
    for (const { file, metadata, starts, numRows } of await dataFiles(clustered)) {
      const all = await decodeAll(file, metadata);
      for (let t = 0; t < 8; t++) {
        const rows = [...new Set(Array.from({ length: 1 + rand(6) }, () => rand(numRows)))].sort(
          (a, b) => a - b,
        );
        for (const c of columnsOf(metadata)) {
          const got = await readColumnRows(file, metadata, starts, c, rows);
          expect(got, `${c} ${rows}`).toEqual(rows.map((r) => all[r][c]));
          compared += rows.length;
          nonNull += rows.filter((r) => all[r][c] !== null).length;
        }
      }
      // A whole row group and the rows either side of a boundary (the filter reads ranges).
      const edge = Array.from({ length: 40 }, (_, i) => starts[1] - 20 + i).filter((r) => r < numRows);
      for (const c of columnsOf(metadata)) {
        expect(await readColumnRows(file, metadata, starts, c, edge), c).toEqual(edge.map((r) => all[r][c]));
      }
    }
    expect(compared).toBeGreaterThan(1000);
    expect(nonNull).toBeGreaterThan(compared / 2);
  });

  it("real certificates with null and empty lists and null fields: every row of every column", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archive-search-pages-"));
    dirs.push(dir);
    const storage = new LocalStorage(dir, { sync: false });
    const rows = realEntries().map((e, i) => {
      const r = toRow(e) as Record<string, unknown>;
      if (i % 5 === 1) r.all_domains = null;
      if (i % 5 === 2) r.all_domains = [];
      if (i % 7 === 3) r.registered_domains = null;
      if (i % 3 === 0) r.issuer_o = null;
      return r;
    });
    const table = await DeltaTable.openOrCreate(storage, {
      schema: ARCHIVE_SCHEMA,
      partitionColumns: ["seen_date"],
    });
    await commitClustered(table, rows, { rowGroupRows: 16, dataPageBytes: 1024 });
    const [{ file, metadata, starts, numRows }] = await dataFiles(dir);
    expect(metadata.row_groups.length).toBeGreaterThan(1);
    const all = await decodeAll(file, metadata);
    expect(
      all.some((r) => r.all_domains === null) &&
        all.some((r) => Array.isArray(r.all_domains) && r.all_domains.length === 0),
    ).toBe(true);
    const every = Array.from({ length: numRows }, (_, i) => i);
    for (const c of columnsOf(metadata)) {
      expect(await readColumnRows(file, metadata, starts, c, every), c).toEqual(all.map((r) => r[c]));
      const odd = every.filter((i) => i % 2 === 1);
      expect(await readColumnRows(file, metadata, starts, c, odd), c).toEqual(odd.map((i) => all[i][c]));
    }
  });

  it("dictionary-encoded columns (the sink's files): every column at scattered rows equals hyparquet's decode", async () => {
    let dictionaryColumns = 0;
    for (const { file, metadata, starts, numRows } of await dataFiles(unclustered)) {
      const all = await decodeAll(file, metadata);
      dictionaryColumns += metadata.row_groups[0].columns.filter((c) =>
        c.meta_data?.encodings.includes("RLE_DICTIONARY"),
      ).length;
      const rows = [0, 1, 7, Math.floor(numRows / 2), numRows - 2, numRows - 1];
      for (const c of columnsOf(metadata)) {
        expect(await readColumnRows(file, metadata, starts, c, rows), c).toEqual(rows.map((r) => all[r][c]));
      }
    }
    expect(dictionaryColumns).toBeGreaterThan(10);
  });
});

describe("search answers what a full read with delta-rs answers", () => {
  const queries = (): string[] => [
    `domain=www.${top[0]}&limit=1000`,
    `domain=${top[3]}&limit=37`,
    `domain=*.${top[1]}&limit=1000`,
    `registered=${top[2]}&limit=50`,
    "domain=*.github.io&limit=1000",
    `registered=${top[0]}&issuer=Let's Encrypt&limit=1000`,
    `registered=${top[4]}&on=not_before&from=${new Date(NOW - 2 * 86_400_000).toISOString().slice(0, 10)}&limit=1000`,
    `issuer=sectigo limited&log=argon2026h1&from=${Math.floor(NOW / 1000) - 86_400}&limit=200`,
  ];

  it("on clustered files, every page followed, and reads a small part of the table", async () => {
    const s = new ArchiveSearch({ storage: new LocalStorage(clustered), maxScanShare: 1 });
    // Files filtered several at once (as on S3): the same rows, page by page.
    const wide = new ArchiveSearch({ storage: new LocalStorage(clustered), maxScanShare: 1, filesAtOnce: 8 });
    for (const qs of queries()) {
      const want = naive(reference, parseSearchParams(new URLSearchParams(qs), NOW));
      const got = await allPages(s, qs);
      expect(got.keys, qs).toEqual(want);
      const gotWide = await allPages(wide, qs);
      expect(gotWide.keys, qs).toEqual(want);
      expect(gotWide.pages, qs).toBe(got.pages);
      // Each result row carries its own names (some columns come from the filter's read, the rest from another).
      for (const r of reference) {
        const key = `${r.log_name}/${r.cert_index}`;
        if (got.domains.has(key)) expect(got.domains.get(key), `${qs} ${key}`).toEqual(r.all_domains ?? []);
      }
    }
    // A domain of the long tail: only its granules' pages are read, far from the whole table.
    const counts = new Map<string, number>();
    for (const row of reference)
      for (const d of row.registered_domains ?? []) counts.set(d, (counts.get(d) ?? 0) + 1);
    const rare = [...counts].find(([, n]) => n >= 2 && n <= 4)?.[0];
    const r = await s.search(parseSearchParams(new URLSearchParams(`registered=${rare}`), NOW));
    expect(r.rows.length).toBe(counts.get(rare as string));
    const size = (await DeltaTable.open(new LocalStorage(clustered))).snapshot;
    const tableBytes = size.files().reduce((n, f) => n + f.size, 0);
    expect(r.stats.rowsCandidate).toBeLessThan(12_000 / 2);
    // A small table without DER (footers weigh a lot here): the 10 M-row figures are in bench/archive-search.bench.ts.
    expect(r.stats.bytesRead).toBeLessThan(tableBytes * 0.25);
  });

  it("on files as the sink writes them (no domain filters), the same answers", async () => {
    const s = new ArchiveSearch({ storage: new LocalStorage(unclustered), maxScanShare: 1 });
    const plainRef = await referenceRows(unclustered);
    for (const qs of queries().slice(0, 4)) {
      const want = naive(plainRef, parseSearchParams(new URLSearchParams(qs), NOW));
      expect((await allPages(s, qs)).keys, qs).toEqual(want);
    }
  });

  it("cluster rewrites the sink's files: delta-rs reads the same rows, searches answer the same and read less", async () => {
    const plainRef = await referenceRows(unclustered);
    const qs = queries()[3];
    const before = await allPages(
      new ArchiveSearch({ storage: new LocalStorage(unclustered), maxScanShare: 1 }),
      qs,
    );
    const table = await DeltaTable.open(new LocalStorage(unclustered));
    const r = await clusterTable(table, { maxFileRows: 5000 });
    expect(r).toMatchObject({ filesRemoved: 6, rows: 12_000, conflicts: 0 });
    const after = await referenceRows(unclustered);
    const key = (x: RefRow) => `${x.log_name}/${x.cert_index}/${x.sha256}`;
    expect(after.map(key).sort()).toEqual(plainRef.map(key).sort());
    const clusteredSearch = await allPages(
      new ArchiveSearch({ storage: new LocalStorage(unclustered), maxScanShare: 1 }),
      qs,
    );
    expect(clusteredSearch.keys).toEqual(before.keys);
    expect(clusteredSearch.bytes).toBeLessThan(before.bytes);
  });
});

describe("bad requests and broad queries", () => {
  it("names the parameter", () => {
    const bad: [string, string][] = [
      ["isuer=x", "isuer"],
      ["domain=", "domain"],
      ["domain=exa mple.com", "domain"],
      ["domain=co.uk", "domain"],
      ["registered=www.example.com", "registered"],
      ["limit=1001", "limit"],
      ["limit=0", "limit"],
      ["from=yesterday", "from"],
      ["from=2026-05-02&to=2026-05-01", "from"],
      ["on=issued", "on"],
      ["domain=a.com&domain=b.com", "domain"],
    ];
    for (const [qs, param] of bad) {
      let err: unknown;
      try {
        parseSearchParams(new URLSearchParams(qs), NOW);
      } catch (e) {
        err = e;
      }
      expect(err, qs).toBeInstanceOf(SearchParamError);
      expect((err as SearchParamError).param, qs).toBe(param);
    }
  });

  it("refuses a query that would scan more than the configured share, saying how to narrow it", async () => {
    const s = new ArchiveSearch({ storage: new LocalStorage(clustered), maxScanShare: 0.4 });
    await expect(
      s.search(parseSearchParams(new URLSearchParams("issuer=Let's Encrypt"), NOW)),
    ).rejects.toThrow(QueryTooBroadError);
    const err = await s
      .search(parseSearchParams(new URLSearchParams("limit=5"), NOW))
      .catch((e: unknown) => e);
    expect((err as QueryTooBroadError).hint).toMatch(/domain=/);
    // The same issuer within one day passes (one of three day partitions).
    const from = new Date(NOW - 86_400_000).toISOString().slice(0, 10);
    const ok = await s.search(
      parseSearchParams(new URLSearchParams(`issuer=ZeroSSL&from=${from}T00:00:00Z&limit=5`), NOW),
    );
    expect(ok.rows.length).toBeGreaterThan(0);
  });

  it("a cursor belongs to its query", async () => {
    const s = new ArchiveSearch({ storage: new LocalStorage(clustered), maxScanShare: 1 });
    const r = await s.search(parseSearchParams(new URLSearchParams(`registered=${top[0]}&limit=3`), NOW));
    expect(r.nextCursor).not.toBeNull();
    const other = new URLSearchParams(`registered=${top[1]}&limit=3&cursor=${r.nextCursor}`);
    await expect(s.search(parseSearchParams(other, NOW))).rejects.toThrow(/different query/);
    const garbage = new URLSearchParams("registered=a.com&cursor=zzz");
    await expect(s.search(parseSearchParams(garbage, NOW))).rejects.toThrow(SearchParamError);
  });
});

describe("real certificates", () => {
  it("finds a real entry by its names and returns its DER", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archive-search-real-"));
    dirs.push(dir);
    const storage = new LocalStorage(dir, { sync: false });
    const table = await DeltaTable.openOrCreate(storage, {
      schema: ARCHIVE_SCHEMA,
      partitionColumns: ["seen_date"],
    });
    const rows = realEntries().map((e) => {
      const r = toRow(e) as Record<string, unknown>;
      // Tables written before the query columns existed: derive what the search needs.
      r.registered_domains ??= [
        ...new Set(((r.all_domains as string[]) ?? []).map(registeredDomainOf)),
      ].filter((d) => d !== null);
      return r;
    });
    await commitClustered(table, rows, { granuleRows: 4 });
    const withDomain = rows.find((r) => ((r.all_domains as string[]) ?? []).length > 0);
    if (!withDomain) throw new Error("the real entries name no domain");
    const name = (withDomain.all_domains as string[])[0].replace(/^\*\./, "");
    const s = new ArchiveSearch({ storage: new LocalStorage(dir), maxScanShare: 1 });
    const r = await s.search(parseSearchParams(new URLSearchParams(`domain=*.${name}`), NOW));
    expect(r.rows.map((x) => x.leaf_cert.sha256)).toContain(withDomain.sha256);
    const hit = r.rows.find((x) => x.leaf_cert.sha256 === withDomain.sha256);
    expect(hit?.cert_link).toBe(withDomain.cert_link);
    const der = await s.certificateDer(hit?.der as string);
    expect(createHash("sha256").update(der).digest("hex")).toBe(
      createHash("sha256")
        .update(withDomain.as_der as Uint8Array)
        .digest("hex"),
    );
  });
});
