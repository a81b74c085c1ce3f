/**
 * What the backfill integration tests share: real topics with unique names, a config file, a "live" producer
 * that publishes a chosen subset of a stand-in log's entries exactly as the ingester does (same client, parser,
 * codec, key and headers, plus the ingester's state record), the real delta-sink and backfill processes, and the
 * independent Python reader.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  fromRawEntry,
  IssuerCache,
  type RawLogEntry,
  StaticLogClient,
  toCertificateEntry,
} from "@certstream/ct";
import { LocalStorage } from "@certstream/delta";
import {
  CertificateEntryCodec,
  createKafka,
  ensureTopics,
  entryHeaders,
  entryKey,
  StateCodec,
  stateKey,
  topicSpecs,
  valueSubject,
} from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import type { CertificateEntry, LogSource } from "@certstream/schema";
import type { Kafka } from "kafkajs";
import { stringify } from "yaml";
import { RfcLogClient } from "../../../libs/ct/src/rfc-log-client.ts";
import { ServiceProcess } from "../../../test/service-process.ts";
import {
  kafkaBrokers,
  pythonBin,
  registryUrl,
  repoRoot,
  testTopics,
  uniqueName,
} from "../../../test/stack.ts";
import { openArchive, sinkTxnVersions } from "../src/archive-scan.ts";
import type { IndexRange } from "../src/index-ranges.ts";

const run = promisify(execFile);

export interface Topics {
  entries: string;
  certs: string;
  backfill: string;
  state: string;
}

export function uniqueTopics(prefix: string): Topics {
  return testTopics(uniqueName(prefix));
}

export interface ConfiguredLog {
  name: string;
  url: string;
  operator: string;
  key: string;
}

export interface TestConfigOptions {
  topics: Topics;
  tablePath: string;
  logs: ConfiguredLog[];
  /** Deep-merged over the defaults (sections). */
  overrides?: Record<string, Record<string, unknown>>;
  /** static-ct-api logs (`static_logs`). */
  staticLogs?: (ConfiguredLog & { submission_url: string })[];
}

/** Writes a YAML config for the sink and the job; returns its path. */
export function writeConfig(dir: string, name: string, o: TestConfigOptions): string {
  const sections: Record<string, Record<string, unknown>> = {
    kafka: {
      brokers: kafkaBrokers(),
      schema_registry_url: registryUrl(),
      client_id: uniqueName("bf-test"),
      partitions: 3,
      topics: o.topics,
    },
    delta_sink: {
      table_path: o.tablePath,
      port: 0,
      group_id: uniqueName("bf-sink"),
      batch_size: 500,
      flush_interval_secs: 1,
    },
    backfill: {
      port: 0,
      concurrency: 4,
      window_size: 256,
      read_timeout_secs: 60,
      wait_timeout_secs: 120,
      unreachable_after_failures: 3,
    },
    ct_log: {
      log_list_enabled: false,
      batch_size: 64,
      fetch_concurrency: 2,
      request_timeout_secs: 5,
      retry_max_attempts: 3,
      retry_initial_delay_ms: 50,
      retry_max_delay_ms: 500,
      default_rate_limit: 500,
    },
    metrics: { enabled: false },
  };
  for (const [k, v] of Object.entries(o.overrides ?? {})) sections[k] = { ...sections[k], ...v };
  const doc = {
    log_level: "info",
    ...sections,
    custom_logs: o.logs.map((l) => ({ name: l.name, url: l.url, operator: l.operator, key: l.key })),
    static_logs: (o.staticLogs ?? []).map((l) => ({
      name: l.name,
      url: l.url,
      operator: l.operator,
      key: l.key,
      submission_url: l.submission_url,
    })),
  };
  const path = join(dir, name);
  writeFileSync(path, stringify(doc));
  return path;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export function testKafka(): Kafka {
  return createKafka({
    brokers: kafkaBrokers(),
    clientId: uniqueName("bf-test"),
    logger: createLogger("bf-test", "warn"),
  });
}

export async function createTopics(kafka: Kafka, topics: Topics): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs({ topics, partitions: 3, replication_factor: 1 }));
  } finally {
    await admin.disconnect();
  }
}

/** The LogSource the ingester would build for a configured log with a key (id = SHA-256 of the key). */
export function logSourceOf(l: ConfiguredLog, logId: string): LogSource {
  return {
    id: logId,
    name: l.name,
    url: l.url.endsWith("/") ? l.url : `${l.url}/`,
    operator: l.operator,
    kind: "rfc6962",
  };
}

/** Fetches [0, size) through the same client and parser as the ingester. */
export async function fetchLiveEntries(source: LogSource, size: number): Promise<CertificateEntry[]> {
  const client = new RfcLogClient({
    name: source.name,
    url: source.url,
    operator: source.operator,
    batchSize: 64,
  });
  const out: CertificateEntry[] = [];
  for await (const item of client.fetch(0, size)) {
    if (item.kind === "gap") throw new Error(`stand-in refused ${item.gap.start}-${item.gap.end}`);
    const seen = Date.now() * 1000;
    for (const e of item.entries) out.push(fromRawEntry(source, e as RawLogEntry, seen));
  }
  return out;
}

/** Fetches [0, size) of a static-ct-api log through libs/ct's client and the parser. */
export async function fetchLiveStaticEntries(
  source: LogSource,
  size: number,
  origin: string,
): Promise<CertificateEntry[]> {
  const client = new StaticLogClient({
    name: source.name,
    url: source.url,
    operator: source.operator,
    origin,
    issuers: new IssuerCache(),
  });
  await client.head();
  const out: CertificateEntry[] = [];
  for await (const item of client.fetch(0, size)) {
    if (item.kind === "gap") throw new Error(`stand-in refused ${item.gap.start}-${item.gap.end}`);
    const seen = Date.now() * 1000;
    for (const e of item.entries) out.push(toCertificateEntry(source, e, seen));
  }
  return out;
}

/** Publishes entries to the entries topic as the ingester does (key, headers, registry-framed Avro, transaction). */
export async function publishLive(
  kafka: Kafka,
  topics: Topics,
  entries: readonly CertificateEntry[],
  keep: (index: number) => boolean,
): Promise<number> {
  const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  await codec.register(valueSubject(topics.entries));
  const producer = kafka.producer({
    transactionalId: uniqueName("bf-live"),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  let n = 0;
  try {
    const chosen = entries.filter((e) => keep(e.index));
    for (let i = 0; i < chosen.length; i += 100) {
      const tx = await producer.transaction();
      await tx.send({
        topic: topics.entries,
        messages: chosen.slice(i, i + 100).map((e) => ({
          key: entryKey(e),
          value: codec.encodeSync(e, valueSubject(topics.entries)),
          headers: entryHeaders(e),
        })),
      });
      await tx.commit();
      n += Math.min(100, chosen.length - i);
    }
  } finally {
    await producer.disconnect();
  }
  return n;
}

/** Writes the ingester's state record (its position) for a log. */
export async function publishState(
  kafka: Kafka,
  topics: Topics,
  source: LogSource,
  nextIndex: number,
): Promise<void> {
  const codec = new StateCodec(registryUrl(), topics.state);
  await codec.register();
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: topics.state,
      messages: [
        {
          key: stateKey(source.id),
          value: codec.encode({
            log_id: source.id,
            log_url: source.url,
            next_index: nextIndex,
            tree_size: nextIndex,
            updated_at: Date.now(),
            owner: "test",
          }),
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

/** The real delta-sink process. */
export function startSink(configPath: string, logFile: string): ServiceProcess {
  return new ServiceProcess("delta-sink", ["--config", configPath], logFile).start({ LOG_LEVEL: "warn" });
}

/** Waits until the table's txn versions for `topic` reach the topic's last offsets (everything written). */
export async function waitForSinkToCatchUp(
  kafka: Kafka,
  tablePath: string,
  topic: string,
  timeoutMs = 90_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await openArchive(new LocalStorage(tablePath, { sync: false }));
    const versions = table ? sinkTxnVersions(await table.refresh(), topic) : new Map<number, bigint>();
    // A transactional topic ends with a commit marker: the last record is at high - 2 (or high - 1 without).
    const behind = offsets.filter((o) => {
      const high = BigInt(o.high);
      if (high === 0n) return false;
      const v = versions.get(o.partition);
      return v === undefined || v < high - 2n;
    });
    if (behind.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `sink did not catch up with ${topic}: ${JSON.stringify(behind)} vs ${JSON.stringify([...versions])}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `backfill <args>` as a process. `killWhen` may kill it (e.g. SIGKILL mid-run) from its output. */
export async function runBackfillCli(
  configPath: string,
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    killWhen?: (stdout: string) => NodeJS.Signals | null;
    timeoutMs?: number;
  } = {},
): Promise<CliRun> {
  const t0 = Date.now();
  const proc = new ServiceProcess("backfill", ["--config", configPath, ...args], null);
  let stdout = "";
  let stderr = "";
  let killed = false;
  proc.onOutput((stream, chunk) => {
    if (stream === "stderr") {
      stderr += chunk;
      return;
    }
    stdout += chunk;
    if (!killed && opts.killWhen) {
      const sig = opts.killWhen(stdout);
      if (sig) {
        killed = true;
        proc.signal(sig);
      }
    }
  });
  proc.start({ LOG_LEVEL: "info", ...opts.env });
  const timer = setTimeout(() => proc.signal("SIGKILL"), opts.timeoutMs ?? 180_000);
  const { code, signal } = await proc.exitStatus;
  clearTimeout(timer);
  return { code, signal, stdout, stderr, ms: Date.now() - t0 };
}

export interface LogIndices {
  rows: number;
  distinct: number;
  min: number;
  max: number;
  dups: number[];
  holes: number[];
  hole_count: number;
}

/**
 * Runs test/table_check.py. Python deltalake has been seen to abort natively ("terminate called without an active
 * exception") under heavy load; such a crash is retried once, with the error kept if it happens again.
 */
async function tableCheck(args: string[]): Promise<unknown> {
  const script = join(repoRoot, "services/backfill/test/table_check.py");
  for (let attempt = 0; ; attempt++) {
    try {
      const { stdout } = await run(pythonBin(), [script, ...args], { maxBuffer: 64 * 1024 * 1024 });
      return JSON.parse(stdout);
    } catch (err) {
      if (attempt >= 1 || !String((err as Error).message).includes("terminate called")) throw err;
    }
  }
}

export async function pythonIndices(tablePath: string): Promise<Record<string, LogIndices>> {
  return (await tableCheck(["indices", tablePath])) as Record<string, LogIndices>;
}

export async function pythonSchema(
  tablePath: string,
): Promise<{ partition_columns: string[]; columns: string[]; protocol: number[] }> {
  return (await tableCheck(["schema", tablePath])) as {
    partition_columns: string[];
    columns: string[];
    protocol: number[];
  };
}

export async function pythonCompare(
  a: string,
  b: string,
  logId: string,
): Promise<{ a_rows: number; b_rows: number; compared: number; mismatches: unknown[] }> {
  return (await tableCheck(["compare", a, b, logId])) as {
    a_rows: number;
    b_rows: number;
    compared: number;
    mismatches: unknown[];
  };
}

/** Indices of [0, size) kept in the partial stream: everything except the holes. */
export function keepAllBut(holes: readonly IndexRange[]): (i: number) => boolean {
  return (i) => !holes.some((h) => i >= h.start && i < h.end);
}

/** JSON log lines of a run's stdout. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}
