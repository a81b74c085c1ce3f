// Five logs, two of them (a, b) serving the same certificates: the dedup stage must produce exactly the
// expected stream, i.e. per partition the first sighting of each parsed certificate, in entries order, byte for
// byte. Two entries are made unparseable: they are in `entries` (with raw bytes), never in `certs`. Then a
// consumer from another ecosystem (Python confluent-kafka + its Schema Registry Avro deserializer) decodes every
// field of both topics and must agree with our own decoding.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { HEADER_LEAF_PARSED, HEADER_LOG_ID, HEADER_LOG_INDEX } from "@certstream/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInServer } from "../../../test/ct-standin/server.ts";
import { expectMetrics } from "../../../test/metrics-expect.ts";
import { freePort } from "../../../test/service-process.ts";
import { kafkaBrokers, pythonBin, registryUrl, repoRoot } from "../../../test/stack.ts";
import type { LogView } from "../src/api.ts";
import { logIdOf } from "../src/log-catalog.ts";
import {
  expectedCertKeys,
  header,
  type Names,
  type ReadRecord,
  Replica,
  readTopic,
  sleep,
  tempDir,
  testCodec,
  testKafka,
  uniqueNames,
  waitFor,
  writeConfig,
} from "./harness.ts";

const SIZE = 166;
const START = 46; // past the 46 real entries every stand-in serves: only a and b share certificates

/** Bytes → hex, recursively, so TS and Python decodings compare as plain JSON. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        k,
        k.endsWith("_ts") && typeof x === "number" ? pythonIso(x) : plain(x),
      ]),
    );
  return v;
}

/** A timestamp-millis field as read_topic.py prints it: Python decodes it to an aware datetime (whole seconds here). */
const pythonIso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "+00:00");

describe("five logs, two sharing certificates", () => {
  const server = new StandInServer({ growOnStart: false });
  const dir = tempDir("ingester-five");
  let names: Names;
  let replica: Replica;
  let port = 0;

  beforeAll(async () => {
    names = uniqueNames("five");
    server.addRfc6962({ name: "a", mode: "distinct", certSeed: 1, initialSize: SIZE });
    server.addRfc6962({ name: "b", mode: "distinct", certSeed: 1, initialSize: SIZE });
    server.addRfc6962({ name: "c", mode: "distinct", certSeed: 2, initialSize: SIZE });
    server.addRfc6962({ name: "d", mode: "distinct", certSeed: 3, initialSize: SIZE });
    server.addRfc6962({ name: "e", mode: "distinct", certSeed: 4, initialSize: SIZE });
    // c#60: unknown entry type (the entry does not decode); d#61: a leaf that is not a certificate.
    const c60 = server.rfc("c").entry(60);
    c60?.leafInput.writeUInt16BE(9, 10);
    const d61 = server.rfc("d").entry(61);
    if (d61) {
      if (d61.leafInput.readUInt16BE(10) === 0) d61.leafInput[15] = 0x05;
      else d61.extraData[3] = 0x05;
    }
    await server.start();
    port = await freePort();
    const cfg = writeConfig(dir, "five.yaml", names, server, {
      replicaId: "five",
      startIndex: START,
      batch: 50,
      port,
    });
    replica = new Replica("five", cfg, join(dir, "five.log"));
  });

  afterAll(async () => {
    await replica.terminate();
    await server.stop();
  });

  it("produces the expected deduplicated stream, decodable by confluent-kafka's Avro deserializer", async () => {
    const kafka = testKafka();
    replica.start();
    const total = 5 * (SIZE - START);
    await waitFor(
      "all entries",
      async () => (await readTopic(kafka, names.entries)).length >= total,
      90_000,
      1500,
    );
    // Expected certificates, computed from what the stand-ins serve, independently of the ingester.
    const expectedKeys = expectedCertKeys(server, START, SIZE);
    expect(expectedKeys.size).toBe(4 * (SIZE - START) - 2);
    await waitFor(
      "certs complete",
      async () => (await readTopic(kafka, names.certs)).length >= expectedKeys.size,
      60_000,
      1500,
    );
    await sleep(2000);

    // Operations surface: /api/logs, health, metrics.
    const base = `http://127.0.0.1:${port}`;
    const api = (await (await fetch(`${base}/api/logs`)).json()) as { replica: string; logs: LogView[] };
    expect(api.replica).toBe("five");
    expect(api.logs.map((l) => l.name)).toEqual(["a", "b", "c", "d", "e"]);
    for (const l of api.logs) {
      expect(l).toMatchObject({
        owned: true,
        owner: "five",
        position: SIZE,
        head: SIZE,
        lag_entries: 0,
        lag_seconds: 0,
        last_error: null,
      });
      expect(l.source_lag_seconds).toBeGreaterThanOrEqual(0);
      expect(l.last_commit_at).not.toBeNull();
    }
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const fams = expectMetrics(metrics, [
      { name: "certstream_ingester_entries_total", type: "counter", labels: ["log", "operator"] },
      { name: "certstream_ingester_parse_failures_total", type: "counter", labels: ["log", "kind"] },
      { name: "certstream_ingester_source_lag_seconds", type: "gauge", labels: ["log"] },
      { name: "certstream_ingester_idle_seconds", type: "gauge", labels: ["log"] },
      { name: "certstream_ingester_lag_entries", type: "gauge", labels: ["log"] },
      { name: "certstream_ingester_watcher_started_total", type: "counter", labels: ["reason"] },
      {
        name: "certstream_ingester_watcher_stopped_total",
        type: "counter",
        labels: ["reason"],
        hasSamples: false,
      },
      {
        name: "certstream_ingester_watcher_restarted_total",
        type: "counter",
        labels: ["reason"],
        hasSamples: false,
      },
      { name: "certstream_ingester_queue_depth", type: "gauge", labels: ["stage"] },
      { name: "certstream_ingester_state_commits_total", type: "counter", labels: ["result"] },
      {
        name: "certstream_ingester_state_commit_failures_total",
        type: "counter",
        labels: ["kind"],
        hasSamples: false,
      },
      { name: "certstream_ingester_produce_seconds", type: "histogram", labels: ["stage"] },
      {
        name: "certstream_ingester_produce_errors_total",
        type: "counter",
        labels: ["stage", "kind"],
        hasSamples: false,
      },
      { name: "certstream_dedup_entries_total", type: "counter", labels: ["outcome"] },
      { name: "certstream_dedup_ratio", type: "gauge" },
      { name: "certstream_dedup_cache_size", type: "gauge", labels: ["partition"] },
      {
        name: "certstream_kafka_consumer_lag_messages",
        type: "gauge",
        labels: ["group", "topic", "partition"],
      },
      { name: "certstream_health_status", type: "gauge", labels: ["service"] },
    ]);
    const sum = (name: string, filter: (l: Record<string, string>) => boolean = () => true) =>
      (fams.get(name)?.samples ?? []).filter((x) => filter(x.labels)).reduce((n, x) => n + x.value, 0);
    expect(sum("certstream_ingester_entries_total")).toBe(total);
    expect(sum("certstream_ingester_parse_failures_total")).toBe(2);
    expect(sum("certstream_dedup_entries_total", (l) => l.outcome === "unparsed")).toBe(2);
    expect(sum("certstream_dedup_entries_total", (l) => l.outcome === "forwarded")).toBe(expectedKeys.size);
    expect(sum("certstream_dedup_cache_size")).toBe(expectedKeys.size);
    // The dedup stage's lag, under its group: drained, so 0 on every partition it consumed.
    const dedupLag = (fams.get("certstream_kafka_consumer_lag_messages")?.samples ?? []).filter(
      (x) => x.labels.group === names.dedupGroup,
    );
    expect(dedupLag.length).toBeGreaterThan(0);
    for (const x of dedupLag) expect(x.labels.topic).toBe(names.entries);
    expect(dedupLag.reduce((n, x) => n + x.value, 0)).toBe(0);

    expect(await replica.terminate()).toBe(0);

    // Schemas registered on start, with their compatibility rule.
    for (const topic of [names.entries, names.certs, names.state]) {
      const cfg = (await (await fetch(`${registryUrl()}/config/${topic}-value`)).json()) as Record<
        string,
        string
      >;
      expect(cfg.compatibilityLevel ?? cfg.compatibility, topic).toBe("BACKWARD");
    }

    const entries = await readTopic(kafka, names.entries);
    const certs = await readTopic(kafka, names.certs);
    expect(entries.length).toBe(total);
    // Every (log, index) once, and the unparseable ones flagged.
    const ids = new Set(entries.map((r) => `${header(r, HEADER_LOG_ID)}#${header(r, HEADER_LOG_INDEX)}`));
    expect(ids.size).toBe(total);
    const unparsed = entries.filter((r) => header(r, HEADER_LEAF_PARSED) === "0");
    const logId = (n: string) =>
      logIdOf({ log_id: null, key: server.logs.get(n)?.key.publicKeyBase64 ?? "", url: "" });
    expect(unparsed.map((r) => `${header(r, HEADER_LOG_ID)}#${header(r, HEADER_LOG_INDEX)}`).sort()).toEqual(
      [`${logId("c")}#60`, `${logId("d")}#61`].sort(),
    );

    // The expected stream: per partition, entries in offset order, first parsed sighting of each key.
    const byPartition = (rs: ReadRecord[]) => {
      const m = new Map<number, ReadRecord[]>();
      for (const r of rs) m.set(r.partition, [...(m.get(r.partition) ?? []), r]);
      for (const list of m.values()) list.sort((x, y) => Number(BigInt(x.offset) - BigInt(y.offset)));
      return m;
    };
    const ep = byPartition(entries);
    const cp = byPartition(certs);
    for (const [p, list] of ep) {
      const firsts: ReadRecord[] = [];
      const keys = new Set<string>();
      for (const r of list) {
        const k = r.key?.toString("hex") ?? "";
        if (header(r, HEADER_LEAF_PARSED) !== "1" || keys.has(k)) continue;
        keys.add(k);
        firsts.push(r);
      }
      const got = cp.get(p) ?? [];
      expect(got.map((r) => r.key?.toString("hex"))).toEqual(firsts.map((r) => r.key?.toString("hex")));
      for (let i = 0; i < got.length; i++)
        expect(got[i].value?.equals(firsts[i].value ?? Buffer.alloc(0))).toBe(true);
    }
    expect(new Set(certs.map((r) => r.key?.toString("hex")))).toEqual(expectedKeys);

    // Python confluent-kafka decodes every field of both topics as we do.
    const codec = testCodec();
    for (const [topic, records] of [
      [names.entries, entries],
      [names.certs, certs],
    ] as const) {
      const out = execFileSync(
        pythonBin(),
        [
          join(repoRoot, "test/python/read_topic.py"),
          kafkaBrokers().join(","),
          registryUrl(),
          topic,
          String(records.length),
        ],
        {
          encoding: "utf8",
          maxBuffer: 256 * 1024 * 1024,
          timeout: 120_000,
        },
      );
      const py = out
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              partition: number;
              offset: number;
              key: string;
              headers: Record<string, string>;
              value: unknown;
            },
        );
      expect(py.length).toBe(records.length);
      const mine = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
      let parsedSeen = 0;
      for (const rec of py) {
        const r = mine.get(`${rec.partition}:${rec.offset}`);
        expect(r, `${topic} ${rec.partition}:${rec.offset}`).toBeDefined();
        if (!r?.value) continue;
        expect(rec.key).toBe(r.key?.toString("hex"));
        const decoded = plain(await codec.decode(r.value));
        expect(rec.value).toEqual(decoded);
        expect(rec.headers[HEADER_LOG_INDEX]).toBe(header(r, HEADER_LOG_INDEX));
        if ((rec.value as { leaf: unknown }).leaf) parsedSeen++;
      }
      expect(parsedSeen).toBeGreaterThan(0);
    }
  }, 300_000);
});
