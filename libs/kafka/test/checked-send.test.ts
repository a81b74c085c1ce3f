import type { ProducerRecord, RecordMetadata, Sender } from "kafkajs";
import { describe, expect, it } from "vitest";
import { checkedSend, keyPartitioner, UnacknowledgedSendError } from "../src/checked-send.ts";

/** A sender that answers for the partitions it is told to, like kafkajs after its per-broker retry. */
function sender(answers: (record: ProducerRecord) => number[]): Sender {
  return {
    send: async (record: ProducerRecord): Promise<RecordMetadata[]> =>
      answers(record).map((partition) => ({
        topicName: record.topic,
        partition,
        errorCode: 0,
        baseOffset: "7",
      })),
    sendBatch: async () => [],
  };
}

const messages = [0, 1, 2, 2].map((partition, i) => ({ key: `k${i}`, value: "v", partition }));

describe("checkedSend", () => {
  it("resolves with the answers when every partition written to was answered", async () => {
    const all = sender((r) => [...new Set(r.messages.map((m) => m.partition ?? -1))]);
    expect(await checkedSend(all, "t", messages)).toHaveLength(3);
  });

  it("sends each partition's messages on their own (one broker per kafkajs send, so its retries stay safe)", async () => {
    const sends: number[][] = [];
    const recording = sender((r) => {
      const partitions = [...new Set(r.messages.map((m) => m.partition ?? -1))];
      sends.push(partitions);
      return partitions;
    });
    await checkedSend(recording, "t", messages);
    expect(sends.sort()).toEqual([[0], [1], [2]]);
  });

  it("fails a send that kafkajs resolved without an answer for its partition (its messages never sent)", async () => {
    const dropped = sender((r) => (r.messages[0].partition === 1 ? [] : [r.messages[0].partition ?? -1]));
    const err = await checkedSend(dropped, "t", messages).catch((e) => e);
    expect(err).toBeInstanceOf(UnacknowledgedSendError);
    expect(err.partitions).toEqual([1]);
  });

  it("refuses messages without a partition (it could not check them)", async () => {
    const all = sender(() => [0]);
    await expect(checkedSend(all, "t", [{ key: "k", value: "v" }])).rejects.toThrow(/partition set/);
  });

  it("keyPartitioner spreads keys over every partition, the same key always to the same one", () => {
    const p = keyPartitioner("t", 6);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(p(Buffer.from(`key-${i}`)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p(Buffer.from("abc"))).toBe(p(Buffer.from("abc")));
  });
});
