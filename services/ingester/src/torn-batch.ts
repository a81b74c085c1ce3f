// What the ingester does about a batch whose commit went unanswered: Kafka should have committed or aborted it
// whole, but a coordinator restarted before the controller fenced it can tear it (docs/ingester.md, "Kafka's
// part"). The watcher keeps the batch, reads back which of its entries `entries` holds, and decides here.
import type { Message, RecordMetadata } from "kafkajs";

/** A batch whose commit failed without an answer, kept until its outcome has been read back. */
export interface UnsettledBatch {
  from: number;
  to: number;
  /** The batch's entries, as sent: `messages[i]` is index `from + i`. */
  messages: Message[];
  /** The batch's state record, as sent. */
  state: Message;
  /** Per entries partition, the offsets of the first and the last record written there for the batch. */
  written: Map<number, { first: bigint; last: bigint }>;
}

export type SettleDecision =
  /** Committed whole or aborted whole: nothing to do. */
  | { kind: "whole" }
  /** Torn: write `missing` (and the state record when it was the part aborted). */
  | { kind: "complete"; missing: Message[]; withState: boolean }
  /** Committed in part, but the position is neither before nor after the batch: another owner moved it. */
  | { kind: "foreign" };

/**
 * `present`: the batch's indexes that `entries` holds committed; `storedNext`: the position read after the
 * batch's transaction was decided (null: the log has none).
 */
export function settleDecision(
  u: UnsettledBatch,
  present: ReadonlySet<number>,
  storedNext: number | null,
): SettleDecision {
  const missing = u.messages.filter((_, i) => !present.has(u.from + i));
  if (storedNext === u.to)
    return missing.length === 0 ? { kind: "whole" } : { kind: "complete", missing, withState: false };
  if (present.size === 0) return { kind: "whole" };
  // The state record aborted: the position must still be where the batch began (or absent: the log's first).
  if (storedNext !== u.from && storedNext !== null) return { kind: "foreign" };
  return { kind: "complete", missing, withState: true };
}

/** Notes where a send of `chunk` put its records (kafkajs answers each partition with its first offset). */
export function noteWritten(
  written: Map<number, { first: bigint; last: bigint }>,
  chunk: readonly Message[],
  answers: readonly RecordMetadata[],
): void {
  for (const r of answers) {
    // An offset we cannot trust would start the read-back in the wrong place: fail the batch instead.
    if (r.baseOffset === undefined || BigInt(r.baseOffset) < 0n)
      throw new Error(`no offset for the batch's records on partition ${r.partition}: ${r.baseOffset}`);
    const first = BigInt(r.baseOffset);
    const last = first + BigInt(chunk.filter((c) => c.partition === r.partition).length - 1);
    const seen = written.get(r.partition);
    if (!seen) written.set(r.partition, { first, last });
    else
      written.set(r.partition, {
        first: seen.first < first ? seen.first : first,
        last: seen.last > last ? seen.last : last,
      });
  }
}
