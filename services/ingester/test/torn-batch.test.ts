import type { Message, RecordMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import { noteWritten, settleDecision, type UnsettledBatch } from "../src/torn-batch.ts";

// Batch [141, 156) of one log, as in the three-node broker-kill runs that found Kafka tearing transactions.
function batch(): UnsettledBatch {
  const messages: Message[] = [];
  for (let i = 141; i < 156; i++) messages.push({ key: String(i), value: `entry ${i}`, partition: i % 3 });
  return {
    from: 141,
    to: 156,
    messages,
    state: { key: "state", value: "next 156", partition: 0 },
    written: new Map(),
  };
}

const indexes = (ms: Message[]) => ms.map((m) => Number(m.key));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("settleDecision", () => {
  it("leaves a batch committed whole or aborted whole alone", () => {
    expect(settleDecision(batch(), new Set(range(141, 156)), 156)).toEqual({ kind: "whole" });
    expect(settleDecision(batch(), new Set(), 141)).toEqual({ kind: "whole" });
    // A log's first batch, aborted whole: no position at all.
    expect(settleDecision(batch(), new Set(), null)).toEqual({ kind: "whole" });
  });

  it("writes the entries Kafka lost when the state record committed (the run that lost 147, 151, 152)", () => {
    const present = new Set(range(141, 156).filter((i) => ![147, 151, 152].includes(i)));
    const d = settleDecision(batch(), present, 156);
    expect(d.kind).toBe("complete");
    if (d.kind !== "complete") return;
    expect(indexes(d.missing)).toEqual([147, 151, 152]);
    expect(d.withState).toBe(false);
  });

  it("writes the absent entries and the state when the state record aborted, never a present one twice", () => {
    const committed = [143, 144, 146, 149, 152, 155]; // one partition's share committed, the rest aborted
    const d = settleDecision(batch(), new Set(committed), 141);
    expect(d.kind).toBe("complete");
    if (d.kind !== "complete") return;
    expect(indexes(d.missing)).toEqual(range(141, 156).filter((i) => !committed.includes(i)));
    expect(d.withState).toBe(true);
    // The log's first batch torn the same way.
    expect(settleDecision(batch(), new Set(committed), null)).toMatchObject({
      kind: "complete",
      withState: true,
    });
  });

  it("does not complete a batch whose position another owner has moved", () => {
    expect(settleDecision(batch(), new Set([141]), 200)).toEqual({ kind: "foreign" });
  });
});

describe("noteWritten", () => {
  it("keeps per partition the first and last offset over several sends", () => {
    const written = new Map<number, { first: bigint; last: bigint }>();
    const answer = (partition: number, baseOffset: string) =>
      ({ topicName: "entries", partition, errorCode: 0, baseOffset }) as RecordMetadata;
    const m = (partition: number): Message => ({ value: "x", partition });
    noteWritten(written, [m(0), m(1), m(0)], [answer(0, "10"), answer(1, "7")]);
    noteWritten(written, [m(0)], [answer(0, "40")]);
    expect(written).toEqual(
      new Map([
        [0, { first: 10n, last: 40n }],
        [1, { first: 7n, last: 7n }],
      ]),
    );
    // An answer without an offset fails the batch rather than start a read-back anywhere.
    expect(() => noteWritten(written, [m(2)], [{ ...answer(2, "0"), baseOffset: undefined }])).toThrow(
      /no offset/,
    );
  });
});
