// What the ingester does about a batch Kafka may have torn: committed in part, aborted in part (a coordinator
// restarted before the controller fenced it: docs/ingester.md, "Kafka's part"). Nothing here needs the memory of
// the process that wrote the batch: every state record names its batch (IngesterState.batch: first index and,
// per entries partition, the offsets of its records), so whoever resumes the log reads the batch back from Kafka.
import type { EntryVerification, IngesterState, StoredVerification, WrittenBatch } from "@certstream/schema";
import type { Message, RecordMetadata } from "kafkajs";

/** Per entries partition, the offsets of the first and the last record written there for a batch. */
export type Written = Map<number, { first: bigint; last: bigint }>;

/** Notes where a send of `chunk` put its records (kafkajs answers each partition with its first offset). */
export function noteWritten(
  written: Written,
  chunk: readonly Message[],
  answers: readonly RecordMetadata[],
): void {
  for (const r of answers) {
    // An offset we cannot trust would start the read-back in the wrong place: fail the batch instead.
    if (r.baseOffset === undefined || BigInt(r.baseOffset) < 0n)
      throw new Error(`no offset for the batch's records on partition ${r.partition}: ${r.baseOffset}`);
    const first = BigInt(r.baseOffset);
    const last = first + BigInt(chunk.filter((c) => c.partition === r.partition).length - 1);
    widen(written, r.partition, first, last);
  }
}

/** Widens `written`'s range of `partition` to cover [first, last]. */
export function widen(written: Written, partition: number, first: bigint, last: bigint): void {
  const seen = written.get(partition);
  if (!seen) written.set(partition, { first, last });
  else
    written.set(partition, {
      first: seen.first < first ? seen.first : first,
      last: seen.last > last ? seen.last : last,
    });
}

/** The state record's description of a batch [from, next) written at `written`. */
export function writtenBatch(from: number, written: Written): WrittenBatch {
  return {
    from_index: from,
    entries_offsets: [...written]
      .sort(([a], [b]) => a - b)
      .map(([partition, w]) => ({ partition, first: Number(w.first), last: Number(w.last) })),
  };
}

/** The offsets a state record names, as ranges to read back: [first, last + 1) per partition. */
export function readBackRanges(batches: readonly WrittenBatch[]): Map<number, { from: bigint; to: bigint }> {
  const w: Written = new Map();
  for (const b of batches)
    for (const o of b.entries_offsets) widen(w, o.partition, BigInt(o.first), BigInt(o.last));
  return new Map([...w].map(([p, r]) => [p, { from: r.first, to: r.last + 1n }]));
}

/** Where one entry of the log was found committed in `entries`. */
export interface Found {
  index: number;
  partition: number;
  offset: bigint;
}

/**
 * The committed state's own batch: the indexes of [from_index, next_index) that `entries` does not hold at the
 * offsets it names. They were aborted while the state record committed (the log moved past them): the
 * resuming owner writes them again.
 */
export function missingOfCommitted(state: IngesterState, found: readonly Found[]): number[] {
  const b = state.batch;
  if (!b) return [];
  const present = new Set(found.map((f) => f.index));
  const missing: number[] = [];
  for (let i = b.from_index; i < state.next_index; i++) if (!present.has(i)) missing.push(i);
  return missing;
}

/** A batch after the committed position that Kafka tore with its state record aborted: some entries committed. */
export interface TornAhead {
  /** The batch to write next: [from, to), from = the committed position. */
  from: number;
  to: number;
  /** Its indexes already committed in `entries`: never written again. */
  present: Set<number>;
  /** Where those lie (named by the state record of the batch that completes it). */
  written: Written;
}

/**
 * `aborted`: the state records of the log after the committed one (all aborted: the committed one is the last
 * to commit), `found`: the log's entries committed at the offsets their batches name. Null when none is there
 * (every batch after the position aborted whole).
 */
export function tornAhead(
  next: number,
  aborted: readonly IngesterState[],
  found: readonly Found[],
): TornAhead | null {
  const ahead = found.filter((f) => f.index >= next);
  if (ahead.length === 0) return null;
  const present = new Set<number>();
  const written: Written = new Map();
  for (const f of ahead) {
    present.add(f.index);
    widen(written, f.partition, f.offset, f.offset);
  }
  // The batch ends where the aborted one that held them ended (so the completion covers all of them at once).
  let to = Math.max(...present) + 1;
  for (const s of aborted)
    if (
      s.batch &&
      s.next_index > to &&
      [...present].some((i) => i >= (s.batch?.from_index ?? 0) && i < s.next_index)
    )
      to = s.next_index;
  return { from: next, to, present, written };
}

/**
 * The verification an entry written again by a completion carries: what the committed state says of the range
 * that ends at `next` (the batch's end), since the batch's own verdict was not kept.
 */
export function verificationAt(v: StoredVerification | null | undefined, next: number): EntryVerification {
  if (!v?.range_hashes || v.range_size !== next)
    return { state: "unverifiable", tree_size: null, tree_timestamp: null };
  if (v.mismatch)
    return { state: "mismatch", tree_size: v.mismatch.tree_size, tree_timestamp: v.mismatch.tree_timestamp };
  if (v.verified_size === next)
    return { state: "verified", tree_size: v.verified_size, tree_timestamp: v.verified_timestamp };
  return { state: "pending", tree_size: null, tree_timestamp: null };
}
