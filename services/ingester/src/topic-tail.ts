import { randomUUID } from "node:crypto";
import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";

export interface TopicTailOptions {
  topic: string;
  /** Only these partitions are read (the others are paused); all when absent. */
  partitions?: number[];
  /** Start each partition at the first record with timestamp ≥ this (ms); from the beginning when absent. */
  fromTimestamp?: number;
  /** Start these partitions at these offsets (wins over fromTimestamp; never below what retention left). */
  fromOffsets?: ReadonlyMap<number, bigint>;
  /** Read aborted records and open transactions too (read_uncommitted). Default false. */
  readUncommitted?: boolean;
  /** Prefix of the throwaway consumer group (one per tail; it never commits offsets). */
  groupPrefix: string;
  onMessage: (partition: number, message: KafkaMessage) => void | Promise<void>;
  /** The consumer stopped for good (kafkajs will not restart it). */
  onFatal?: (e: Error) => void;
}

/**
 * Reads a topic (read_committed) with a private consumer group and knows how far it got, so a caller can wait
 * until everything committed before "now" has been applied (`catchUp`). Used for the ingester state (tailed for
 * the life of the process) and to rebuild the dedup seen-set from `certs` (read once, then stopped).
 *
 * Positions come from kafkajs' END_BATCH_PROCESS events, which also fire for batches made only of transaction
 * markers or aborted records, so a partition whose tail is a marker still counts as caught up. A position only
 * grows, and a consumer that kafkajs restarts seeks back to it on joining. A record can still be delivered
 * twice (a batch in flight when the consumer restarted), so `onMessage` must keep, per key, the record with the
 * highest offset, never simply the last one delivered.
 */
export class TopicTail {
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly opts: TopicTailOptions;
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  /** partition → next offset to read. */
  private readonly positions = new Map<number, bigint>();
  private readonly waiters = new Set<() => void>();
  private partitionsRead: number[] = [];
  /** Per partition, its first offset (what retention left) when the tail started. */
  private readonly firstOffsets = new Map<number, bigint>();
  private failure: Error | null = null;

  constructor(kafka: Kafka, opts: TopicTailOptions) {
    this.kafka = kafka;
    this.opts = opts;
    this.topic = opts.topic;
  }

  async start(): Promise<void> {
    const { topic } = this.opts;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const admin = this.admin;
    // Right after topic creation the leader may not be known yet: retry for a while.
    const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
    const all = offsets.map((o) => o.partition).sort((a, b) => a - b);
    this.partitionsRead = this.opts.partitions ? all.filter((p) => this.opts.partitions?.includes(p)) : all;
    const starts = new Map<number, bigint>();
    for (const o of offsets) {
      starts.set(o.partition, BigInt(o.low));
      this.firstOffsets.set(o.partition, BigInt(o.low));
    }
    if (this.opts.fromTimestamp !== undefined) {
      const from = this.opts.fromTimestamp;
      const byTime = await retrying(() => admin.fetchTopicOffsetsByTimestamp(topic, from));
      const high = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
      for (const o of byTime) {
        // -1: no record at or after the timestamp → start at the end.
        starts.set(o.partition, BigInt(o.offset) < 0n ? (high.get(o.partition) ?? 0n) : BigInt(o.offset));
      }
    }
    // An offset retention deleted is not there to be read: start at the partition's first.
    for (const [p, o] of this.opts.fromOffsets ?? []) {
      const low = this.firstOffsets.get(p) ?? 0n;
      starts.set(p, o < low ? low : o);
    }
    for (const p of this.partitionsRead) this.positions.set(p, starts.get(p) ?? 0n);

    const consumer = this.kafka.consumer({
      groupId: `${this.opts.groupPrefix}-${randomUUID()}`,
      readUncommitted: this.opts.readUncommitted ?? false,
      maxWaitTimeInMs: 250,
      sessionTimeout: 30_000,
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic) return;
      const next = BigInt(payload.lastOffset) + 1n;
      const cur = this.positions.get(payload.partition);
      if (cur !== undefined && next > cur) this.positions.set(payload.partition, next);
      this.wake();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && this.consumer) {
        this.failure = payload.error;
        this.wake();
        this.opts.onFatal?.(payload.error);
      }
    });
    const skipped = all.filter((p) => !this.partitionsRead.includes(p));
    // On every join, the first and each after kafkajs restarted the consumer (a broker loss, a coordinator
    // still loading on a new cluster): go on from where this tail got to. The group commits nothing, so a
    // restarted consumer would otherwise start over from the beginning. (A seek before the join fails:
    // "Consumer group was not initialized".)
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const p of all) {
        const at = this.positions.get(p);
        if (at !== undefined) consumer.seek({ topic, partition: p, offset: at.toString() });
      }
      if (skipped.length > 0) consumer.pause([{ topic, partitions: skipped }]);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          await this.opts.onMessage(batch.partition, m);
          resolveOffset(m.offset);
        }
        await heartbeat();
      },
    });
  }

  /**
   * Resolves once every record below the partition's last stable offset as of this call has been applied.
   * The last stable offset stops at the first transaction still open, so records committed after it (by other
   * producers) may not be covered: a reader that needs a specific producer's last commit uses `reachedPast`.
   */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    if (!this.admin) throw new Error("TopicTail.catchUp before start()");
    const admin = this.admin;
    const offsets = await retrying(() => admin.fetchTopicOffsets(this.topic));
    const targets = new Map<number, bigint>();
    for (const o of offsets)
      if (this.partitionsRead.includes(o.partition)) targets.set(o.partition, BigInt(o.high));
    await this.reached(targets, timeoutMs);
  }

  /**
   * Resolves once the record at `offsets.get(p)` of each partition p, and everything before it, has been
   * applied (or passed over as aborted or a marker). The offsets are those of records the caller committed.
   */
  async reachedPast(offsets: Map<number, bigint>, timeoutMs = 60_000): Promise<void> {
    const targets = new Map<number, bigint>();
    for (const [p, o] of offsets) targets.set(p, o + 1n);
    await this.reached(targets, timeoutMs);
  }

  /** Per partition, its first offset (what retention left) when `start` looked. */
  get startFirstOffsets(): ReadonlyMap<number, bigint> {
    return this.firstOffsets;
  }

  /** The partitions this tail reads. */
  get partitions(): readonly number[] {
    return this.partitionsRead;
  }

  private async reached(targets: Map<number, bigint>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.failure) throw this.failure;
      let behind = false;
      for (const [p, target] of targets) if ((this.positions.get(p) ?? 0n) < target) behind = true;
      if (!behind) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        const detail = [...targets].map(([p, t]) => `${p}:${this.positions.get(p)}/${t}`).join(" ");
        throw new Error(
          `${this.topic}: not caught up after ${timeoutMs} ms (partition:position/target ${detail})`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 500));
        this.waiters.add(done);
      });
    }
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    const a = this.admin;
    this.consumer = null;
    this.admin = null;
    // Bounded: a consumer stuck in a group join must not hold its caller forever.
    await Promise.race([
      Promise.allSettled([c?.disconnect(), a?.disconnect()]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * The records of `topic` at offsets [from, to) of each partition of `ranges`, in offset order (each once,
 * read_committed unless `readUncommitted`). The offsets are of records the caller knows were written; the read
 * waits (up to `timeoutMs`, then throws) until it has passed `to` - 1, so every record read or passed over is
 * final. Not clipped at the partition's end when the read began: that end is the last stable offset, and Kafka
 * writes a commit's markers partition by partition, so a partition's can still trail a commit that another
 * partition already shows (a state record committed and readable, its batch's entries not yet: read as absent,
 * they were written twice). A range starts no lower than what retention left (`clipped`: the partitions whose
 * range began below it, so part of it could not be read). Used by the completions of torn transactions
 * (dedup-stage.ts, log-watcher.ts), which read back a few known offsets.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: ReadonlyMap<number, { from: bigint; to: bigint }>,
  opts: { groupPrefix: string; timeoutMs: number; readUncommitted?: boolean },
): Promise<{ records: Map<number, KafkaMessage[]>; clipped: number[] }> {
  const got = new Map<number, Map<string, KafkaMessage>>();
  const clipped: number[] = [];
  if (ranges.size === 0) return { records: new Map(), clipped };
  const tail = new TopicTail(kafka, {
    topic,
    partitions: [...ranges.keys()],
    fromOffsets: new Map([...ranges].map(([p, r]) => [p, r.from])),
    groupPrefix: opts.groupPrefix,
    readUncommitted: opts.readUncommitted,
    onMessage: (partition, msg) => {
      const r = ranges.get(partition);
      const o = BigInt(msg.offset);
      if (!r || o < r.from || o >= r.to) return;
      const records = got.get(partition) ?? new Map<string, KafkaMessage>();
      got.set(partition, records);
      records.set(msg.offset, msg); // a record delivered twice (a restarted consumer) counts once
    },
  });
  try {
    await tail.start();
    const targets = new Map<number, bigint>();
    for (const [p, r] of ranges) {
      const first = tail.startFirstOffsets.get(p);
      const from = first !== undefined && first > r.from ? first : r.from;
      if (from > r.from) clipped.push(p);
      if (from < r.to) targets.set(p, r.to - 1n);
    }
    await tail.reachedPast(targets, opts.timeoutMs);
  } finally {
    await tail.stop();
  }
  const records = new Map<number, KafkaMessage[]>();
  for (const [p, byOffset] of got)
    records.set(
      p,
      [...byOffset.values()].sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1)),
    );
  return { records, clipped };
}

async function retrying<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * i)));
    }
  }
}
