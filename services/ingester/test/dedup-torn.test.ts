/**
 * A dedup transaction that Kafka tears the dangerous way: the group's offset past the batch committed, the
 * certificates aborted (a coordinator restarted before it was fenced can do it: docs/ingester.md, "Kafka's
 * part"), and the commit unanswered. Here the member also loses its generation before it fetches again, so
 * the group resumes past the batch: only the stage's completion of the unanswered commit (the batch's
 * certificates compared with the rebuilt seen-set when the partition is prepared again) brings them to `certs`.
 * Without it this test loses all of them.
 *
 * The tear is injected at the producer (the real transaction is aborted, the same offsets are committed by
 * another transactional producer) because a real one needs a broker kill to land between a PrepareCommit's
 * append and its replication (about 1 kill in 20; broker-kill.test.ts runs the kills).
 */
import { HEADER_LEAF_PARSED, transactionalProducer } from "@certstream/kafka";
import { registry } from "@certstream/metrics";
import type { Producer, Transaction } from "kafkajs";
import { afterAll, expect, it } from "vitest";
import { uniqueName } from "../../../test/stack.ts";
import { DedupStage } from "../src/dedup-stage.ts";
import { logger, readTopic, sleep, testKafka, uniqueNames, waitFor } from "./harness.ts";

const SESSION_MS = 6_000;
const N = 20;

const kafka = testKafka();
let stage: DedupStage | null = null;
afterAll(async () => {
  await stage?.stop();
});

async function tornCount(): Promise<number> {
  const m = await registry.getSingleMetric("certstream_ingester_dedup_torn_batches_total")?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
}

it("completes a dedup batch Kafka tore (offset committed, certificates aborted) after the group moved on", async () => {
  const names = uniqueNames("dedup-torn");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: names.entries, numPartitions: 1, replicationFactor: 1 },
      { topic: names.certs, numPartitions: 1, replicationFactor: 1 },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: names.entries,
    messages: Array.from({ length: N }, (_, i) => ({
      key: Buffer.from(`leaf-${i}`),
      value: Buffer.from(`entry ${i}`),
      headers: { [HEADER_LEAF_PARSED]: "1" },
    })),
  });
  await producer.disconnect();

  let injected = false;
  const tornBefore = await tornCount();
  stage = new DedupStage({
    kafka,
    logger,
    groupId: names.dedupGroup,
    entriesTopic: names.entries,
    certsTopic: names.certs,
    ttlSecs: 3600,
    capacity: 10_000,
    transactionalIdPrefix: names.dedupTxPrefix,
    transactionTimeoutMs: 30_000,
    sessionTimeoutMs: SESSION_MS,
    heartbeatIntervalMs: 1_000,
    partitionsConsumedConcurrently: 1,
    wrapProducer: (real) =>
      withTransaction(real, (tx) => {
        let offsets: Parameters<Transaction["sendOffsets"]>[0] | null = null;
        return {
          ...tx,
          send: tx.send.bind(tx),
          sendBatch: tx.sendBatch.bind(tx),
          abort: tx.abort.bind(tx),
          isActive: tx.isActive.bind(tx),
          sendOffsets: async (o) => {
            offsets = o;
            await tx.sendOffsets(o);
          },
          commit: async () => {
            if (injected || offsets === null) return tx.commit();
            injected = true;
            // Kafka's tear: the certificates aborted, the group's offset past them committed.
            await tx.abort();
            const side = transactionalProducer(kafka, {
              transactionalId: uniqueName("dedup-torn-side"),
              transactionTimeoutMs: 30_000,
            });
            await side.connect();
            const stx = await side.transaction();
            await stx.sendOffsets(offsets);
            await stx.commit();
            await side.disconnect();
            // No answer for longer than the session: the member loses its generation, and the group
            // resumes the partition from the committed offset, past the batch.
            await sleep(SESSION_MS + 3_000);
            throw new Error("commit unanswered (injected)");
          },
        };
      }),
  });
  await stage.start();
  await waitFor("the first batch's commit", async () => injected, 30_000);

  const keysOf = async () => (await readTopic(kafka, names.certs)).map((r) => r.key?.toString() ?? "");
  await waitFor(`${N} certificates in certs`, async () => (await keysOf()).length >= N, 60_000);
  await sleep(2_000); // anything forwarded twice would be there by now
  const keys = await keysOf();
  expect(keys.length).toBe(N);
  expect(new Set(keys)).toEqual(new Set(Array.from({ length: N }, (_, i) => `leaf-${i}`)));
  expect(await tornCount()).toBe(tornBefore + 1);
}, 120_000);

/** `producer` with its transactions wrapped by `wrap`. */
function withTransaction(producer: Producer, wrap: (tx: Transaction) => Transaction): Producer {
  return new Proxy(producer, {
    get(target, prop, receiver) {
      if (prop === "transaction") return async () => wrap(await target.transaction());
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
