import { randomUUID } from "node:crypto";
import type { Kafka, KafkaMessage } from "kafkajs";

/** `[start, end)` offsets of one partition. */
export interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
}

export interface ReadRangesOptions {
  topic: string;
  ranges: readonly PartitionRange[];
  /** Prefix of the throwaway consumer group (never commits offsets). */
  groupPrefix: string;
  /** Gives up (throws) when the ranges are not read by then. An open transaction holds read_committed back. */
  timeoutMs: number;
  onMessage: (partition: number, message: KafkaMessage) => void | Promise<void>;
}

/**
 * Reads fixed offset ranges of a topic, read_committed, then stops: what was committed in `[start, end)` of each
 * partition, aborted records and transaction markers skipped. Ends are usually a high-watermark snapshot; when a
 * transaction is still open below it, the read waits until that transaction is decided (committed records after
 * it must be seen, which is the point: nothing committed before the snapshot is missed).
 *
 * Progress per partition comes from kafkajs' END_BATCH_PROCESS events, which fire for batches made only of
 * markers or aborted records too, so a range ending on a commit marker completes.
 */
export async function readTopicRanges(kafka: Kafka, opts: ReadRangesOptions): Promise<{ records: number }> {
  const { topic } = opts;
  const todo = opts.ranges.filter((r) => r.end > r.start);
  if (todo.length === 0) return { records: 0 };
  const positions = new Map<number, bigint>(todo.map((r) => [r.partition, r.start]));
  const ranges = new Map<number, PartitionRange>(todo.map((r) => [r.partition, r]));
  const done = (): boolean => todo.every((r) => (positions.get(r.partition) ?? 0n) >= r.end);

  let records = 0;
  let failure: Error | null = null;
  let wake: () => void = () => {};
  const consumer = kafka.consumer({
    groupId: `${opts.groupPrefix}-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
    sessionTimeout: 30_000,
    retry: { retries: 8 },
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    const next = BigInt(payload.lastOffset) + 1n;
    const cur = positions.get(payload.partition);
    if (cur !== undefined && next > cur) positions.set(payload.partition, next);
    wake();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) {
      failure = payload.error;
      wake();
    }
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const r = ranges.get(batch.partition);
        if (!r) return;
        for (const m of batch.messages) {
          const off = BigInt(m.offset);
          // Before the seek lands the group may start at the beginning; outside the range is not ours.
          if (off < r.start || off >= r.end) continue;
          records++;
          await opts.onMessage(batch.partition, m);
        }
        await heartbeat();
      },
    });
    for (const r of todo) consumer.seek({ topic, partition: r.partition, offset: r.start.toString() });
    const deadline = Date.now() + opts.timeoutMs;
    while (!done()) {
      if (failure) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) {
        const detail = todo.map((r) => `${r.partition}:${positions.get(r.partition)}/${r.end}`).join(" ");
        throw new Error(
          `${topic}: offsets not read within ${opts.timeoutMs} ms (partition:position/end ${detail}); ` +
            "a transaction may be open longer than that",
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (failure) throw failure;
    return { records };
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Low and high watermarks per partition. */
export async function topicOffsets(
  kafka: Kafka,
  topic: string,
): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
