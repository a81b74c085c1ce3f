import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateEntry } from "@certstream/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { KafkaCluster } from "../../../test/kafka-cluster.ts";
import { uniqueName } from "../../../test/stack.ts";
import {
  createTopics,
  EntryProducer,
  entryKeyOf,
  type SinkProcess,
  spawnSink,
  tableKeyCounts,
  testKafka,
  waitCaughtUp,
  writeSinkConfig,
} from "./harness.ts";

const APP = "certstream-delta-sink";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let cluster: KafkaCluster | null = null;
let sink: SinkProcess | null = null;
let producer: EntryProducer | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-coord-"));
  cluster = await KafkaCluster.start({ nodes: 3, name: "dsink-coordinator" });
}, 180_000);
afterAll(async () => {
  sink?.proc.signal("SIGKILL");
  await producer?.disconnect().catch(() => {});
  await cluster?.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
}, 120_000);

async function readiness(url: string): Promise<{ ready: boolean; body: string }> {
  try {
    const res = await fetch(`${url}/health/ready`);
    return { ready: res.status === 200, body: await res.text() };
  } catch (err) {
    return { ready: false, body: String(err) };
  }
}

// The soak's finding: after its group coordinator was killed and restarted, the sink stopped writing (an offset
// commit retried forever against the old coordinator, holding the sink's lock) while /health/ready said ready.
describe("delta-sink when its group coordinator is killed and restarted", () => {
  it("keeps archiving every (source_url, cert_index) exactly once through three coordinator kills", async () => {
    const c = cluster;
    if (!c) throw new Error("no cluster");
    const kafka = testKafka("delta-sink-coord", c.brokers);
    const topics = await createTopics(kafka, 3, 3);
    const names = [topics.entries, topics.backfill];
    await c.waitIsrFull(names);
    producer = new EntryProducer(kafka);
    await producer.connect(names);
    const groupId = uniqueName("dsink-coord");
    const tablePath = join(dir, "table");
    const config = await writeSinkConfig(dir, {
      topics,
      groupId,
      tablePath,
      brokers: c.brokers,
      batchSize: 300,
      flushIntervalSecs: 1,
      checkpointInterval: 10,
    });
    const logFile = join(dir, "sink.log");
    // The environment wins over the config file: without this the child would join the shared stack.
    sink = spawnSink(config, logFile, [], { CERTSTREAM_KAFKA_BROKERS: c.brokers.join(",") });
    const url = await sink.url;

    // Load: chunks of 150 entries every ~400 ms until told to stop. A chunk whose send failed is not resent (a
    // resend could write it twice to Kafka): its entries must then appear at most once, not exactly once.
    const acked: CertificateEntry[] = [];
    const unsure: CertificateEntry[] = [];
    let producing = true;
    const load = (async () => {
      for (let n = 0; producing; n++) {
        const chunk = syntheticEntries(150, { start: n * 150, logs: 3, days: 2 });
        const topic = n % 5 === 4 ? topics.backfill : topics.entries;
        try {
          await producer?.send(topic, chunk);
          acked.push(...chunk);
        } catch {
          unsure.push(...chunk);
        }
        await sleep(400);
      }
    })();

    const firstReady = Date.now() + 60_000;
    while (!(await readiness(url)).ready) {
      if (Date.now() > firstReady) throw new Error(`sink never ready: ${(await readiness(url)).body}`);
      await sleep(250);
    }
    await sleep(3000);

    for (let round = 0; round < 3; round++) {
      const coordinator = await c.groupCoordinatorOf(groupId);
      await c.kill(coordinator);
      await sleep(4000);
      await c.restart(coordinator);
      await c.waitIsrFull(names);
      await sleep(4000);
    }
    producing = false;
    await load;

    // Without the fix the sink never writes again after the first kill: this times out.
    await waitCaughtUp(kafka, tablePath, names, APP, 60_000);
    const counts = await tableKeyCounts(tablePath);
    const missing = acked.filter((e) => counts.get(entryKeyOf(e)) !== 1);
    const absent = missing.filter((e) => !counts.has(entryKeyOf(e))).length;
    expect(
      missing.length,
      `acked entries not in the table exactly once (of ${acked.length}; ${absent} absent, the rest more than once)`,
    ).toBe(0);
    for (const e of unsure) expect(counts.get(entryKeyOf(e)) ?? 0).toBeLessThanOrEqual(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(acked.length).toBeGreaterThan(3000);
    // Caught up and consuming again: ready.
    const end = Date.now() + 30_000;
    while (!(await readiness(url)).ready && Date.now() < end) await sleep(500);
    expect((await readiness(url)).body).toMatch(/"status":"ready"/);
  }, 240_000);
});
