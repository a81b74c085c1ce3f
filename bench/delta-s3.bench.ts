// The archive on S3 against local disk, in one run (issue 15): (1) Kafka → Delta rows per CPU-second of the sink
// process to a local table and to an S3 table, from the same topics (alternating, BENCH_REPEAT times); (2) commit
// latency on S3 (the put-if-absent of `_delta_log/N.json`, and a whole small append) p50/p99; (3) one sink process
// against two in one group writing the S3 table (wall-clock rows/s until every partition's txn is at its end);
// (4) file sizes on S3 before and after `optimize`. The S3 server is the stack's (moto, in Python: its latency is
// moto's, not AWS's). Prints figures; asserts nothing.
// Run: eval "$(bash scripts/stack.sh env)"; node bench/delta-s3.bench.ts   (BENCH_KAFKA_ROWS=n, BENCH_REPEAT=n)
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  DeltaTable,
  LocalStorage,
  optimize,
  type Storage,
  s3ClientConfig,
  storageFor,
  toRow,
} from "@certstream/delta";
import { CertificateEntryCodec } from "@certstream/kafka";
import type { Kafka } from "kafkajs";
import { syntheticEntries } from "../libs/delta/test/fixtures/entries.ts";
import { DeltaSink } from "../services/delta-sink/src/sink.ts";
import {
  createTopics,
  EntryProducer,
  highWatermarks,
  logger,
  type TestTopics,
  testKafka,
} from "../services/delta-sink/test/harness.ts";
import { ServiceProcess } from "../test/service-process.ts";
import { kafkaBrokers, registryUrl, s3StorageOptions, uniqueName } from "../test/stack.ts";
import { realisticEntries } from "./realistic-entries.ts";

const ROWS = Number(process.env.BENCH_KAFKA_ROWS ?? 30_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2);
const BATCH = 10_000;
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const bucket = uniqueName("bench").toLowerCase();
const s3 = (prefix: string) => ({
  table_uri: `s3://${bucket}/${prefix}`,
  table_path: "",
  storage_options: s3StorageOptions(),
});
const client = new S3Client(s3ClientConfig(s3("x")));
await client.send(new CreateBucketCommand({ Bucket: bucket }));
const dir = await mkdtemp(join(tmpdir(), "delta-s3-bench-"));

/** Runs one in-process sink over `topics` into `storage` until every partition is archived; rows/CPU-s from the first record. */
async function sinkRun(kafka: Kafka, topics: TestTopics, storage: Storage, hws: Map<number, number>) {
  const appId = "certstream-delta-sink";
  const sink = new DeltaSink({
    kafka,
    decoder: new CertificateEntryCodec({ registryUrl: registryUrl() }),
    storage,
    topics: [topics.entries, topics.backfill],
    groupId: uniqueName("delta-s3-bench"),
    appId,
    batchSize: BATCH,
    maxBatchBytes: 256 * 1024 * 1024,
    flushIntervalMs: 5000,
    maxBufferedRecords: 100_000,
    retryMaxBackoffMs: 2000,
    checkpointInterval: 10,
    logger,
  });
  void sink.start();
  let c0: NodeJS.CpuUsage | null = null;
  let t0 = 0;
  for (;;) {
    const snap = sink.deltaTable?.snapshot;
    if (!c0 && (sink.buffered > 0 || (snap && snap.numFiles > 0))) {
      c0 = process.cpuUsage();
      t0 = performance.now();
    }
    if (
      snap &&
      [...hws].every(([p, hw]) => hw === 0 || snap.txnVersion(`${appId}-${topics.entries}-${p}`) === hw - 1)
    )
      break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const c = process.cpuUsage(c0 ?? undefined);
  const wall = (performance.now() - t0) / 1000;
  await sink.stop();
  return { cpu: (c.user + c.system) / 1e6, wall };
}

try {
  const kafka = testKafka("delta-s3-bench");
  const topics = await createTopics(kafka, 3);
  const producer = new EntryProducer(kafka);
  await producer.connect([topics.entries, topics.backfill]);
  for (let i = 0; i < ROWS; i += 10_000)
    await producer.send(topics.entries, realisticEntries(Math.min(10_000, ROWS - i), 20_000_000 + i));
  await producer.disconnect();
  const hws = await highWatermarks(kafka, topics.entries);
  console.log(`${ROWS} realistic entries in ${topics.entries} (3 partitions); load average ${load()}`);

  // ---- 1. rows per CPU-second, local vs S3, alternating ----
  const local: number[] = [];
  const remote: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const l = await sinkRun(kafka, topics, new LocalStorage(join(dir, `local-${r}`)), hws);
    local.push(ROWS / l.cpu);
    console.log(
      `run ${r + 1} local: ${(ROWS / l.cpu).toFixed(0)} rows/CPU-s, ${(ROWS / l.wall).toFixed(0)} rows/s wall (load ${load()})`,
    );
    const s = await sinkRun(kafka, topics, storageFor(s3(`sink-${r}`)), hws);
    remote.push(ROWS / s.cpu);
    console.log(
      `run ${r + 1} S3:    ${(ROWS / s.cpu).toFixed(0)} rows/CPU-s, ${(ROWS / s.wall).toFixed(0)} rows/s wall (load ${load()})`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `Kafka → Delta rows/CPU-s: local ${mean(local).toFixed(0)}, S3 ${mean(remote).toFixed(0)} (S3 = ${((100 * mean(remote)) / mean(local)).toFixed(0)} % of local)`,
  );

  // ---- 2. commit latency on S3 ----
  const storage = storageFor(s3("latency"));
  const putMs: number[] = [];
  const timedStorage: Storage = {
    location: storage.location,
    put: (p, b) => storage.put(p, b),
    get: (p) => storage.get(p),
    list: (p, r, o) => storage.list(p, r, o),
    delete: (p) => storage.delete(p),
    async putIfAbsent(p, b) {
      const t = performance.now();
      const ok = await storage.putIfAbsent(p, b);
      if (/^_delta_log\/\d{20}\.json$/.test(p)) putMs.push(performance.now() - t);
      return ok;
    },
  };
  const table = await DeltaTable.openOrCreate(
    timedStorage,
    { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
    { checkpointInterval: 10, writer: CERTSTREAM_WRITER_OPTIONS },
  );
  const rows = syntheticEntries(100, { start: 1, logs: 1, days: 1 }).map(toRow);
  const appendMs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    await table.append(rows, { txns: [{ appId: "bench-0", version: i }] });
    appendMs.push(performance.now() - t);
  }
  console.log(
    `S3 commit (PUT If-None-Match of N.json): p50 ${pct(putMs, 50).toFixed(1)} ms, p99 ${pct(putMs, 99).toFixed(1)} ms; whole append of 100 rows (Parquet PUT, log probe, commit, checkpoint every 10): p50 ${pct(appendMs, 50).toFixed(1)} ms, p99 ${pct(appendMs, 99).toFixed(1)} ms (${putMs.length} commits, load ${load()})`,
  );

  // ---- 3. one sink process vs two on one S3 table ----
  const procRun = async (n: number) => {
    const prefix = `procs-${n}`;
    const yaml = [
      "host: 127.0.0.1",
      "log_level: warn",
      "kafka:",
      `  brokers: [${kafkaBrokers()
        .map((b) => JSON.stringify(b))
        .join(", ")}]`,
      `  schema_registry_url: ${JSON.stringify(registryUrl())}`,
      "  create_topics: false",
      "  topics:",
      `    entries: ${topics.entries}`,
      `    backfill: ${topics.backfill}`,
      "delta_sink:",
      "  port: 0",
      `  table_uri: s3://${bucket}/${prefix}`,
      `  storage_options: ${JSON.stringify(s3StorageOptions())}`,
      `  group_id: ${uniqueName("procs")}`,
      `  batch_size: ${BATCH}`,
      "  flush_interval_secs: 5",
      "  session_timeout_ms: 10000",
      "",
    ].join("\n");
    const cfg = join(dir, `${prefix}.yaml`);
    await writeFile(cfg, yaml);
    const t0 = performance.now();
    const procs = Array.from({ length: n }, (_, i) =>
      new ServiceProcess("delta-sink", ["--config", cfg], join(dir, `${prefix}-${i}.log`)).start({
        LOG_LEVEL: "warn",
      }),
    );
    const st = storageFor(s3(prefix));
    // Also from the first data commit on: the group joined, the table open, what a long-running group sees.
    let first: { t: number; rows: number } | null = null;
    for (;;) {
      const snap = (await DeltaTable.open(st).catch(() => null))?.snapshot;
      if (!first && snap && snap.numFiles > 0)
        first = {
          t: performance.now(),
          rows: snap.files().reduce((a, f) => a + (f.parsedStats?.numRecords ?? 0), 0),
        };
      if (
        snap &&
        [...hws].every(
          ([p, hw]) => hw === 0 || snap.txnVersion(`certstream-delta-sink-${topics.entries}-${p}`) === hw - 1,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const end = performance.now();
    const wall = (end - t0) / 1000;
    const steady = first ? (ROWS - first.rows) / ((end - first.t) / 1000) : Number.NaN;
    await Promise.all(procs.map((p) => p.stop(20_000)));
    return { wall, steady };
  };
  const one = await procRun(1);
  const two = await procRun(2);
  console.log(
    `S3, sink processes, start to all archived: one ${(ROWS / one.wall).toFixed(0)} rows/s (${one.wall.toFixed(1)} s), two ${(ROWS / two.wall).toFixed(0)} rows/s (${two.wall.toFixed(1)} s); from the first data commit: one ${one.steady.toFixed(0)} rows/s, two ${two.steady.toFixed(0)} rows/s = ${((100 * two.steady) / one.steady).toFixed(0)} % of one (load ${load()})`,
  );

  // ---- 4. optimize on S3 ----
  const opt = await DeltaTable.open(storageFor(s3("procs-2")), { writer: CERTSTREAM_WRITER_OPTIONS });
  const before = opt.snapshot.files().map((f) => f.size);
  await optimize(opt, {
    plainColumns: CERTSTREAM_WRITER_OPTIONS.plainColumns,
    targetFileSize: 128 * 1024 * 1024,
  });
  const after = opt.snapshot.files().map((f) => f.size);
  console.log(
    `optimize on S3: ${before.length} files (${before.map(mb).join(", ")} MB) → ${after.length} (${after.map(mb).join(", ")} MB)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  client.destroy();
}
process.exit(0);
