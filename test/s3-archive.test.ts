/**
 * The archive in object storage: three delta-sink replicas (one consumer group, each its own process and working
 * directory) write one table on the stack's S3-compatible server through kill -9s and the rebalances they cause,
 * while `optimize` compacts the table; then the backfill job finds the holes the live stream left in the S3 table
 * and fills them. Python `deltalake` reads the table from the S3 endpoint: every (log, index) exactly once.
 */
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { DeltaTable, s3ClientConfig, storageFor } from "@certstream/delta";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWithDeltaRs } from "../libs/delta/test/python.ts";
import { sinkTxnVersions } from "../services/backfill/src/archive-scan.ts";
import {
  createTopics,
  fetchLiveEntries,
  keepAllBut,
  logSourceOf,
  publishLive,
  publishState,
  runBackfillCli,
  tempDir,
  testKafka,
  uniqueTopics,
  writeConfig,
} from "../services/backfill/test/harness.ts";
import { StandInServer } from "./ct-standin/server.ts";
import { ServiceProcess } from "./service-process.ts";
import { repoRoot, s3StorageOptions, uniqueName } from "./stack.ts";

const SIZE = 600;
const HOLES = [
  { start: 40, end: 90 },
  { start: 300, end: 301 },
  { start: 520, end: 560 },
];

describe("archive on S3: several sinks, kill -9, optimize, backfill (real broker, registry, S3 server)", () => {
  const server = new StandInServer({
    rfc6962: [
      { name: "alpha", initialSize: SIZE, mode: "distinct", pageSize: 64, operator: "Op A", certSeed: 11 },
    ],
  });
  const dir = tempDir("s3-archive");
  let kafka: Kafka;
  let bucket: string;

  beforeAll(async () => {
    await server.start();
    kafka = testKafka();
    bucket = uniqueName("archive").toLowerCase();
    const location = { table_uri: `s3://${bucket}`, table_path: "", storage_options: s3StorageOptions() };
    const client = new S3Client(s3ClientConfig(location));
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
  });

  afterAll(async () => {
    await server.stop();
  });

  it("a sink whose bucket does not exist stops at start (exit 2), naming the key", {
    timeout: 60_000,
  }, async () => {
    const topics = uniqueTopics("s3-nobucket");
    const cfg = writeConfig(dir, "nobucket.yaml", {
      topics,
      tablePath: join(dir, "unused"),
      logs: [],
      overrides: {
        delta_sink: { table_uri: `s3://${bucket}-missing/t`, storage_options: s3StorageOptions() },
        kafka: { create_topics: false },
      },
    });
    const p = new ServiceProcess("delta-sink", ["--config", cfg], null);
    let output = "";
    p.onOutput((_s, chunk) => {
      output += chunk;
    });
    p.start({ LOG_LEVEL: "info" });
    const exit = await p.exitStatus;
    expect(exit.code).toBe(2);
    expect(output).toContain(
      `config key \\"delta_sink.table_uri\\": bucket \\"${bucket}-missing\\" does not exist`,
    );
  });

  it("every (log, index) exactly once after kill -9s, rebalances, optimize and a backfill", {
    timeout: 240_000,
  }, async () => {
    const log = server.rfc("alpha");
    const conf = {
      name: "alpha",
      url: server.url("alpha"),
      operator: log.operator,
      key: log.key.publicKeyBase64,
    };
    const source = logSourceOf(conf, log.key.logIdBase64);
    const entries = await fetchLiveEntries(source, SIZE);
    const topics = uniqueTopics("s3-archive");
    await createTopics(kafka, topics);
    const tableUri = `s3://${bucket}/certstream`;
    const cfg = writeConfig(dir, "s3.yaml", {
      topics,
      tablePath: join(dir, "unused-local-table"),
      logs: [conf],
      overrides: {
        delta_sink: {
          table_uri: tableUri,
          storage_options: s3StorageOptions(),
          batch_size: 40,
          flush_interval_secs: 1,
          session_timeout_ms: 6000,
          checkpoint_interval: 5,
        },
      },
    });
    const storage = storageFor({ table_uri: tableUri, table_path: "", storage_options: s3StorageOptions() });
    const sinks: ServiceProcess[] = [];
    const startSink = (n: number) => {
      const cwd = join(dir, `sink-${n}`);
      mkdirSync(cwd, { recursive: true });
      const p = new ServiceProcess("delta-sink", ["--config", cfg], join(cwd, "sink.log")).start(
        { LOG_LEVEL: "warn" },
        { cwd },
      );
      sinks.push(p);
      return p;
    };
    const tableVersion = async () => (await DeltaTable.open(storage).catch(() => null))?.version ?? -1;
    const waitVersion = async (atLeast: number) => {
      const deadline = Date.now() + 60_000;
      while ((await tableVersion()) < atLeast) {
        if (Date.now() > deadline) throw new Error(`table on S3 never reached version ${atLeast}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    };

    try {
      const a = startSink(1);
      const b = startSink(2);
      startSink(3);
      // The live stream with holes, in slow batches so that the kills fall in the middle of it.
      const keep = keepAllBut(HOLES);
      const half = entries.filter((e) => e.index < SIZE / 2);
      const rest = entries.filter((e) => e.index >= SIZE / 2);
      await publishLive(kafka, topics, half, keep);
      await waitVersion(2);
      a.signal("SIGKILL"); // kill -9: its partitions move to the others after the session timeout
      const optimizer = new ServiceProcess(
        "delta-sink",
        ["--config", cfg, "optimize", "--before", "2999-01-01"],
        join(dir, "optimize.log"),
      ).start({ LOG_LEVEL: "warn" });
      await publishLive(kafka, topics, rest, keep);
      startSink(4); // a replacement joins: another rebalance
      const v = await tableVersion();
      await waitVersion(v + 1);
      b.signal("SIGKILL");
      expect((await optimizer.exitStatus).code).toBe(0);

      // Everything live is in the table: every partition's txn at its last offset.
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topics.entries);
      await admin.disconnect();
      const deadline = Date.now() + 90_000;
      for (;;) {
        const snap = (await DeltaTable.open(storage)).snapshot;
        const versions = sinkTxnVersions(snap, topics.entries);
        const behind = offsets.filter(
          (o) => BigInt(o.high) > 0n && (versions.get(o.partition) ?? -1n) < BigInt(o.high) - 2n,
        );
        if (behind.length === 0) break;
        if (Date.now() > deadline) throw new Error(`sinks did not catch up: ${JSON.stringify(behind)}`);
        await new Promise((r) => setTimeout(r, 500));
      }

      // The backfill job reads the gaps from the S3 table, fetches them from the log, and waits for the sinks.
      await publishState(kafka, topics, source, SIZE);
      const dry = await runBackfillCli(cfg, ["--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`in ${tableUri}`);
      expect(dry.stdout).toMatch(/alpha \[[^\]]+\]: 91 missing in 3 gap\(s\)/);
      const run = await runBackfillCli(cfg, ["--wait"]);
      expect(run.code, run.stderr).toBe(0);

      // delta-rs, from the S3 endpoint: every index of the log exactly once.
      const view = await readWithDeltaRs(tableUri, [], s3StorageOptions());
      const counts = new Map<number, number>();
      for (const r of view.rows) {
        if (r.log_id !== source.id) continue;
        const i = Number(r.cert_index);
        counts.set(i, (counts.get(i) ?? 0) + 1);
      }
      const missing = entries.filter((e) => !counts.has(e.index)).map((e) => e.index);
      const doubled = [...counts].filter(([, n]) => n > 1).map(([i]) => i);
      expect({ missing, doubled }).toEqual({ missing: [], doubled: [] });
      expect(counts.size).toBe(SIZE);
      expect(new Set(view.rows.map((r) => r.log_name))).toEqual(new Set(["alpha"]));

      // `files` lists exactly the active files, as URIs a Parquet reader (DuckDB's read_parquet) can take.
      const { stdout } = await promisify(execFile)(
        join(repoRoot, "node_modules/.bin/node"),
        [join(repoRoot, "services/delta-sink/src/main.ts"), "--config", cfg, "files"],
        { env: { ...process.env, LOG_LEVEL: "warn" } },
      );
      const uris = stdout.trim().split("\n");
      expect(uris).toHaveLength(view.num_files);
      for (const u of uris)
        expect(u).toMatch(new RegExp(`^${tableUri}/seen_date=\\d{4}-\\d{2}-\\d{2}/.+\\.parquet$`));
    } finally {
      await Promise.all(sinks.map((s) => (s.alive ? s.stop(15_000) : Promise.resolve())));
    }
  });
});
