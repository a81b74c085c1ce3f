/**
 * `readRanges` reads back records a caller knows were written (a torn transaction's completion). Kafka writes a
 * commit's markers partition by partition, so the records of a committed batch can still sit behind the last
 * stable offset of their partition while another partition already shows the commit. CI caught the ingester
 * taking them for absent there and writing nine entries twice. Here the transaction is still open when the
 * read starts: the read must wait for it to be decided, and return what it committed.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { uniqueName } from "../../../test/stack.ts";
import { readRanges } from "../src/topic-tail.ts";
import { sleep, testKafka } from "./harness.ts";

const kafka = testKafka();
const topic = uniqueName("read-ranges");
const producer = kafka.producer({
  transactionalId: `${topic}-tx`,
  idempotent: true,
  maxInFlightRequests: 1,
});

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  await producer.connect();
});
afterAll(() => producer.disconnect());

it("waits for records whose transaction is not decided yet, then returns what it committed", async () => {
  const tx = await producer.transaction();
  const [sent] = await tx.send({ topic, messages: ["a", "b", "c"].map((value) => ({ value })) });
  const from = BigInt(sent.baseOffset ?? "0");
  let settled = false;
  const read = readRanges(kafka, topic, new Map([[0, { from, to: from + 3n }]]), {
    groupPrefix: `${topic}-read`,
    timeoutMs: 30_000,
  }).finally(() => {
    settled = true;
  });
  await sleep(2000);
  expect(settled, "the read does not end while the transaction is open").toBe(false);
  await tx.commit();
  const { records, clipped } = await read;
  expect(clipped).toEqual([]);
  expect(records.get(0)?.map((m) => m.value?.toString())).toEqual(["a", "b", "c"]);
}, 60_000);
