/**
 * A dedup transaction that Kafka tears the dangerous way: the group's offset past the batch committed, the
 * certificates aborted (a coordinator restarted before it was fenced can do it: docs/ingester.md, "Kafka's
 * part"), and the commit unanswered. Here the member also loses its generation before it fetches again, so
 * the group resumes past the batch; or it never comes back and another member takes the partition over. Only
 * the completion when the partition is prepared (the entries between the last certificate forwarded and the
 * group's offset compared with the rebuilt seen-set) brings them to `certs`. Without it this test loses all.
 *
 * The tear is injected at the producer (the real transaction is aborted, the same offsets are committed by
 * another transactional producer) because a real one needs a broker kill to land between a PrepareCommit's
 * append and its replication (about 1 kill in 20; broker-kill.test.ts runs the kills).
 */
import { HEADER_ENTRIES_OFFSET, transactionalProducer } from "@certstream/kafka";
import { registry } from "@certstream/metrics";
import type { Transaction } from "kafkajs";
import { afterAll, expect, it } from "vitest";
import { uniqueName } from "../../../test/stack.ts";
import { DedupStage } from "../src/dedup-stage.ts";
import {
  dedupStageOptions,
  dedupTopics,
  leafRecords,
  readTopic,
  sleep,
  testKafka,
  uniqueNames,
  waitFor,
  withTransaction,
} from "./harness.ts";

const SESSION_MS = 6_000;
const N = 20;

const kafka = testKafka();
const stages: DedupStage[] = [];
let release: () => void = () => undefined;
afterAll(async () => {
  release();
  await Promise.all(stages.map((s) => s.stop()));
});

async function tornCount(): Promise<number> {
  const m = await registry.getSingleMetric("certstream_ingester_dedup_torn_batches_total")?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
}

it("completes a dedup batch Kafka tore (offset committed, certificates aborted) after the group moved on", async () => {
  // The member's commit goes unanswered for longer than the session: it loses its generation, and the group
  // resumes the partition from the committed offset, past the batch.
  await tornBatch(async () => {
    await sleep(SESSION_MS + 3_000);
    throw new Error("commit unanswered (injected)");
  });
}, 120_000);

it("another member completes it when the one that wrote the batch never comes back", async () => {
  // The writer hangs in its commit for good (as if killed): nothing of the batch is left in any memory, and a
  // second member takes the partition over once the writer's session expired.
  const hung = new Promise<void>((resolve) => {
    release = resolve;
  });
  await tornBatch(
    async () => {
      await hung;
      throw new Error("commit unanswered (injected)");
    },
    (stage) => stages.push(stage),
  );
}, 120_000);

it("a partition whose entries retention deleted up to the group's offset is prepared without waiting for them", async () => {
  // Nothing forwarded in the TTL window (an idle partition), so the completion would read the last 5,000 entries
  // before the group's offset, and those were deleted: it must not wait for records that are gone, and the
  // partition must go on forwarding.
  const names = uniqueNames("dedup-retained");
  const admin = kafka.admin();
  await admin.connect();
  await dedupTopics(admin, names);
  const producer = kafka.producer();
  await producer.connect();
  // Older than the TTL: their certificates are outside the window the next member rebuilds.
  const send = (from: number) =>
    producer.send({ topic: names.entries, messages: leafRecords(from, 5, Date.now() - 2 * 3600_000) });
  await send(0);
  const options = dedupStageOptions(names, SESSION_MS);
  const first = new DedupStage(options);
  await first.start();
  await waitFor("5 certificates", async () => (await readTopic(kafka, names.certs)).length >= 5, 30_000);
  await first.stop();
  const [end] = await admin.fetchTopicOffsets(names.entries);
  await admin.deleteTopicRecords({ topic: names.entries, partitions: [{ partition: 0, offset: end.high }] });
  await admin.disconnect();
  const second = new DedupStage(options);
  stages.push(second);
  const t0 = Date.now();
  await second.start();
  await send(5);
  await producer.disconnect();
  await waitFor(
    "the next 5 certificates",
    async () => (await readTopic(kafka, names.certs)).length >= 10,
    60_000,
  );
  expect(Date.now() - t0).toBeLessThan(60_000);
  const keys = (await readTopic(kafka, names.certs)).map((r) => r.key?.toString());
  expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `leaf-${i}`));
}, 120_000);

/**
 * N entries, a dedup stage whose first commit Kafka tears (then `afterTear` decides what the member does), and,
 * when `takeOver` is given, a second member in the same group. Every certificate must end in certs once.
 */
async function tornBatch(
  afterTear: () => Promise<never>,
  takeOver?: (stage: DedupStage) => void,
): Promise<void> {
  const names = uniqueNames("dedup-torn");
  const admin = kafka.admin();
  await admin.connect();
  await dedupTopics(admin, names);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: names.entries, messages: leafRecords(0, N) });
  await producer.disconnect();

  let injected = false;
  const tornBefore = await tornCount();
  const options = dedupStageOptions(names, SESSION_MS);
  const writer = new DedupStage({
    ...options,
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
            return afterTear();
          },
        };
      }),
  });
  if (!takeOver) stages.push(writer);
  await writer.start();
  await waitFor("the first batch's commit", async () => injected, 30_000);
  if (takeOver) {
    const second = new DedupStage(options);
    takeOver(second);
    await second.start();
  }

  const certs = async () => await readTopic(kafka, names.certs);
  await waitFor(`${N} certificates in certs`, async () => (await certs()).length >= N, 60_000);
  await sleep(2_000); // anything forwarded twice would be there by now
  const records = await certs();
  const keys = records.map((r) => r.key?.toString() ?? "");
  expect(keys.length).toBe(N);
  expect(new Set(keys)).toEqual(new Set(Array.from({ length: N }, (_, i) => `leaf-${i}`)));
  // Each names the entries record it came from (what the next member reads back).
  expect(
    records.map((r) => r.headers?.[HEADER_ENTRIES_OFFSET]?.toString()).sort((a, b) => Number(a) - Number(b)),
  ).toEqual(Array.from({ length: N }, (_, i) => String(i)));
  expect(await tornCount()).toBe(tornBefore + 1);
}
