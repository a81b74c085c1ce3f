import type { StateCodec } from "@certstream/kafka";
import { keyPartitioner, stateKey } from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import type { IngesterState } from "@certstream/schema";
import type { Kafka } from "kafkajs";
import { stateDecodeFailures } from "./metrics.ts";
import { TopicTail } from "./topic-tail.ts";

/** Offsets of the records one barrier transaction committed: partition → offset. */
export type Barrier = Map<number, bigint>;

/**
 * This replica's read_committed view of `certstream.ingester.state`: the latest position of every log, tailed for
 * the life of the process.
 *
 * A watcher that has just fenced the previous owner of its log commits a barrier (an empty-valued record on every
 * partition of the topic, in its own new transaction) and asks for `current(log, barrier)`, which waits until the
 * view has read past the barrier. Every transaction of the log's transactional.id before the fence is decided by
 * then and sits below the barrier, so the position returned includes the last committed batch and nothing
 * aborted. A target taken from the partition's end (its last stable offset) is not enough: it stops at the first
 * transaction still open, and after a broker loss another log's transaction can hang open below our last commit
 * until its own producer comes back.
 */
export class StateView {
  /** Per log: the state and the offset of the record it came from (a re-read never moves a log back). */
  private readonly states = new Map<string, { state: IngesterState; offset: bigint }>();
  private readonly tail: TopicTail;
  private readonly log: Logger;
  private readonly topic: string;
  private partitioner: ((key: Buffer) => number) | null = null;

  constructor(
    kafka: Kafka,
    topic: string,
    codec: StateCodec,
    log: Logger,
    groupPrefix: string,
    onFatal?: (e: Error) => void,
  ) {
    this.log = log;
    this.topic = topic;
    this.tail = new TopicTail(kafka, {
      topic,
      groupPrefix,
      onFatal,
      onMessage: async (partition, m) => {
        if (!m.value) return; // tombstone: a deleted log's state, or a barrier
        const s = await codec.decode(m.value);
        if (!s) {
          stateDecodeFailures.inc();
          this.log.warn({ topic, partition, offset: m.offset }, "state record not decodable; skipped");
          return;
        }
        // One key lives in one partition, whose order is the commit order: the highest offset is the position.
        const offset = BigInt(m.offset);
        const known = this.states.get(s.log_id);
        if (!known || known.offset < offset) this.states.set(s.log_id, { state: s, offset });
      },
    });
  }

  async start(): Promise<void> {
    await this.tail.start();
    await this.tail.catchUp();
  }

  /** The partitions a barrier must cover (all of the topic's). */
  get partitions(): readonly number[] {
    return this.tail.partitions;
  }

  /** The partition of `logId`'s state (the default partitioner's, as readers of the topic expect). */
  partitionOf(logId: string): number {
    this.partitioner ??= keyPartitioner(this.topic, this.tail.partitions.length);
    return this.partitioner(stateKey(logId));
  }

  /** The committed position of `logId` once the view has read past `barrier` (null: never written). */
  async current(logId: string, barrier: Barrier, timeoutMs?: number): Promise<IngesterState | null> {
    await this.tail.reachedPast(barrier, timeoutMs);
    return this.states.get(logId)?.state ?? null;
  }

  /** Offset of the record `current` last answered for `logId` (null: none). */
  offsetOf(logId: string): bigint | null {
    return this.states.get(logId)?.offset ?? null;
  }

  /** Last known state without waiting (for /api/logs). */
  peek(logId: string): IngesterState | null {
    return this.states.get(logId)?.state ?? null;
  }

  all(): IngesterState[] {
    return [...this.states.values()].map((s) => s.state);
  }

  async stop(): Promise<void> {
    await this.tail.stop();
  }
}
