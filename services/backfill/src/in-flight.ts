// The live path's record headers and state format come from the libs the ingester writes them with, so both
// sides cannot drift apart.
import { HEADER_LOG_ID, HEADER_LOG_INDEX, headerString } from "@certstream/kafka";
import type { IngesterState } from "@certstream/schema";
import type { Kafka, KafkaMessage } from "kafkajs";
import { type IndexRange, rangesFromIndices } from "./index-ranges.ts";
import { type PartitionRange, readTopicRanges, topicOffsets } from "./topic-range-reader.ts";

/** Decodes a registry-framed value (any registered schema) into a plain object. */
export type ValueDecoder = (value: Buffer) => Promise<unknown>;

/**
 * The ingester's committed position per log (`next_index`, the first index not yet in the entries topic),
 * read_committed from the compacted state topic up to its current end. Undecodable records are counted, skipped.
 */
export async function readIngesterPositions(
  kafka: Kafka,
  opts: {
    topic: string;
    /** The ingester's StateCodec.decode: null for a record that is not a state. */
    decode: (value: Buffer) => Promise<IngesterState | null>;
    groupPrefix: string;
    timeoutMs: number;
  },
): Promise<{ positions: Map<string, number>; undecodable: number }> {
  const positions = new Map<string, number>();
  let undecodable = 0;
  const offsets = await topicOffsets(kafka, opts.topic);
  const ranges: PartitionRange[] = [...offsets].map(([partition, o]) => ({
    partition,
    start: o.low,
    end: o.high,
  }));
  await readTopicRanges(kafka, {
    topic: opts.topic,
    ranges,
    groupPrefix: opts.groupPrefix,
    timeoutMs: opts.timeoutMs,
    onMessage: async (_p, m) => {
      if (!m.value) return; // tombstone: the log's state was deleted
      let state: IngesterState | null = null;
      try {
        state = await opts.decode(m.value);
      } catch {
        state = null;
      }
      if (!state) {
        undecodable++;
        return;
      }
      // One key lives in one partition, in commit order: the last record read is the position.
      positions.set(state.log_id, state.next_index);
    },
  });
  return { positions, undecodable };
}

/** (log id, index) of an entry record: from the headers the ingester and backfill set, else from the value. */
export async function entryCoordinates(
  m: KafkaMessage,
  decode: ValueDecoder,
): Promise<{ logId: string; index: number } | null> {
  const logId = headerString(m.headers, HEADER_LOG_ID);
  const idx = headerString(m.headers, HEADER_LOG_INDEX);
  if (logId !== undefined && idx !== undefined && /^\d+$/.test(idx)) return { logId, index: Number(idx) };
  if (!m.value) return null;
  try {
    const v = (await decode(m.value)) as { log?: { id?: unknown }; index?: unknown } | null;
    const id = v?.log?.id;
    const index = typeof v?.index === "bigint" ? Number(v.index) : v?.index;
    if (typeof id === "string" && typeof index === "number" && Number.isSafeInteger(index))
      return { logId: id, index };
  } catch {
    // not an entry record: counted by the caller
  }
  return null;
}

export interface InFlight {
  /** Per log id: indices committed in the topic beyond what the table has from it. */
  pending: Map<string, IndexRange[]>;
  /** Records read, and those that were not entry records. */
  records: number;
  unreadable: number;
  ranges: PartitionRange[];
}

/**
 * What a topic holds that the table does not have yet: the committed records after the delta sink's stored offset
 * of each partition (its `txn` version), up to the topic's current end. These entries will reach the table without
 * us, so they are not gaps. For the entries topic that is the live path's sink lag (never race it); for the
 * backfill topic it is what an earlier, interrupted run committed and the sink has not written yet (never produce
 * it twice). The sink's version may be the last offset written or the next one; reading from the version itself
 * covers both (one record too many is harmless: it is in the table).
 */
export async function readInFlight(
  kafka: Kafka,
  opts: {
    topic: string;
    sinkVersions: Map<number, bigint>;
    logs: ReadonlySet<string>;
    decode: ValueDecoder;
    groupPrefix: string;
    timeoutMs: number;
  },
): Promise<InFlight> {
  const offsets = await topicOffsets(kafka, opts.topic);
  const ranges: PartitionRange[] = [];
  for (const [partition, o] of offsets) {
    const v = opts.sinkVersions.get(partition);
    const start = v === undefined || v < o.low ? o.low : v;
    if (o.high > start) ranges.push({ partition, start, end: o.high });
  }
  const found = new Map<string, number[]>();
  let unreadable = 0;
  const { records } = await readTopicRanges(kafka, {
    topic: opts.topic,
    ranges,
    groupPrefix: opts.groupPrefix,
    timeoutMs: opts.timeoutMs,
    onMessage: async (_p, m) => {
      const c = await entryCoordinates(m, opts.decode);
      if (!c) {
        unreadable++;
        return;
      }
      if (!opts.logs.has(c.logId)) return;
      let list = found.get(c.logId);
      if (!list) {
        list = [];
        found.set(c.logId, list);
      }
      list.push(c.index);
    },
  });
  const pending = new Map<string, IndexRange[]>();
  for (const [log, list] of found) pending.set(log, rangesFromIndices(list));
  return { pending, records, unreadable, ranges };
}
