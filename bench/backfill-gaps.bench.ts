// Gap detection speed of the backfill job. Prints figures; asserts nothing.
//   node bench/backfill-gaps.bench.ts                 (BENCH_ROWS=10000000 BENCH_STATS_ROWS=100000000 by default)
// 1. stats only: 100 M rows described by Delta file stats, single-log files (answered without reading data).
// 2. a real Delta table of BENCH_ROWS rows (cert_index + log_id, partitioned by seen_date) written through libs/delta:
//    a) files holding one log each (stats settle them), b) files mixing every log (the sink's layout: the two
//    columns of every file are read with projection), c) mixed files with a 2 KiB payload column per row (what
//    as_der and chain weigh in the archive): only the two columns' byte ranges are read. Holes are punched at known
//    places and must be found.
// Wall-clock on a shared 2-core machine: check `uptime` first.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ArchiveIndex, type DataFileStats, gapsForLog, scanArchive } from "@certstream/backfill";
import { type AddAction, DeltaTable, LocalStorage, ParquetWriter } from "@certstream/delta";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const STATS_ROWS = Number(process.env.BENCH_STATS_ROWS ?? 100_000_000);
const LOGS = 20;
const logIds = Array.from({ length: LOGS }, (_, i) => Buffer.alloc(32, i + 1).toString("base64"));

function mem(): string {
  return `${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB RSS`;
}

console.log(
  `backfill gap detection benchmark; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);

// 1. Stats only.
{
  const perFile = 10_000;
  const files: DataFileStats[] = [];
  const perLog = STATS_ROWS / LOGS;
  for (let l = 0; l < LOGS; l++) {
    for (let start = 0; start < perLog; start += perFile) {
      // One hole of 10 entries per 1000 files per log: those files have fewer rows than their span.
      const holed = (start / perFile) % 100 === 50;
      files.push({
        path: `f-${l}-${start}`,
        numRecords: holed ? perFile - 10 : perFile,
        minIndex: start,
        maxIndex: start + perFile - 1,
        minLog: logIds[l],
        maxLog: logIds[l],
        nullIndexCount: 0,
      });
    }
  }
  const t0 = performance.now();
  const index = new ArchiveIndex(logIds);
  const toRead = index.planFiles(files);
  const t1 = performance.now();
  let missing = 0;
  for (const id of logIds) missing += gapsForLog(index, id, { from: null, ingesterPosition: null }).missing;
  const t2 = performance.now();
  console.log(
    `stats only: ${STATS_ROWS.toLocaleString()} rows in ${files.length.toLocaleString()} files, ${LOGS} logs: ` +
      `plan ${(t1 - t0).toFixed(0)} ms, gaps ${(t2 - t1).toFixed(0)} ms; ${toRead.length} files would be read ` +
      `(those with a hole: fewer rows than their span); until they are read their ranges count as missing ` +
      `(${missing.toLocaleString()}); ${mem()}`,
  );
}

// 2. A real table.
async function buildTable(
  dir: string,
  mixed: boolean,
  rows: number,
  payloadBytes: number,
): Promise<{ holes: number; writeMs: number; bytes: number }> {
  const payloadField = { name: "payload", type: "binary" as const, nullable: true, metadata: {} };
  const storage = new LocalStorage(dir, { sync: false });
  const table = await DeltaTable.openOrCreate(storage, {
    schema: {
      type: "struct",
      fields: [
        { name: "cert_index", type: "long", nullable: false, metadata: {} },
        { name: "log_id", type: "string", nullable: false, metadata: {} },
        { name: "seen_date", type: "string", nullable: false, metadata: {} },
        ...(payloadBytes > 0 ? [payloadField] : []),
      ],
    },
    partitionColumns: ["seen_date"],
  });
  const writer = new ParquetWriter({
    type: "struct",
    fields: [
      { name: "cert_index", type: "long", nullable: false, metadata: {} },
      { name: "log_id", type: "string", nullable: false, metadata: {} },
      ...(payloadBytes > 0 ? [payloadField] : []),
    ],
  });
  let bytes = 0;
  const fileRows = 100_000;
  const perLog = rows / LOGS;
  const t0 = performance.now();
  let holes = 0;
  let pending: AddAction[] = [];
  for (let f = 0; f * fileRows < rows; f++) {
    const n = Math.min(fileRows, rows - f * fileRows);
    const idx = new Array<number>(n);
    const log = new Array<string>(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const g = f * fileRows + i; // global row
      // mixed: row g belongs to log g % LOGS (every file holds every log); else file f holds one log's run.
      const l = mixed ? g % LOGS : Math.floor(g / perLog);
      const x = mixed ? Math.floor(g / LOGS) : g - l * perLog;
      if (x % 1_000_000 === 777) {
        holes++;
        continue; // a hole
      }
      idx[k] = x;
      log[k] = logIds[l];
      k++;
    }
    idx.length = k;
    log.length = k;
    // The payload stands for what makes real rows a few KB (as_der, chain): incompressible bytes.
    const payload = payloadBytes > 0 ? Array.from({ length: k }, () => randomBytes(payloadBytes)) : undefined;
    const written = writer.writeColumns({ cert_index: idx, log_id: log, ...(payload ? { payload } : {}) }, k);
    bytes += written.bytes.byteLength;
    const path = `seen_date=2026-11-24/part-${String(f).padStart(5, "0")}.zstd.parquet`;
    await storage.put(path, written.bytes);
    pending.push({
      path,
      partitionValues: { seen_date: "2026-11-24" },
      size: written.bytes.byteLength,
      modificationTime: Date.now(),
      dataChange: true,
      stats: JSON.stringify(written.stats),
    });
    if (pending.length === 5) {
      await table.commit(
        pending.map((add) => ({ add })),
        { operation: "WRITE" },
      );
      pending = [];
    }
  }
  if (pending.length > 0)
    await table.commit(
      pending.map((add) => ({ add })),
      { operation: "WRITE" },
    );
  return { holes, writeMs: performance.now() - t0, bytes };
}

const PAYLOAD_ROWS = Math.min(ROWS, Number(process.env.BENCH_PAYLOAD_ROWS ?? 1_000_000));
for (const [mixed, rows, payloadBytes] of [
  [false, ROWS, 0],
  [true, ROWS, 0],
  [true, PAYLOAD_ROWS, 2048],
] as const) {
  const dir = mkdtempSync(join(tmpdir(), "bf-bench-"));
  try {
    const { holes, writeMs, bytes } = await buildTable(dir, mixed, rows, payloadBytes);
    const t0 = performance.now();
    const scan = await scanArchive(dir, logIds);
    const t1 = performance.now();
    let missing = 0;
    let gaps = 0;
    for (const id of logIds) {
      const g = gapsForLog(scan.index, id, { from: null, ingesterPosition: null });
      missing += g.missing;
      gaps += g.gaps.length;
    }
    const t2 = performance.now();
    const st = scan.index.stats;
    console.log(
      `table ${mixed ? "mixed-log files" : "single-log files"}${payloadBytes ? ` + ${payloadBytes} B payload per row` : ""}: ` +
        `${rows.toLocaleString()} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB (written in ${(writeMs / 1000).toFixed(1)} s): ` +
        `scan ${(t1 - t0).toFixed(0)} ms (${st.dense.files} files from stats, ${st.read.files} read = ` +
        `${st.read.rows.toLocaleString()} rows, ${(((st.read.rows / (t1 - t0)) * 1000) / 1e6).toFixed(2)} M rows/s), ` +
        `gaps ${(t2 - t1).toFixed(0)} ms; found ${missing} missing in ${gaps} gaps (punched ${holes}); ${mem()}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
