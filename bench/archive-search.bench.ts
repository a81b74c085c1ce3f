// Archive search latency and bytes read on a large table (write one with bench/archive-table.ts first):
//   node bench/archive-search.bench.ts <table dir | s3://bucket/prefix> [--queries 200] [--full-scans 3]
//     [--duckdb <dir with node_modules/@duckdb/node-api>] [--only <query kind prefix, e.g. "exact">] [--latency-ms N]
// A large table on S3: bench/s3-server.ts (s3rver; the stack's moto reads a whole object per range GET).
// Query kinds: exact domain (www.<d> and <d>), suffix (*.<d>), issuer + the last 7 days seen (partition-pruned),
// issuer + a 30-day not_before window. Domains are drawn uniformly over the table's registered domains (users
// search their own, mostly in the long tail) plus the 20 most popular. Every query pages at most once (limit 100).
// Then the same queries by full scan (every file and row group, same columns) for the ratio, and, with --duckdb
// (a directory with @duckdb/node-api installed, not a project dependency:
// `npm install --prefix .cache/duckdb-bench @duckdb/node-api`), DuckDB's read_parquet over the live files. Prints figures; asserts nothing. Wall-clock on a shared 2-core machine: note the load average.
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SearchResult } from "@certstream/archive-search";
import { ArchiveSearch, parseSearchParams, syntheticDomain } from "@certstream/archive-search";
import type { Storage } from "@certstream/delta";
import { DeltaTable, LocalStorage, storageFor, storagePath } from "@certstream/delta";
import { s3StorageOptions } from "../test/stack.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    queries: { type: "string", default: "200" },
    "full-scans": { type: "string", default: "3" },
    duckdb: { type: "string" },
    seed: { type: "string", default: "3" },
    only: { type: "string" },
    "latency-ms": { type: "string", default: "0" },
  },
});
const dir = positionals[0];
if (!dir) {
  console.error(
    "usage: node bench/archive-search.bench.ts <table dir> [--queries N] [--full-scans N] [--duckdb DIR]",
  );
  process.exit(2);
}
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
console.log(`archive search benchmark on ${dir}; load ${load()}`);

// An s3:// table is read from S3_ENDPOINT_URL (default: the stack's) with range reads; S3_ACCESS_KEY sets the key
// id and secret (S3RVER for bench/s3-server.ts). --latency-ms adds that wait before every range read, as a remote
// store's time to first byte would.
const key = process.env.S3_ACCESS_KEY;
const keys: Record<string, string> = key ? { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: key } : {};
const latencyMs = Number(values["latency-ms"]);
const storage = dir.startsWith("s3://")
  ? withLatency(
      storageFor({ table_uri: dir, table_path: "", storage_options: { ...s3StorageOptions(), ...keys } }),
      latencyMs,
    )
  : new LocalStorage(dir);
if (latencyMs > 0) console.log(`+${latencyMs} ms before every range read`);

/** The storage with `ms` of waiting before each range read (a remote store's time to first byte). */
function withLatency(s: Storage, ms: number): Storage {
  const getRange = s.getRange?.bind(s);
  if (ms <= 0 || !getRange) return s;
  return {
    location: s.location,
    putIfAbsent: (p, b) => s.putIfAbsent(p, b),
    put: (p, b) => s.put(p, b),
    get: (p) => s.get(p),
    list: (p, r, o) => s.list(p, r, o),
    delete: (p) => s.delete(p),
    size: s.size?.bind(s),
    getRange: async (p, start, end) => {
      await new Promise((r) => setTimeout(r, ms));
      return getRange(p, start, end);
    },
  };
}
const snap = (await DeltaTable.open(storage)).snapshot;
const tableBytes = snap.files().reduce((n, f) => n + f.size, 0);
const tableRows = snap.files().reduce((n, f) => n + (f.parsedStats?.numRecords ?? 0), 0);
console.log(
  `table: ${tableRows.toLocaleString()} rows, ${snap.numFiles} files, ${(tableBytes / 2 ** 30).toFixed(2)} GiB`,
);
const distinct = Math.floor(tableRows / 4);

let seed = Number(values.seed);
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const n = Number(values.queries);
const ranks: number[] = [];
for (let k = 1; k <= 20; k++) ranks.push(k);
while (ranks.length < n) ranks.push(1 + Math.floor(rand() * distinct));
const issuers = [
  "Let's Encrypt",
  "Google Trust Services",
  "Sectigo Limited",
  "DigiCert Inc",
  "ZeroSSL",
  "Amazon",
];
const newestDay = snap
  .files()
  .map((f) => f.partitionValues.seen_date ?? "")
  .sort()
  .pop() as string;
const endMs = Date.parse(`${newestDay}T23:59:59Z`);
const day = 86_400_000;
const kinds: Record<string, string[]> = {
  "exact domain": ranks.map((k, i) => `domain=${i % 2 === 0 ? "www." : ""}${syntheticDomain(k)}`),
  suffix: ranks.map((k) => `domain=*.${syntheticDomain(k)}`),
  "issuer + 7 days seen": ranks
    .slice(0, 40)
    .map(
      (_, i) =>
        `issuer=${issuers[i % issuers.length]}&from=${new Date(endMs - 7 * day).toISOString()}&to=${new Date(endMs).toISOString()}`,
    ),
  "issuer + 30-day not_before": ranks.slice(0, 40).map((_, i) => {
    const to = endMs - (60 + i * 13) * day;
    return `issuer=${issuers[i % issuers.length]}&on=not_before&from=${new Date(to - 30 * day).toISOString()}&to=${new Date(to).toISOString()}`;
  }),
};

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  bytesMean: number;
  candidateShareMean: number;
  rowsMean: number;
}

async function run(search: ArchiveSearch, queries: string[]): Promise<Figures> {
  const ms: number[] = [];
  let bytes = 0;
  let share = 0;
  let rows = 0;
  for (const qs of queries) {
    const t0 = performance.now();
    const r: SearchResult = await search.search(
      parseSearchParams(new URLSearchParams(`${qs}&limit=100`), endMs),
    );
    ms.push(performance.now() - t0);
    bytes += r.stats.bytesRead;
    share += r.stats.rowsCandidate / r.stats.tableRows;
    rows += r.rows.length;
  }
  ms.sort((a, b) => a - b);
  return {
    p50: pct(ms, 50),
    p99: pct(ms, 99),
    max: ms[ms.length - 1],
    bytesMean: bytes / queries.length,
    candidateShareMean: share / queries.length,
    rowsMean: rows / queries.length,
  };
}

const search = new ArchiveSearch({ storage, maxScanShare: 1 });
// Cold: the first query reads every candidate file's footer (kept afterwards).
const t0 = performance.now();
const cold = await search.search(
  parseSearchParams(new URLSearchParams(`${kinds["exact domain"][1]}&limit=100`), endMs),
);
console.log(
  `cold first query (footers of ${cold.stats.filesCandidate} files read): ${(performance.now() - t0).toFixed(0)} ms, ${(cold.stats.bytesRead / 2 ** 20).toFixed(1)} MiB; load ${load()}`,
);
const results: Record<string, Figures> = {};
for (const [kind, queries] of Object.entries(kinds)) {
  if (values.only && !kind.startsWith(values.only)) continue;
  results[kind] = await run(search, queries);
  const f = results[kind];
  console.log(
    `${kind.padEnd(28)} ${queries.length} queries  p50 ${f.p50.toFixed(1)} ms  p99 ${f.p99.toFixed(1)} ms  max ${f.max.toFixed(1)} ms  ` +
      `read ${(f.bytesMean / 1024).toFixed(0)} KiB/query = ${((100 * f.bytesMean) / tableBytes).toFixed(4)} % of the table  ` +
      `candidate rows ${(100 * f.candidateShareMean).toFixed(2)} %  rows ${f.rowsMean.toFixed(1)}; load ${load()}`,
  );
}

const fullScans = Number(values["full-scans"]);
if (fullScans > 0) {
  const full = new ArchiveSearch({ storage, maxScanShare: 1, fullScan: true });
  for (const [kind, queries] of Object.entries(kinds)) {
    // Long-tail queries: a full scan must read everything to find (or not find) their few rows.
    const sample = queries.slice(20, 20 + fullScans);
    const f = await run(full, sample);
    const pruned = await run(search, sample);
    console.log(
      `full scan, ${kind.padEnd(26)} ${sample.length} queries  p50 ${f.p50.toFixed(0)} ms  read ${(f.bytesMean / 2 ** 20).toFixed(1)} MiB/query ` +
        `(${((100 * f.bytesMean) / tableBytes).toFixed(2)} % of the table); pruned/full: time ${(pruned.p50 / f.p50).toFixed(4)}, bytes ${(pruned.bytesMean / f.bytesMean).toFixed(5)}; load ${load()}`,
    );
  }
}

if (values.duckdb && !dir.startsWith("s3://")) {
  const { DuckDBInstance } = (await import(
    join(values.duckdb, "node_modules/@duckdb/node-api/lib/index.js")
  )) as {
    DuckDBInstance: {
      create(
        path: string,
      ): Promise<{ connect(): Promise<{ run(sql: string): Promise<{ getRows(): Promise<unknown[][]> }> }> }>;
    };
  };
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  const files = snap.files().map((f) => `'${join(dir, storagePath(f.path)).replace(/'/g, "''")}'`);
  const cols =
    "cert_index, log_name, seen, source_url, cert_link, serial_number, sha256, not_before, not_after, subject_aggregated, issuer_aggregated, all_domains, registered_domains";
  const ms: number[] = [];
  for (const k of ranks.slice(20, 40)) {
    const d = syntheticDomain(k);
    const t = performance.now();
    const r = await con.run(
      `SELECT ${cols} FROM read_parquet([${files.join(",")}]) WHERE list_contains(registered_domains, '${d}') AND list_contains(all_domains, 'www.${d}') LIMIT 100`,
    );
    await r.getRows();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(
    `duckdb read_parquet, exact domain: ${ms.length} queries  p50 ${pct(ms, 50).toFixed(0)} ms  p99 ${pct(ms, 99).toFixed(0)} ms; load ${load()}`,
  );
}
console.log(JSON.stringify({ tableRows, tableBytes, files: snap.numFiles, results }));
