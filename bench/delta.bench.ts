// Delta sink throughput: rows per second into a Delta table (1) from memory (CertificateEntry → row → Parquet ZSTD →
// commit), split into its stages, and (2) from Kafka through the real sink (fetch, Avro decode via the registry,
// rows, Parquet, commit), plus the file sizes before and after `optimize`. One Node process (Parquet encoding in
// parquet-wasm is single-threaded), so the figures are for one core. Prints figures; asserts nothing.
// Run: eval "$(bash scripts/stack.sh env)"; node bench/delta.bench.ts   (BENCH_ROWS=n, BENCH_KAFKA_ROWS=n)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  type CertstreamRow,
  DeltaTable,
  LocalStorage,
  optimize,
  ParquetWriter,
  toRow,
} from "@certstream/delta";
import { CertificateEntryCodec } from "@certstream/kafka";
import { DeltaSink } from "../services/delta-sink/src/sink.ts";
import {
  createTopics,
  EntryProducer,
  highWatermarks,
  logger,
  testKafka,
} from "../services/delta-sink/test/harness.ts";
import { registryUrl, uniqueName } from "../test/stack.ts";
import { realisticEntries } from "./realistic-entries.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const KAFKA_ROWS = Number(process.env.BENCH_KAFKA_ROWS ?? 50_000);
const BATCH = 10_000;
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

/**
 * Wall and CPU time of a step. The machines running this are shared (load often above the core count), so rows per
 * CPU-second is the "one core" figure; wall-clock rows/s is printed beside it.
 */
async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}
const rate = (n: number, t: { wall: number; cpu: number }) =>
  `${(n / t.cpu).toFixed(0).padStart(8)} rows/CPU-s ${(n / t.wall).toFixed(0).padStart(8)} rows/s wall`;

const dir = await mkdtemp(join(tmpdir(), "delta-bench-"));
try {
  // ---- 1. From memory -------------------------------------------------------------------------------------
  // Scoped so that its rows can be collected before the Kafka part (a big heap would slow that part's GC).
  if (ROWS > 0)
    await (async () => {
      const entries = realisticEntries(ROWS, 0);
      const tRow = await timed(() => entries.map((e) => toRow(e)));
      const rows: CertstreamRow[] = tRow.value;

      const dataSchema = {
        type: "struct" as const,
        fields: CERTSTREAM_TABLE_SCHEMA.fields.filter((f) => f.name !== "seen_date"),
      };
      const writer = new ParquetWriter(dataSchema, CERTSTREAM_WRITER_OPTIONS);
      writer.write(rows.slice(0, 1000)); // warm up wasm
      const encRows = Math.min(ROWS, 50_000);
      const tEnc = await timed(() => {
        let bytes = 0;
        for (let i = 0; i < encRows; i += BATCH)
          bytes += writer.write(rows.slice(i, i + BATCH)).bytes.byteLength;
        return bytes;
      });

      const tablePath = join(dir, "memory");
      const table = await DeltaTable.openOrCreate(
        new LocalStorage(tablePath),
        { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
        { checkpointInterval: 10, writer: CERTSTREAM_WRITER_OPTIONS },
      );
      const tApp = await timed(async () => {
        for (let i = 0; i < ROWS; i += BATCH) {
          await table.append(rows.slice(i, i + BATCH), {
            txns: [{ appId: "bench-0", version: i + BATCH - 1 }],
            expectedTxns: new Map([["bench-0", i === 0 ? undefined : i - 1]]),
          });
        }
      });
      const files = table.snapshot.files();
      const sizes = files.map((f) => f.size);
      console.log(
        `rows                                   ${ROWS} (realistic entropy: unique signatures, fingerprints, domains)`,
      );
      console.log(`toRow (CertificateEntry → row)         ${rate(ROWS, tRow)}`);
      console.log(
        `Parquet encode (Arrow + ZSTD)          ${rate(encRows, tEnc)}   ${(tEnc.value / encRows).toFixed(0)} bytes/row`,
      );
      console.log(`append (encode + write + commit)       ${rate(ROWS, tApp)}   batches of ${BATCH}`);
      console.log(
        `memory → Delta end to end              ${rate(ROWS, { wall: tRow.wall + tApp.wall, cpu: tRow.cpu + tApp.cpu })}`,
      );
      console.log(
        `files before optimize                  ${files.length} files, ${mb(Math.min(...sizes))}–${mb(Math.max(...sizes))} MB, total ${mb(sizes.reduce((a, b) => a + b, 0))} MB`,
      );

      const tOpt = await timed(() =>
        optimize(table, {
          targetFileSize: 128 * 1024 * 1024,
          minFileSize: 64 * 1024 * 1024,
          plainColumns: CERTSTREAM_WRITER_OPTIONS.plainColumns,
        }),
      );
      const after = (await DeltaTable.open(new LocalStorage(tablePath))).snapshot.files().map((f) => f.size);
      console.log(
        `optimize                               ${tOpt.value.filesRemoved} → ${tOpt.value.filesAdded} files; ${rate(ROWS, tOpt)}`,
      );
      console.log(
        `files after optimize                   ${after.length} files: ${after.map((s) => `${mb(s)} MB`).join(", ")}`,
      );
      console.log(`memory: rss ${mb(process.memoryUsage().rss)} MB`);
    })();

  // ---- 2. From Kafka through the sink ----------------------------------------------------------------------
  if (KAFKA_ROWS > 0) {
    const kafka = testKafka("delta-bench");
    // BENCH_TOPICS=<entries>,<backfill> reuses topics produced by an earlier run (to profile the consumer alone).
    const reuse = process.env.BENCH_TOPICS?.split(",");
    const topics = reuse
      ? { entries: reuse[0], backfill: reuse[1], partitions: 3 }
      : await createTopics(kafka, 3);
    if (!reuse) {
      const producer = new EntryProducer(kafka);
      await producer.connect([topics.entries, topics.backfill]);
      for (let i = 0; i < KAFKA_ROWS; i += 10_000)
        await producer.send(
          topics.entries,
          realisticEntries(Math.min(10_000, KAFKA_ROWS - i), 10_000_000 + i),
        );
      await producer.disconnect();
      console.log(`produced to BENCH_TOPICS=${topics.entries},${topics.backfill}`);
    }
    const kTable = join(dir, "kafka");
    const sink = new DeltaSink({
      kafka,
      decoder: new CertificateEntryCodec({ registryUrl: registryUrl() }),
      storage: new LocalStorage(kTable),
      topics: [topics.entries, topics.backfill],
      groupId: uniqueName("delta-bench"),
      appId: "certstream-delta-sink",
      batchSize: BATCH,
      maxBatchBytes: 256 * 1024 * 1024,
      flushIntervalMs: 5000,
      maxBufferedRecords: 100_000,
      retryMaxBackoffMs: 2000,
      checkpointInterval: 10,
      logger,
      ...(process.env.BENCH_FETCH_MB
        ? {
            consumerConfig: {
              maxBytesPerPartition: Number(process.env.BENCH_FETCH_MB) * 1024 * 1024,
              maxBytes: 3 * Number(process.env.BENCH_FETCH_MB) * 1024 * 1024,
            },
          }
        : {}),
    });
    const hws = await highWatermarks(kafka, topics.entries);
    // Steady state: from the first decoded record (group joined, table open, partitions positioned) to the end.
    // Warm: from the end of the first flush (JIT and wasm tier-up of the first batch done) to the end.
    type Mark = { cpu: NodeJS.CpuUsage; wall: number; rowsBefore: number };
    const mark: { steady: Mark | null; warm: Mark | null } = { steady: null, warm: null };
    const startVersion = { v: -1 };
    const tK = await timed(async () => {
      void sink.start();
      // Watch the sink's own snapshot (cheap) rather than re-reading the table, which would cost CPU here.
      for (;;) {
        const snap = sink.deltaTable?.snapshot;
        if (snap && startVersion.v < 0) startVersion.v = snap.version;
        if (!mark.steady && (sink.buffered > 0 || (snap && snap.version > startVersion.v)))
          mark.steady = { cpu: process.cpuUsage(), wall: performance.now(), rowsBefore: sink.buffered };
        if (!mark.warm && snap && startVersion.v >= 0 && snap.version > startVersion.v) {
          const committed = snap.files().reduce((a, f) => a + (f.parsedStats?.numRecords ?? 0), 0);
          mark.warm = {
            cpu: process.cpuUsage(),
            wall: performance.now(),
            rowsBefore: committed + sink.buffered,
          };
        }
        const done =
          snap &&
          [...hws].every(
            ([p, hw]) =>
              hw === 0 || snap.txnVersion(`certstream-delta-sink-${topics.entries}-${p}`) === hw - 1,
          );
        if (done) break;
        await new Promise((r) => setTimeout(r, mark.warm ? 100 : 5));
      }
    });
    const since = (x: Mark | null) =>
      x && {
        rows: KAFKA_ROWS - x.rowsBefore,
        cpu: (() => {
          const c = process.cpuUsage(x.cpu);
          return (c.user + c.system) / 1e6;
        })(),
        wall: (performance.now() - x.wall) / 1000,
      };
    const steady = since(mark.steady);
    const warm = since(mark.warm);
    await sink.stop();
    const kFiles = (await DeltaTable.open(new LocalStorage(kTable))).snapshot.files().map((f) => f.size);
    console.log(
      `Kafka → Delta (sink, ${KAFKA_ROWS} rows)      ${rate(KAFKA_ROWS, tK)}   incl. group join, table open, polling the table; ${kFiles.length} files, avg ${mb(kFiles.reduce((a, b) => a + b, 0) / kFiles.length)} MB`,
    );
    if (steady)
      console.log(
        `Kafka → Delta steady state (${steady.rows} rows)  ${rate(steady.rows, steady)}   from the first decoded record (excl. group join, table open)`,
      );
    if (warm)
      console.log(
        `Kafka → Delta warm (${warm.rows} rows)          ${rate(warm.rows, warm)}   after the first flush (JIT and wasm tier-up of the first batch excluded)`,
      );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
