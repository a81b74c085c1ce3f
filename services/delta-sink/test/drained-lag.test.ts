/**
 * certstream_kafka_consumer_lag_messages of the delta sink reads 0 once everything is archived, on a topic
 * written in transactions as the ingester writes it (issue 12: it stayed at 1 per partition, the commit
 * marker after the last record; an aborted transaction left its records and marker counted for good).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalStorage } from "@certstream/delta";
import { entryKey, valueSubject } from "@certstream/kafka";
import { registry } from "@certstream/metrics";
import { afterAll, expect, it } from "vitest";
import { syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { uniqueName } from "../../../test/stack.ts";
import { DeltaSink } from "../src/sink.ts";
import { createTopics, EntryProducer, logger, tableKeyCounts, testKafka } from "./harness.ts";

const kafka = testKafka("delta-sink-lag-test");
let dir = "";
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The lag series of `group`, keyed `topic/partition`, once all read 0 (or as they are after 10 s). */
async function drainedLag(group: string): Promise<Record<string, number>> {
  let lag = await lagSeries(group);
  for (let i = 0; i < 40 && !(lag.size > 0 && [...lag.values()].every((v) => v === 0)); i++) {
    await new Promise((r) => setTimeout(r, 250));
    lag = await lagSeries(group);
  }
  return Object.fromEntries(lag);
}

/** The lag series of `group`, keyed `topic/partition`. */
async function lagSeries(group: string): Promise<Map<string, number>> {
  const m = (await registry.getMetricsAsJSON()).find(
    (x) => x.name === "certstream_kafka_consumer_lag_messages",
  );
  const out = new Map<string, number>();
  for (const v of (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[]) {
    if (v.labels.group === group) out.set(`${v.labels.topic}/${v.labels.partition}`, v.value);
  }
  return out;
}

it("reads 0 per partition when drained: committed and aborted transactions, plain records", async () => {
  dir = await mkdtemp(join(tmpdir(), "delta-sink-lag-"));
  const topics = await createTopics(kafka, 2);
  const plain = new EntryProducer(kafka);
  await plain.connect([topics.entries, topics.backfill]);
  const codec = plain.codec; // registered for both topics by connect()
  const tx = kafka.producer({
    transactionalId: uniqueName("dsink-lag-tx"),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await tx.connect();
  const send = async (entries: ReturnType<typeof syntheticEntries>, commit: boolean) => {
    const t = await tx.transaction();
    await t.send({
      topic: topics.entries,
      messages: entries.map((e) => ({
        key: entryKey(e),
        value: codec.encodeSync(e, valueSubject(topics.entries)),
      })),
    });
    await (commit ? t.commit() : t.abort());
  };
  const committed = syntheticEntries(120, { start: 0, logs: 2 });
  await send(committed, true);
  await send(syntheticEntries(30, { start: 10_000, logs: 2 }), false);
  await send(syntheticEntries(40, { start: 20_000, logs: 2 }), true);
  await plain.send(topics.backfill, syntheticEntries(20, { start: 30_000 }));
  await plain.disconnect();
  // Left open while the sink drains what is before it: its records are lag, then it is aborted.
  const open = await tx.transaction();
  await open.send({
    topic: topics.entries,
    messages: syntheticEntries(30, { start: 40_000, logs: 2 }).map((e) => ({
      key: entryKey(e),
      value: codec.encodeSync(e, valueSubject(topics.entries)),
    })),
  });

  const groupId = uniqueName("dsink-lag");
  const tablePath = join(dir, "table");
  const sink = new DeltaSink({
    kafka,
    decoder: codec,
    storage: new LocalStorage(tablePath),
    topics: [topics.entries, topics.backfill],
    groupId,
    appId: "lag-test",
    batchSize: 1000,
    maxBatchBytes: 64 * 1024 * 1024,
    flushIntervalMs: 300,
    maxBufferedRecords: 100_000,
    retryMaxBackoffMs: 1000,
    checkpointInterval: 10,
    logger,
  });
  void sink.start();
  try {
    const want = 120 + 40 + 20;
    const deadline = Date.now() + 60_000;
    let rows = 0;
    while (Date.now() < deadline && rows < want) {
      await new Promise((r) => setTimeout(r, 500));
      rows = await tableKeyCounts(tablePath).then(
        (c) => c.size,
        () => 0,
      );
    }
    expect(rows, "rows archived (aborted ones excluded)").toBe(want);
    const zero = {
      [`${topics.entries}/0`]: 0,
      [`${topics.entries}/1`]: 0,
      [`${topics.backfill}/0`]: 0,
      [`${topics.backfill}/1`]: 0,
    };
    // The open transaction's records are not readable yet: lag, on the entries partitions that got them.
    const entriesLag = (l: Map<string, number>) =>
      (l.get(`${topics.entries}/0`) ?? 0) + (l.get(`${topics.entries}/1`) ?? 0);
    let pending = await lagSeries(groupId);
    for (let i = 0; i < 20 && (pending.size < 4 || entriesLag(pending) !== 30); i++) {
      await new Promise((r) => setTimeout(r, 250));
      pending = await lagSeries(groupId);
    }
    expect(pending.get(`${topics.backfill}/0`)).toBe(0);
    expect(pending.get(`${topics.backfill}/1`)).toBe(0);
    expect(entriesLag(pending), JSON.stringify(Object.fromEntries(pending))).toBe(30);

    // Aborted, it reaches the sink as a batch of nothing but filtered records (the aborted ones and the
    // abort marker), which kafkajs never hands to eachBatch.
    await open.abort();
    expect(await drainedLag(groupId)).toEqual(zero);
    expect((await tableKeyCounts(tablePath)).size).toBe(want);
  } finally {
    await sink.stop();
    await tx.disconnect();
  }
}, 120_000);
