// A transaction that began first but is aborted last (a producer held mid-transaction while another aborts
// around it): the broker lists aborted transactions in abort order, kafkajs 2.2.4's filter assumes first-offset
// order and hands the early one's first records to a read_committed reader. Real broker; the unpatched kafkajs
// is read first (this file runs in its own process, and nothing here has called createKafka yet).

import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers, uniqueName } from "../../../test/stack.ts";
import { ensureTopics } from "../src/index.ts";
import { dropAbortedRecords } from "../src/kafkajs-patches/aborted-order.ts";
import { applyKafkajsIdleTimerFix } from "../src/kafkajs-patches/idle-timer.ts";
import { readCommitted, testKafka } from "./fixture.ts";

// kafkajs built here without createKafka: its idle-timer fix (a negative setTimeout Node 24 warns about) is applied
// by hand, or every run of this file prints a TimeoutNegativeWarning.
applyKafkajsIdleTimerFix();

describe("aborted transactions out of first-offset order (real broker)", () => {
  const topic = uniqueName("t.aborted-order");
  const plain = new Kafka({
    brokers: kafkaBrokers(),
    clientId: "aborted-order-plain",
    logLevel: logLevel.NOTHING,
  });

  beforeAll(async () => {
    const admin = plain.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ topic, partitions: 1, replicationFactor: 1 }]);
    } finally {
      await admin.disconnect();
    }
    const producer = (id: string) =>
      plain.producer({ transactionalId: uniqueName(id), idempotent: true, maxInFlightRequests: 1 });
    const [a, b, c] = [producer("a"), producer("b"), producer("c")];
    await Promise.all([a.connect(), b.connect(), c.connect()]);
    try {
      const ta = await a.transaction();
      await ta.send({ topic, messages: [{ value: "a1" }] }); // offset 0: a's transaction begins first...
      const tb = await b.transaction();
      await tb.send({ topic, messages: [{ value: "b1" }] }); // offset 1
      await tb.abort(); // ...b's is aborted first (marker at 2)...
      await ta.send({ topic, messages: [{ value: "a2" }] }); // offset 3
      await ta.abort(); // ...a's last (marker at 4): the broker lists [b@1, a@0]
      const tc = await c.transaction();
      await tc.send({ topic, messages: [{ value: "c1" }] });
      await tc.commit();
    } finally {
      await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()]);
    }
  });

  afterAll(async () => {
    const admin = plain.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it("kafkajs as shipped hands the aborted a1 to a read_committed reader", async () => {
    const seen = await readCommitted(plain, topic, (v) => v.includes("c1"));
    expect(seen).toEqual(["a1", "c1"]);
  });

  it("with our clients (createKafka applies the fix) only the committed c1 is read", async () => {
    const seen = await readCommitted(testKafka(), topic, (v) => v.includes("c1"));
    expect(seen).toEqual(["c1"]);
  });

  it("drops what Java's client drops from a fetch that starts inside two aborted transactions", () => {
    // Offsets 2..6 of: a1@0 (A) b1@1 (B) a2@2 (A) b2@3 (B) abort(B)@4 abort(A)@5 c1@6 (C, committed), fetched
    // from 3: kafkajs alone steps into one listed transaction per record and hands b2 on.
    const rec = (offset: number, producerId: string, value: string | null, abort = false) => ({
      offset: String(offset),
      key: abort ? Buffer.from([0, 0, 0, 0]) : null,
      value,
      isControlRecord: abort,
      batchContext: { producerId, inTransaction: true },
    });
    const partition = {
      abortedTransactions: [
        { producerId: "B", firstOffset: "1" },
        { producerId: "A", firstOffset: "0" },
      ],
      messages: [rec(3, "B", "b2"), rec(4, "B", null, true), rec(5, "A", null, true), rec(6, "C", "c1")],
    };
    dropAbortedRecords({ responses: [{ partitions: [partition] }] });
    expect(partition.messages.filter((m) => !m.isControlRecord).map((m) => m.value)).toEqual(["c1"]);
    expect(partition.abortedTransactions).toEqual([]);
  });
});
