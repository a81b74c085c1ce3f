import type { Admin, Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/stack.ts";
import { consumerLag, ensureTopics, totalLag } from "../src/index.ts";
import { testKafka } from "./fixture.ts";

describe("consumerLag (real broker)", () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = uniqueName("t.lag");

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: 2, replicationFactor: 1 }]);
  });

  afterAll(async () => {
    if (!admin) return; // beforeAll failed: its error is the one to read
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });

  it("counts every record for a group without commits, and high − committed after commits", async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `p0-${i}` })),
        ...Array.from({ length: 3 }, (_, i) => ({ partition: 1, value: `p1-${i}` })),
      ],
    });
    await producer.disconnect();

    const groupId = uniqueName("g.lag");
    let lags = await consumerLag(admin, groupId, [topic]);
    expect(lags.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic, partition: 0, committed: null, high: 5, lag: 5 },
      { topic, partition: 1, committed: null, high: 3, lag: 3 },
    ]);

    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "2" }] });
    lags = await consumerLag(admin, groupId, [topic]);
    expect(lags.find((l) => l.partition === 0)).toMatchObject({ committed: 2, lag: 3 });
    expect(totalLag(lags)).toBe(6);
  });
});
