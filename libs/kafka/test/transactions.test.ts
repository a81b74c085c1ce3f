import type { Admin, Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, ensureTopics, entryKey, valueSubject } from "../src/index.ts";
import { readCommitted, sampleEntry, testKafka } from "./fixture.ts";

describe("transactions (real broker)", () => {
  let kafka: Kafka;
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    if (!admin) return; // beforeAll failed: its error is the one to read
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  });

  it("shows committed transactions to read_committed consumers and hides aborted ones", async () => {
    const topic = uniqueName("t.tx");
    topics.push(topic);
    await ensureTopics(admin, [{ topic, partitions: 2, replicationFactor: 1 }]);
    const producer = kafka.producer({
      transactionalId: uniqueName("tx"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      for (const [value, commit] of [
        ["a", true],
        ["b", false],
        ["c", true],
      ] as const) {
        const tx = await producer.transaction();
        await tx.send({ topic, messages: [{ key: value, value }] });
        await (commit ? tx.commit() : tx.abort());
      }
    } finally {
      await producer.disconnect();
    }
    const seen = await readCommitted(kafka, topic, (v) => v.includes("a") && v.includes("c"));
    expect(seen.sort()).toEqual(["a", "c"]);
  });

  it("carries registry-encoded CertificateEntry records keyed by leaf SHA-256 in a transaction", async () => {
    const topic = uniqueName("t.entries");
    topics.push(topic);
    await ensureTopics(admin, [{ topic, partitions: 3, replicationFactor: 1 }]);
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(valueSubject(topic));
    const entries = [sampleEntry(1), sampleEntry(2)];

    const producer = kafka.producer({
      transactionalId: uniqueName("tx"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({
      topic,
      messages: await Promise.all(
        entries.map(async (e) => ({ key: entryKey(e), value: await codec.encode(e) })),
      ),
    });
    await tx.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName("g") });
    const got: { key: Buffer | null; index: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out")), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const decoded = await codec.decode(message.value!);
            got.push({ key: message.key, index: decoded.index });
            if (got.length === entries.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(got.map((g) => g.index).sort()).toEqual([1, 2]);
    for (const g of got) expect(g.key?.equals(entryKey(entries[0]))).toBe(true);
  });
});
