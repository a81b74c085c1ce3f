// A transaction that sends to several partitions at once (checkedSend) adds them to the transaction one request at
// a time, the waiting ones merged, so the coordinator never answers CONCURRENT_TRANSACTIONS to an add of ours
// racing another of ours; what kafkajs still retries after a commit is logged at trace, not as a warning.
import { createLogger } from "@certstream/log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueName } from "../../../test/stack.ts";
import { isHarmlessNotice } from "../src/client.ts";
import { checkedSend, createKafka, ensureTopics, transactionalProducer } from "../src/index.ts";
import {
  mergeTopics,
  partitionAddStats,
  serializePartitionAdds,
} from "../src/kafkajs-patches/partition-adds.ts";
import { readCommitted } from "./fixture.ts";

describe("AddPartitionsToTxn one at a time per transaction (real broker)", () => {
  const lines: string[] = [];
  const kafka = createKafka({
    brokers: kafkaBrokers(),
    clientId: "partition-adds-test",
    logger: createLogger("test", "warn", { write: (l: string) => void lines.push(l) }),
  });
  const topic = uniqueName("t.adds");
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: 6, replicationFactor: 1 }]);
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("twelve transactions over six partitions: every record committed once, no add racing another, no warning", async () => {
    const producer = transactionalProducer(kafka, {
      transactionalId: uniqueName("adds"),
      transactionTimeoutMs: 30_000,
    });
    await producer.connect();
    const before = { ...partitionAddStats };
    try {
      for (let t = 0; t < 12; t++) {
        const tx = await producer.transaction();
        await checkedSend(
          tx,
          topic,
          Array.from({ length: 6 }, (_, partition) => ({ partition, value: `${t}-${partition}` })),
        );
        await tx.commit();
      }
    } finally {
      await producer.disconnect();
    }
    // Never two adds of one transaction at once; the coordinator's refusals right after a commit (kafkajs
    // retries them) are counted, and logged at trace only (the no-warning check below).
    expect(partitionAddStats.maxInFlight).toBe(1);
    expect(partitionAddStats.requests - before.requests).toBeGreaterThanOrEqual(12);
    const values = await readCommitted(kafka, topic, (v) => v.length >= 72);
    expect(new Set(values).size).toBe(72);
    // A partition of the topic just created can still be moving to its leader on a loaded broker: kafkajs retries
    // that produce (and warns, as it should). Not this test's subject: the transaction's own warnings are.
    const warnings = lines.filter(
      (l) => /"level":"(warn|error)"/.test(l) && !l.includes("not the leader for that topic-partition"),
    );
    expect(warnings, warnings.join("\n")).toEqual([]);
  });

  it("merges topics partition by partition, and tells kafkajs's expected notices from others", () => {
    const r = (topics: { topic: string; partitions: number[] }[]) => ({
      transactionalId: "x",
      producerId: 1,
      producerEpoch: 0,
      topics,
    });
    expect(
      mergeTopics([
        r([{ topic: "a", partitions: [2, 0] }]),
        r([
          { topic: "a", partitions: [0, 1] },
          { topic: "b", partitions: [5] },
        ]),
      ]),
    ).toEqual([
      { topic: "a", partitions: [0, 1, 2] },
      { topic: "b", partitions: [5] },
    ]);
    expect(
      isHarmlessNotice("Limiting retries for the idempotent producer may invalidate EoS guarantees", {}),
    ).toBe(true);
    expect(
      isHarmlessNotice("Response AddPartitionsToTxn(key: 24, version: 1)", {
        error:
          "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing",
      }),
    ).toBe(true);
    expect(
      isHarmlessNotice("Response Produce(key: 0, version: 7)", { error: "Not leader for partition" }),
    ).toBe(false);
  });
});

describe("serializePartitionAdds", () => {
  it("keeps one add in flight per transaction and merges the waiting ones; a refusal reaches every waiter", async () => {
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    let fail = false;
    const original = async function (
      this: unknown,
      req: { transactionalId: string; topics: { topic: string; partitions: number[] }[] },
    ) {
      inFlight++;
      most = Math.max(most, inFlight);
      sent.push(
        `${req.transactionalId}:${req.topics.map((t) => `${t.topic}/${t.partitions.join("+")}`).join(",")}`,
      );
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      if (fail) throw Object.assign(new Error("refused"), { type: "CONCURRENT_TRANSACTIONS" });
      return "ok";
    };
    const add = serializePartitionAdds(original);
    const req = (id: string, partition: number) => ({
      transactionalId: id,
      producerId: 1,
      producerEpoch: 0,
      topics: [{ topic: "e", partitions: [partition] }],
    });
    const broker = {} as never;
    await Promise.all([0, 1, 2, 3].map((p) => add.call(broker, req("a", p))));
    expect(most).toBe(1);
    expect(sent).toEqual(["a:e/0", "a:e/1+2+3"]);
    // Two transactions (ids) do not wait for each other.
    most = 0;
    await Promise.all([add.call(broker, req("b", 0)), add.call(broker, req("c", 0))]);
    expect(most).toBe(2);
    fail = true;
    const results = await Promise.allSettled([0, 1, 2].map((p) => add.call(broker, req("d", p))));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
  });
});
