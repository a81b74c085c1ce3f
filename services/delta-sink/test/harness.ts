import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DeltaTable, LocalStorage } from "@certstream/delta";
import {
  CertificateEntryCodec,
  checkedSend,
  createKafka,
  entryKey,
  keyPartitioner,
  valueSubject,
} from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import type { CertificateEntry } from "@certstream/schema";
import type { Kafka, Producer } from "kafkajs";
import { ServiceProcess } from "../../../test/service-process.ts";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";

export const logger = createLogger("delta-sink-test", process.env.TEST_LOG_LEVEL ?? "warn");

export interface TestTopics {
  entries: string;
  backfill: string;
  partitions: number;
}

/** Fresh topics for one test (unique names: the stack is shared). */
export async function createTopics(kafka: Kafka, partitions = 3, replicationFactor = 1): Promise<TestTopics> {
  const t = { entries: uniqueName("dsink-entries"), backfill: uniqueName("dsink-backfill"), partitions };
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [t.entries, t.backfill].map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
        // A private multi-node cluster: acks=all must survive one broker being down.
        ...(replicationFactor > 1 ? { configEntries: [{ name: "min.insync.replicas", value: "2" }] } : {}),
      })),
    });
  } finally {
    await admin.disconnect();
  }
  return t;
}

/** A client of the shared stack, or of `brokers` (a private KafkaCluster). */
export function testKafka(clientId = "delta-sink-test", brokers: string[] = kafkaBrokers()): Kafka {
  return createKafka({ brokers, clientId, logger });
}

/**
 * Produces CertificateEntry records, registry-encoded, keyed by leaf SHA-256, as the ingester and backfill do.
 * Sends go through checkedSend, as the services' do: kafkajs' multi-broker send can resolve without having sent a
 * partition whose leader moved mid-send (a broker kill), and a test would then count an "acked" entry the sink
 * never saw (the coordinator-loss test did: 31 of 7,650).
 */
export class EntryProducer {
  private readonly producer: Producer;
  private readonly partitionOf = new Map<string, (key: Buffer) => number>();
  private readonly kafka: Kafka;
  readonly codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  constructor(kafka: Kafka) {
    this.kafka = kafka;
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }
  async connect(topics: string[]): Promise<void> {
    await this.producer.connect();
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const { name, partitions } of (await admin.fetchTopicMetadata({ topics })).topics)
        this.partitionOf.set(name, keyPartitioner(name, partitions.length));
    } finally {
      await admin.disconnect();
    }
    for (const t of topics) await this.codec.register(valueSubject(t));
  }
  async send(topic: string, entries: CertificateEntry[]): Promise<void> {
    const partitionOf = this.partitionOf.get(topic);
    if (!partitionOf) throw new Error(`EntryProducer: ${topic} was not given to connect()`);
    for (let i = 0; i < entries.length; i += 100) {
      const messages = entries.slice(i, i + 100).map((e) => {
        const key = entryKey(e);
        return { key, partition: partitionOf(key), value: this.codec.encodeSync(e, valueSubject(topic)) };
      });
      await checkedSend(this.producer, topic, messages);
    }
  }
  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** End offsets (high watermarks) per partition of a topic. */
export async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** (source_url, cert_index) of every row, with how often each occurs, via our reader. */
export async function tableKeyCounts(tablePath: string): Promise<Map<string, number>> {
  const t = await DeltaTable.open(new LocalStorage(tablePath, { sync: false }));
  const counts = new Map<string, number>();
  for await (const b of t.scan({ columns: ["source_url", "cert_index"] })) {
    for (let i = 0; i < b.numRows; i++) {
      const k = `${b.columns.source_url[i]}#${b.columns.cert_index[i]}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return counts;
}

export const entryKeyOf = (e: CertificateEntry) => `${e.log.url}#${e.index}`;

/** Waits until every partition of the topics has a txn in the table at its last offset (hw - 1). */
export async function waitCaughtUp(
  kafka: Kafka,
  tablePath: string,
  topics: string[],
  appId: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const hws = new Map<string, Map<number, number>>();
  for (const t of topics) hws.set(t, await highWatermarks(kafka, t));
  let lastMissing = "";
  while (Date.now() < deadline) {
    try {
      const snap = (await DeltaTable.open(new LocalStorage(tablePath, { sync: false }))).snapshot;
      const missing: string[] = [];
      for (const [topic, parts] of hws) {
        for (const [p, hw] of parts) {
          if (hw === 0) continue;
          const v = snap.txnVersion(`${appId}-${topic}-${p}`);
          if (v !== hw - 1) missing.push(`${topic}/${p}: ${v ?? "none"} < ${hw - 1}`);
        }
      }
      if (missing.length === 0) return;
      lastMissing = missing.join(", ");
    } catch (err) {
      lastMissing = String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`sink did not catch up within ${timeoutMs} ms: ${lastMissing}`);
}

export interface SinkConfigOptions {
  topics: TestTopics;
  groupId: string;
  tablePath: string;
  appId?: string;
  batchSize?: number;
  flushIntervalSecs?: number;
  checkpointInterval?: number;
  maxBufferedRecords?: number;
  /** Brokers of a private cluster (default: the shared stack's). The child also needs them in its env. */
  brokers?: string[];
  sessionTimeoutMs?: number;
}

/** A config file for services/delta-sink/src/main.ts. */
export async function writeSinkConfig(dir: string, o: SinkConfigOptions): Promise<string> {
  const yaml = [
    "host: 127.0.0.1",
    "log_level: info",
    "kafka:",
    `  brokers: [${(o.brokers ?? kafkaBrokers()).map((b) => JSON.stringify(b)).join(", ")}]`,
    `  schema_registry_url: ${JSON.stringify(registryUrl())}`,
    "  create_topics: false",
    "  topics:",
    `    entries: ${o.topics.entries}`,
    `    backfill: ${o.topics.backfill}`,
    "delta_sink:",
    "  enabled: true",
    "  port: 0",
    `  table_path: ${JSON.stringify(o.tablePath)}`,
    `  group_id: ${o.groupId}`,
    `  app_id: ${o.appId ?? "certstream-delta-sink"}`,
    `  batch_size: ${o.batchSize ?? 2000}`,
    `  flush_interval_secs: ${o.flushIntervalSecs ?? 1}`,
    `  checkpoint_interval: ${o.checkpointInterval ?? 10}`,
    `  max_buffered_records: ${o.maxBufferedRecords ?? 50000}`,
    "  retry_max_backoff_secs: 2",
    `  session_timeout_ms: ${o.sessionTimeoutMs ?? 6000}`,
    "",
  ].join("\n");
  const path = join(dir, `sink-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, yaml);
  return path;
}

export interface SinkProcess {
  proc: ServiceProcess;
  /** Resolves with http://host:port once the process logs that it listens. */
  url: Promise<string>;
}

/** Runs services/delta-sink/src/main.ts as a separate process (so it can be killed with SIGKILL). */
export function spawnSink(
  configPath: string,
  logFile: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): SinkProcess {
  const proc = new ServiceProcess("delta-sink", ["--config", configPath, ...args], logFile).start({
    LOG_LEVEL: "info",
    ...env,
  });
  const url = proc.waitForStdout(/"url":"(http:\/\/[^"]+)".*delta-sink: listening/).then((m) => m[1]);
  return { proc, url };
}
