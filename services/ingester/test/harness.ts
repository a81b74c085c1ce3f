// Shared pieces of the ingester's integration tests: real broker + registry (test/stack.ts), stand-in RFC 6962
// logs served over HTTP, config files for child-process replicas, and read_committed read-back of topics.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromRawEntry } from "@certstream/ct";
import {
  CertificateEntryCodec,
  createKafka,
  HEADER_ENTRIES_OFFSET,
  HEADER_LEAF_PARSED,
  HEADER_LOG_ID,
  HEADER_LOG_INDEX,
} from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import type { Admin, Kafka, KafkaMessage, Message, Producer, Transaction } from "kafkajs";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { ServiceProcess } from "../../../test/service-process.ts";
import {
  kafkaBrokers,
  pythonBin,
  registryUrl,
  repoRoot,
  testTopics,
  uniqueName,
} from "../../../test/stack.ts";
import type { DedupOptions } from "../src/dedup-stage.ts";
import { logIdOf } from "../src/log-catalog.ts";
import { TopicTail } from "../src/topic-tail.ts";

const run = promisify(execFile);

export const logger = createLogger("ingester-test", process.env.LOG_LEVEL ?? "error");

/** A client of the shared stack, or of `brokers` (a test's private cluster). */
export function testKafka(brokers: string[] = kafkaBrokers()): Kafka {
  return createKafka({ brokers, clientId: "ingester-test", logger });
}

export interface Names {
  entries: string;
  certs: string;
  backfill: string;
  state: string;
  coordination: string;
  group: string;
  dedupGroup: string;
  txPrefix: string;
  dedupTxPrefix: string;
}

export function uniqueNames(prefix: string): Names {
  const base = uniqueName(prefix);
  return {
    ...testTopics(base),
    coordination: `${base}.logs`,
    group: `${base}-ingester`,
    dedupGroup: `${base}-dedup`,
    txPrefix: `${base}-tx`,
    dedupTxPrefix: `${base}-dtx`,
  };
}

/** One-partition entries and certs topics, for a dedup stage run in the test's process. */
export async function dedupTopics(admin: Admin, names: Names): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: names.entries, numPartitions: 1, replicationFactor: 1 },
      { topic: names.certs, numPartitions: 1, replicationFactor: 1 },
    ],
  });
}

/** Parsed entries records `leaf-<from>`, `leaf-<from + 1>`, ... for a dedup stage (`timestamp`: their time). */
export function leafRecords(from: number, count: number, timestamp?: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`leaf-${from + i}`),
    value: Buffer.from(`entry ${from + i}`),
    headers: { [HEADER_LEAF_PARSED]: "1" },
    ...(timestamp === undefined ? {} : { timestamp: String(timestamp) }),
  }));
}

/** A dedup stage's options over `names`' topics, on the shared stack. */
export function dedupStageOptions(names: Names, sessionTimeoutMs: number): DedupOptions {
  return {
    kafka: testKafka(),
    logger,
    groupId: names.dedupGroup,
    entriesTopic: names.entries,
    certsTopic: names.certs,
    ttlSecs: 3600,
    capacity: 10_000,
    transactionalIdPrefix: names.dedupTxPrefix,
    transactionTimeoutMs: 30_000,
    sessionTimeoutMs,
    heartbeatIntervalMs: 1_000,
    partitionsConsumedConcurrently: 1,
  };
}

/** A YAML config for one replica (JSON is valid YAML). */
export function writeConfig(
  dir: string,
  file: string,
  names: Names,
  server: StandInServer | null,
  extra: {
    replicaId: string;
    /** A private cluster's brokers instead of the shared stack's. */
    brokers?: string[];
    /** kafka.replication_factor (1 by default). */
    replicationFactor?: number;
    /** Take the logs from this v3 log list (from index 0) instead of the server's as custom_logs. */
    logListUrl?: string;
    /** ct_log keys set over the defaults. */
    ctLog?: Record<string, unknown>;
    partitions?: number;
    port?: number;
    watchers?: boolean;
    dedup?: boolean;
    ttlSecs?: number;
    sessionTimeoutMs?: number;
    batch?: number;
    pollMs?: number;
    startIndex?: number | null;
  },
): string {
  const cfg = {
    host: "127.0.0.1",
    log_level: process.env.REPLICA_LOG_LEVEL ?? "info",
    kafka: {
      brokers: extra.brokers ?? kafkaBrokers(),
      schema_registry_url: registryUrl(),
      partitions: extra.partitions ?? 3,
      ...(extra.replicationFactor ? { replication_factor: extra.replicationFactor } : {}),
      topics: { entries: names.entries, certs: names.certs, backfill: names.backfill, state: names.state },
    },
    ct_log: {
      batch_size: 64,
      poll_interval_ms: extra.pollMs ?? 200,
      fetch_concurrency: 2,
      retry_initial_delay_ms: 100,
      retry_max_delay_ms: 1000,
      start_overlap_leaves: 1000,
      log_list_enabled: false,
      default_rate_limit: 1000,
      // List logs have no start_index: a large overlap makes them begin at 0.
      ...(extra.logListUrl
        ? { log_list_enabled: true, log_list_url: extra.logListUrl, start_overlap_leaves: 1_000_000 }
        : {}),
      ...extra.ctLog,
    },
    custom_logs: [...(server?.logs.values() ?? [])].map((l) => ({
      name: l.name,
      url: server?.url(l.name),
      operator: l.operator,
      key: l.key.publicKeyBase64,
      start_index: extra.startIndex === undefined ? 0 : extra.startIndex,
    })),
    dedup: { enabled: extra.dedup ?? true, ttl_secs: extra.ttlSecs ?? 3600, capacity: 1_000_000 },
    ingester: {
      port: extra.port ?? 0,
      replica_id: extra.replicaId,
      group_id: names.group,
      dedup_group_id: names.dedupGroup,
      coordination_topic: names.coordination,
      coordination_partitions: 16,
      session_timeout_ms: extra.sessionTimeoutMs ?? 6000,
      heartbeat_interval_ms: 1000,
      transactional_id_prefix: names.txPrefix,
      dedup_transactional_id_prefix: names.dedupTxPrefix,
      transaction_timeout_ms: 20000,
      max_batch_entries: extra.batch ?? 100,
      watchers_enabled: extra.watchers ?? true,
    },
    metrics: { enabled: false },
  };
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** An ingester replica as a child process (`node services/ingester/src/main.ts --config <file>`). */
export class Replica extends ServiceProcess {
  readonly name: string;

  constructor(name: string, configPath: string, logPath: string) {
    super("ingester", ["--config", configPath], logPath);
    this.name = name;
  }

  override start(env: NodeJS.ProcessEnv = {}): this {
    return super.start({ LOG_LEVEL: process.env.REPLICA_LOG_LEVEL ?? "info", ...env });
  }
}

/**
 * SHA-256 (hex) of every certificate the stand-in RFC 6962 logs serve at indexes [from, to), parsed here
 * independently of the ingester: the keys the certs topic must end up with.
 */
export function expectedCertKeys(server: StandInServer, from: number, to: number): Set<string> {
  const keys = new Set<string>();
  for (const name of server.logs.keys()) {
    const l = server.rfc(name);
    const src = { id: "x", name, url: "", operator: "", kind: "rfc6962" as const };
    for (let i = from; i < to; i++) {
      const e = fromRawEntry(src, { index: i, ...l.entry(i) }, 0);
      if (e.leaf) keys.add(createHash("sha256").update(e.leaf_der).digest("hex"));
    }
  }
  return keys;
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaMessage["headers"];
  timestamp: string;
}

/** Every committed record of `topic` (read_committed, from the beginning to the current end). */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const tail = new TopicTail(kafka, {
    topic,
    groupPrefix: "ingester-test-read",
    onMessage: (partition, m) => {
      out.push({
        partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        headers: m.headers,
        timestamp: m.timestamp,
      });
    },
  });
  await tail.start();
  try {
    await tail.catchUp(60_000);
  } finally {
    await tail.stop();
  }
  return out;
}

/**
 * Every committed record of `topic` as another client reads it: librdkafka (confluent-kafka, read_committed), not
 * kafkajs. An audit that passes on both is not an artefact of one client's handling of aborted transactions.
 * Values are not read (null).
 */
export async function readTopicIndependently(brokers: string[], topic: string): Promise<ReadRecord[]> {
  const { stdout } = await run(
    pythonBin(),
    [`${repoRoot}/test/python/read_positions.py`, brokers.join(","), topic],
    {
      timeout: 120_000,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const r = JSON.parse(l) as {
        partition: number;
        offset: number;
        key: string | null;
        headers: Record<string, string>;
      };
      return {
        partition: r.partition,
        offset: String(r.offset),
        key: r.key === null ? null : Buffer.from(r.key, "hex"),
        value: null,
        headers: r.headers,
        timestamp: "",
      };
    });
}

export function testCodec(): CertificateEntryCodec {
  return new CertificateEntryCodec({ registryUrl: registryUrl() });
}

export function header(r: ReadRecord, name: string): string | undefined {
  const v = r.headers?.[name];
  return v === undefined ? undefined : (Array.isArray(v) ? v[0] : v)?.toString();
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The dedup contract, checked from the two topics alone: per partition, `certs` is exactly the first parsed
 * sighting of each key in `entries` (offset order), byte for byte. Returns the number of certificates.
 */
export function checkDedupStream(
  entries: ReadRecord[],
  certs: ReadRecord[],
  leafParsedHeader: string,
): number {
  const byPartition = (rs: ReadRecord[]) => {
    const m = new Map<number, ReadRecord[]>();
    for (const r of rs) {
      const list = m.get(r.partition) ?? [];
      list.push(r);
      m.set(r.partition, list);
    }
    for (const list of m.values()) list.sort((x, y) => Number(BigInt(x.offset) - BigInt(y.offset)));
    return m;
  };
  const ep = byPartition(entries);
  const cp = byPartition(certs);
  for (const p of cp.keys())
    if (!ep.has(p)) throw new Error(`certs partition ${p} has records but entries has none`);
  let n = 0;
  for (const [p, list] of ep) {
    const firsts: ReadRecord[] = [];
    const keys = new Set<string>();
    for (const r of list) {
      const k = r.key?.toString("hex") ?? "";
      if (header(r, leafParsedHeader) !== "1" || keys.has(k)) continue;
      keys.add(k);
      firsts.push(r);
    }
    const got = cp.get(p) ?? [];
    const want = firsts.map((r) => r.key?.toString("hex"));
    const have = got.map((r) => r.key?.toString("hex"));
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      const firstDiff = want.findIndex((k, i) => k !== have[i]);
      const at = (rs: ReadRecord[], k: string | undefined) =>
        rs
          .filter((r) => r.key?.toString("hex") === k)
          .map((r) => `${r.offset}(${header(r, HEADER_LOG_ID)?.slice(0, 6)}#${header(r, HEADER_LOG_INDEX)})`)
          .join(" ");
      const around = (ks: (string | undefined)[]) =>
        ks
          .slice(Math.max(0, firstDiff - 1), firstDiff + 3)
          .map((k) => `${k?.slice(0, 8)}: entries ${at(list, k)} certs ${at(got, k)}`);
      throw new Error(
        `partition ${p}: certs has ${have.length} records, expected ${want.length}; first difference at ${firstDiff}\n` +
          `expected ${around(want).join("\n  ")}\nfound ${around(have).join("\n  ")}`,
      );
    }
    for (let i = 0; i < got.length; i++) {
      if (!got[i].value?.equals(firsts[i].value ?? Buffer.alloc(0)))
        throw new Error(`partition ${p}#${i}: value differs`);
    }
    n += got.length;
  }
  return n;
}

/**
 * True once `group` has committed, on every partition of `topic`, an offset past the last committed data record
 * (a transactional topic ends with commit markers, which take offsets the group never needs to commit past).
 */
export async function groupCaughtUp(kafka: Kafka, group: string, topic: string): Promise<boolean> {
  const last = new Map<number, bigint>();
  for (const r of await readTopic(kafka, topic)) {
    const o = BigInt(r.offset);
    if (o > (last.get(r.partition) ?? -1n)) last.set(r.partition, o);
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const byPartition = new Map(committed.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    return [...last].every(([p, o]) => (byPartition.get(p) ?? -1n) > o);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Stand-in RFC 6962 logs serving distinct certificates (logs with the same certSeed serve the same ones) that grow
 * at their rate up to `maxSize` once the test starts them (`for (const l of server.logs.values()) l.start()`).
 */
export function growingStandIns(
  maxSize: number,
  logs: { name: string; certSeed: number; growRate: number }[],
): StandInServer {
  const server = new StandInServer({ growOnStart: false });
  for (const l of logs) server.addRfc6962({ ...l, mode: "distinct", maxSize });
  return server;
}

/** Waits until every stand-in log has grown to `size` and `names.entries` holds all of their entries. */
export async function waitAllIngested(
  kafka: Kafka,
  server: StandInServer,
  names: Names,
  size: number,
): Promise<void> {
  await waitFor(
    "all entries ingested",
    async () => {
      for (const l of server.logs.values()) if (l.size < size) return false;
      return (await readTopic(kafka, names.entries)).length >= size * server.logs.size;
    },
    120_000,
    2000,
  );
}

/** Waits until the dedup group has committed past the last record of `names.entries` (the dedup stage drained). */
export async function waitDedupDrained(kafka: Kafka, names: Names): Promise<void> {
  await waitFor(
    "dedup group caught up",
    () => groupCaughtUp(kafka, names.dedupGroup, names.entries),
    120_000,
    1000,
  );
}

/** The stand-in logs of `server` as the ingester names them, with their current size. */
export function standInLogs(
  server: StandInServer,
): { id: string; name: string; url: string; size: number }[] {
  return [...server.logs.values()].map((l) => ({
    id: logIdOf({ log_id: null, key: l.key.publicKeyBase64, url: "" }),
    name: l.name,
    url: server.url(l.name),
    size: l.size,
  }));
}

/**
 * Every (log, index) of `entries`: which are there more than once, and which of [0, size) of each log are not
 * (size: the log's, or `size` for all).
 */
export function entryAudit(
  entries: ReadRecord[],
  logs: { id: string; size: number }[],
  size?: number,
): { duplicated: string[]; missing: string[] } {
  // (log, index) → where each copy lies ("partition:offset"), so a duplicate names the records to look at.
  const seen = new Map<string, string[]>();
  for (const r of entries) {
    const id = `${header(r, HEADER_LOG_ID)}#${header(r, HEADER_LOG_INDEX)}`;
    const at = seen.get(id);
    if (at) at.push(`${r.partition}:${r.offset}`);
    else seen.set(id, [`${r.partition}:${r.offset}`]);
  }
  const duplicated = [...seen]
    .filter(([, at]) => at.length > 1)
    .map(([id, at]) => `${id} ×${at.length} at ${at.join(" ")}`);
  const missing: string[] = [];
  for (const l of logs)
    for (let i = 0; i < (size ?? l.size); i++) if (!seen.has(`${l.id}#${i}`)) missing.push(`${l.id}#${i}`);
  return { duplicated, missing };
}

/** Certificate keys (hex) found more than once in `certs`, each with where its copies lie ("key at p:o p:o"). */
export function duplicatedCerts(certs: ReadRecord[]): string[] {
  const at = new Map<string, string[]>();
  for (const r of certs) {
    const k = r.key?.toString("hex") ?? "";
    // Where each copy came from, for triage: the same entries record forwarded twice, or two entries records.
    const copy = `${r.partition}:${r.offset} (entries ${header(r, HEADER_ENTRIES_OFFSET) ?? "?"}, ${header(r, HEADER_LOG_ID)?.slice(0, 8)}#${header(r, HEADER_LOG_INDEX)}, ts ${r.timestamp})`;
    const where = at.get(k);
    if (where) where.push(copy);
    else at.set(k, [copy]);
  }
  return [...at].filter(([, where]) => where.length > 1).map(([k, where]) => `${k} at ${where.join(" ")}`);
}

/** `producer` with its transactions wrapped by `wrap` (the torn-transaction tests inject Kafka's faults there). */
export function withTransaction(producer: Producer, wrap: (tx: Transaction) => Transaction): Producer {
  return new Proxy(producer, {
    get(target, prop, receiver) {
      if (prop === "transaction") return async () => wrap(await target.transaction());
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
