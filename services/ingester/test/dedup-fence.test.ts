/**
 * A dedup partition fenced by a producer of its own transactional id while no other member takes it: what a
 * preparation that outlived its state does when its InitProducerId, retried while a coordinator was loading,
 * lands after the new producer's (CI: a broker kill left partition 1 paused for good, and `certs` a third
 * short). Here a second producer with the partition's id really fences the stage's; no rebalance follows, so
 * the stage must prepare the partition again and go on, with every certificate in `certs` once.
 */
import { transactionalProducer } from "@certstream/kafka";
import { afterAll, expect, it } from "vitest";
import { DedupStage } from "../src/dedup-stage.ts";
import {
  dedupStageOptions,
  dedupTopics,
  leafRecords,
  readTopic,
  testKafka,
  uniqueNames,
  waitFor,
} from "./harness.ts";

const SESSION_MS = 6_000;
const kafka = testKafka();
let stage: DedupStage | null = null;
afterAll(async () => {
  await stage?.stop();
});

it("prepares again a partition fenced by its own transactional id when no rebalance follows", async () => {
  const names = uniqueNames("dedup-fence");
  const admin = kafka.admin();
  await admin.connect();
  await dedupTopics(admin, names);
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const send = (from: number) => producer.send({ topic: names.entries, messages: leafRecords(from, 10) });
  const certs = async () => (await readTopic(kafka, names.certs)).map((r) => r.key?.toString() ?? "");

  await send(0);
  stage = new DedupStage(dedupStageOptions(names, SESSION_MS));
  await stage.start();
  await waitFor("the first 10 certificates", async () => (await certs()).length >= 10, 30_000);

  // InitProducerId under the partition's transactional id: Kafka bumps the epoch, the stage's producer is fenced.
  const late = transactionalProducer(kafka, {
    transactionalId: `${names.dedupTxPrefix}-${names.entries}-0`,
    transactionTimeoutMs: 30_000,
  });
  await late.connect();
  await (await late.transaction()).abort();
  await late.disconnect();

  await send(10);
  await producer.disconnect();
  const keys = await waitFor(
    "the next 10 certificates",
    async () => {
      const k = await certs();
      return k.length >= 20 ? k : null;
    },
    SESSION_MS * 2 + 30_000,
    500,
  );
  expect(keys).toEqual(Array.from({ length: 20 }, (_, i) => `leaf-${i}`));
}, 120_000);
