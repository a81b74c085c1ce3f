import {
  checkedSend,
  HEADER_ENTRIES_OFFSET,
  HEADER_LEAF_PARSED,
  headerString,
  transactionalProducer,
} from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import { clearConsumerLag, setConsumerLag } from "@certstream/metrics";
import type { Consumer, IHeaders, Kafka, KafkaMessage, Message, Producer } from "kafkajs";
import { errorMessage, isFenced, kafkaFailureKind } from "./kafka-errors.ts";
import { chunksByBytes } from "./log-watcher.ts";
import * as m from "./metrics.ts";
import { SeenSet } from "./seen-set.ts";
import { readRanges, TopicTail } from "./topic-tail.ts";

export interface DedupOptions {
  kafka: Kafka;
  logger: Logger;
  groupId: string;
  entriesTopic: string;
  certsTopic: string;
  ttlSecs: number;
  /** Total seen-set capacity; each partition gets capacity / partition count. */
  capacity: number;
  transactionalIdPrefix: string;
  transactionTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  partitionsConsumedConcurrently: number;
  /** Called when the consumer stopped for good (kafkajs will not restart it): the process should exit. */
  onFatal?: (e: Error) => void;
  /** For entries without the leaf-parsed header (not written by this ingester): decides from the value. */
  isParsed?: (value: Buffer) => Promise<boolean>;
  /** Wraps each partition's transactional producer (tests inject Kafka's failures there). */
  wrapProducer?: (producer: Producer, partition: number) => Producer;
}

interface PartitionState {
  partition: number;
  producer: Producer;
  seen: SeenSet;
  /** Resolves when the producer is initialized (zombies fenced) and the seen-set rebuilt. */
  ready: Promise<void>;
  failed: Error | null;
}

/**
 * The cross-log dedup stage: a consumer group over `entries` (read_committed) that forwards the first sighting of
 * each leaf SHA-256 within the TTL window to `certs`, into the same partition number (keys are the same, so
 * a certificate always meets the same member's seen-set).
 *
 * Consume-transform-produce is one transaction per batch of one partition: the forwarded records plus the
 * group's offset (sendOffsets), with a transactional.id per input partition so the member that takes a
 * partition over fences the previous one. The seen-set is only updated after a commit, and is rebuilt from
 * `certs` (the last TTL window of the partition, read after the fencing init) on every assignment: so after a
 * crash or a rebalance it contains exactly what was committed, whatever offsets the group resumes from.
 */
export class DedupStage {
  private readonly o: DedupOptions;
  private readonly log: Logger;
  private consumer: Consumer | null = null;
  private readonly parts = new Map<number, PartitionState>();
  private partitionCount = 0;
  private forwarded = 0;
  private duplicates = 0;
  private unparsed = 0;
  private rebalancing = true;
  private generation = 0;
  private assignChain: Promise<void> = Promise.resolve();
  /** Assigned partitions whose preparation failed (not fenced): prepared again on their next batch. */
  private readonly retryable = new Set<number>();
  /** Partitions whose producer was fenced: paused until the next assignment, or until it is clear none came. */
  private readonly fenced = new Set<number>();
  /** Per partition, the preparation started last, settled or not. */
  private readonly preparations = new Map<number, Promise<unknown>>();
  /** Partitions with a consumer-lag series: dropped when no longer assigned, so a stale lag does not alert. */
  private readonly lagged = new Set<number>();
  constructor(opts: DedupOptions) {
    this.o = opts;
    this.log = opts.logger;
  }

  stats(): {
    forwarded: number;
    duplicates: number;
    unparsed: number;
    cacheSize: number;
    partitions: number[];
  } {
    let cacheSize = 0;
    for (const p of this.parts.values()) cacheSize += p.seen.size;
    return {
      forwarded: this.forwarded,
      duplicates: this.duplicates,
      unparsed: this.unparsed,
      cacheSize,
      partitions: [...this.parts.keys()].sort((a, b) => a - b),
    };
  }

  isReady(): boolean {
    return this.consumer !== null && !this.rebalancing && this.generation > 0;
  }

  async start(): Promise<void> {
    const { kafka, entriesTopic, groupId } = this.o;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [entriesTopic] });
      this.partitionCount = meta.topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
    if (this.partitionCount === 0) throw new Error(`topic ${entriesTopic} has no partitions`);
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      sessionTimeout: this.o.sessionTimeoutMs,
      rebalanceTimeout: this.o.sessionTimeoutMs * 2,
      heartbeatInterval: this.o.heartbeatIntervalMs,
      maxWaitTimeInMs: 250,
      // Bigger fetches mean fewer transactions (5 round trips each) when catching up.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.rebalancing = false;
      this.generation++;
      const assigned = payload.memberAssignment[entriesTopic] ?? [];
      this.log.info({ memberId: payload.memberId, partitions: assigned }, "dedup group assignment");
      this.assignChain = this.assignChain.then(() => this.onAssignment(assigned));
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error(
        { err: errorMessage(payload.error), restart: payload.restart },
        "dedup consumer crashed",
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topic: entriesTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      // A batch counts as consumed only once its transaction committed (resolveOffset below). kafkajs fetches
      // from the last resolved offset, so a batch returned from without resolving (failed, fenced, partition
      // not ready) is fetched again; auto-resolve would skip it, and the next committed batch would move the
      // group's offset past it for good.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently,
      // Never throws: a thrown error can stop a kafkajs consumer for good. Failures are handled per partition.
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) => {
        const p = batch.partition;
        let st = this.parts.get(p);
        if (!st && this.retryable.has(p)) {
          // Its preparation or a transaction failed earlier (not fenced): prepare it again now.
          this.retryable.delete(p);
          st = this.createStates([p])[0];
        }
        if (!st) {
          // Fenced: another member owns it now; wait for the next assignment without spinning.
          if (this.fenced.has(p)) pause();
          else await sleep(100);
          return;
        }
        try {
          await waitReady(st, heartbeat);
          if (!isRunning() || isStale() || this.parts.get(p) !== st || batch.messages.length === 0) return;
          await this.processBatch(st, batch.messages, batch.topic);
          resolveOffset(batch.messages[batch.messages.length - 1].offset);
          // lastOffset() counts the control records (transaction markers) too: caught up means 0.
          this.setLag(batch.topic, p, BigInt(batch.highWatermark) - (BigInt(batch.lastOffset()) + 1n));
          await heartbeat();
        } catch (e) {
          // The transaction was aborted (or never began, or its outcome is unknown): the batch is not
          // resolved, so it is fetched and processed again against a seen-set rebuilt from what committed.
          if (this.parts.get(p) === st) this.parts.delete(p);
          m.dedupCacheSize.remove({ partition: String(p) });
          await st.producer.disconnect().catch(() => undefined);
          if (isFenced(e)) {
            this.fenced.add(p);
            this.log.warn(
              { partition: p },
              "dedup producer fenced: partition taken over; pausing it until reassigned",
            );
            pause();
            this.unfenceIfStillOurs(p, this.generation);
          } else {
            this.retryable.add(p);
            this.log.warn(
              { partition: p, err: errorMessage(e), kind: kafkaFailureKind(e) },
              "dedup batch failed; the partition is prepared again and the batch retried",
            );
            await sleep(1000);
          }
        }
      },
    });
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    // consumer.disconnect waits for the batch in flight (and its transaction) to finish.
    await c?.disconnect().catch(() => undefined);
    await this.assignChain;
    await Promise.allSettled([...this.parts.values()].map((p) => p.producer.disconnect()));
    this.parts.clear();
    for (const p of this.lagged) clearConsumerLag(this.o.groupId, this.o.entriesTopic, p);
    this.lagged.clear();
  }

  private setLag(topic: string, partition: number, lag: bigint): void {
    setConsumerLag(this.o.groupId, topic, partition, Number(lag));
    this.lagged.add(partition);
  }

  private async processBatch(
    st: PartitionState,
    messages: readonly EntryRecord[],
    topic: string,
  ): Promise<void> {
    const fetchedAt = Date.now();
    for (const msg of messages)
      m.recordAge.observe({ stage: "dedup_fetched" }, Math.max(0, fetchedAt - Number(msg.timestamp)) / 1000);
    const { out, staged, dup, unparsed } = await this.firstSightings(st, messages);
    const last = messages[messages.length - 1].offset;
    const t0 = performance.now();
    for (let attempt = 1; ; attempt++) {
      const tx = await st.producer.transaction();
      let committing = false;
      try {
        for (const chunk of chunksByBytes(out, 512 * 1024)) await checkedSend(tx, this.o.certsTopic, chunk);
        await tx.sendOffsets({
          consumerGroupId: this.o.groupId,
          topics: [
            { topic, partitions: [{ partition: st.partition, offset: (BigInt(last) + 1n).toString() }] },
          ],
        });
        committing = true;
        await tx.commit();
        break;
      } catch (e) {
        // No answer to the commit: Kafka may have committed it, aborted it, or torn it (docs/ingester.md,
        // "Kafka's part"); preparing the partition again finds out (completeTorn).
        m.produceErrors.inc({ stage: "dedup", kind: kafkaFailureKind(e) });
        await tx.abort().catch(() => undefined);
        // The coordinator is still finishing the previous owner's transaction (right after a takeover):
        // nothing of ours was committed, so the same batch is simply tried again. Any other failure, or one
        // during commit (outcome unknown), goes the safe way: the caller re-prepares the partition.
        if (!committing && isConcurrentTransactions(e) && attempt < 10) {
          await sleep(100 * attempt);
          continue;
        }
        throw e;
      }
    }
    // Only now does the seen-set learn the batch: an aborted batch leaves it untouched.
    const evictedBefore = st.seen.evicted;
    for (const [key, at] of staged) st.seen.add(key, at);
    if (st.seen.evicted > evictedBefore) m.dedupCacheEvictions.inc(st.seen.evicted - evictedBefore);
    m.produceLatency.observe({ stage: "dedup" }, (performance.now() - t0) / 1000);
    const committedAt = Date.now();
    for (const [, at] of staged)
      m.recordAge.observe({ stage: "dedup_committed" }, Math.max(0, committedAt - at) / 1000);
    m.batchSize.observe({ stage: "dedup" }, messages.length);
    this.forwarded += out.length;
    this.duplicates += dup;
    this.unparsed += unparsed;
    m.dedupEntries.inc({ outcome: "forwarded" }, out.length);
    m.dedupEntries.inc({ outcome: "duplicate" }, dup);
    m.dedupEntries.inc({ outcome: "unparsed" }, unparsed);
    const seenTotal = this.forwarded + this.duplicates;
    m.dedupRatio.set(seenTotal === 0 ? 0 : this.duplicates / seenTotal);
    m.dedupCacheSize.set({ partition: String(st.partition) }, st.seen.size);
  }

  /**
   * The records of `messages` to forward: parsed entries whose certificate the seen-set does not hold (nor an
   * earlier record of the same messages), each with the offset it came from (HEADER_ENTRIES_OFFSET).
   */
  private async firstSightings(
    st: PartitionState,
    messages: readonly EntryRecord[],
  ): Promise<{ out: Message[]; staged: Map<string, number>; dup: number; unparsed: number }> {
    const out: Message[] = [];
    const staged = new Map<string, number>();
    let dup = 0;
    let unparsed = 0;
    for (const msg of messages) {
      if (!msg.key || !msg.value) {
        unparsed++;
        continue;
      }
      const flag = headerString(msg.headers, HEADER_LEAF_PARSED);
      const parsed =
        flag !== undefined ? flag === "1" : this.o.isParsed ? await this.o.isParsed(msg.value) : true;
      if (!parsed) {
        unparsed++;
        continue;
      }
      const key = msg.key.toString("latin1");
      const at = Number(msg.timestamp);
      if (staged.has(key) || st.seen.has(key, at)) {
        dup++;
        continue;
      }
      staged.set(key, at);
      const headers: IHeaders = { ...msg.headers, [HEADER_ENTRIES_OFFSET]: msg.offset };
      out.push({
        key: msg.key,
        value: msg.value,
        headers,
        timestamp: msg.timestamp,
        partition: st.partition,
      });
    }
    return { out, staged, dup, unparsed };
  }

  private async onAssignment(assigned: number[]): Promise<void> {
    const want = new Set(assigned);
    // A new generation: fenced partitions get a fresh start if they are ours again.
    const resumed = [...this.fenced];
    this.fenced.clear();
    if (resumed.length > 0) this.consumer?.resume([{ topic: this.o.entriesTopic, partitions: resumed }]);
    for (const [p, st] of this.parts) {
      if (want.has(p)) continue;
      this.parts.delete(p);
      m.dedupCacheSize.remove({ partition: String(p) });
      await st.producer.disconnect().catch(() => undefined);
    }
    for (const p of [...this.retryable]) if (!want.has(p)) this.retryable.delete(p);
    for (const p of [...this.lagged]) {
      if (want.has(p)) continue;
      this.lagged.delete(p);
      clearConsumerLag(this.o.groupId, this.o.entriesTopic, p);
    }
    const fresh = assigned.filter((p) => !this.parts.has(p));
    if (fresh.length > 0) this.createStates(fresh);
  }

  /**
   * A fence that no rebalance follows came from a producer of ours (a preparation that outlived its state), not
   * from a new owner: a new owner means a new generation, which this member joins within its session timeout.
   * Left paused, the partition would stop for good; it is prepared again instead.
   */
  private unfenceIfStillOurs(p: number, generation: number): void {
    setTimeout(() => {
      const consumer = this.consumer;
      if (!consumer || this.generation !== generation || !this.fenced.delete(p)) return;
      this.log.warn({ partition: p }, "dedup: no other member took the fenced partition; preparing it again");
      this.retryable.add(p);
      consumer.resume([{ topic: this.o.entriesTopic, partitions: [p] }]);
    }, this.o.sessionTimeoutMs * 2).unref();
  }

  private createStates(fresh: number[]): PartitionState[] {
    const perPartition = Math.max(1, Math.ceil(this.o.capacity / this.partitionCount));
    const ttlMs = this.o.ttlSecs * 1000;
    const states: PartitionState[] = fresh.map((partition) => {
      const real = transactionalProducer(this.o.kafka, {
        transactionalId: `${this.o.transactionalIdPrefix}-${this.o.entriesTopic}-${partition}`,
        transactionTimeoutMs: this.o.transactionTimeoutMs,
      });
      const producer = this.o.wrapProducer?.(real, partition) ?? real;
      return {
        partition,
        producer,
        seen: new SeenSet(ttlMs, perPartition),
        ready: Promise.resolve(),
        failed: null,
      };
    });
    for (const p of fresh) this.retryable.delete(p);
    // A preparation outlives its state when a batch stops waiting for it (a heartbeat failed). The next one of
    // the partition starts once it has settled: its InitProducerId, retried while a coordinator loads, could
    // otherwise land after the new producer's and fence it (CI saw a broker kill leave a partition paused so).
    const earlier = Promise.allSettled(fresh.map((p) => this.preparations.get(p)));
    const ready = earlier.then(() => this.prepare(states));
    const settled = ready.catch(() => undefined);
    for (const p of fresh) this.preparations.set(p, settled);
    for (const st of states) {
      st.ready = ready;
      this.parts.set(st.partition, st);
    }
    ready.catch((e) => {
      this.log.error(
        { partitions: fresh, err: errorMessage(e) },
        "dedup partition preparation failed; retried on next batch",
      );
      for (const st of states) st.failed = e instanceof Error ? e : new Error(String(e));
    });
    return states;
  }

  /**
   * Fences the previous owners, rebuilds the seen-sets from what they committed to `certs`, then completes a
   * transaction Kafka may have torn (completeTorn).
   */
  private async prepare(states: PartitionState[]): Promise<void> {
    const t0 = performance.now();
    await Promise.all(
      states.map(async (st) => {
        await st.producer.connect();
        const tx = await st.producer.transaction();
        await tx.abort();
      }),
    );
    const rebuiltFrom = Date.now() - this.o.ttlSecs * 1000;
    const { keys, lastForwarded } = await this.rebuild(states, rebuiltFrom);
    for (const st of states) {
      st.seen.evicted = 0;
      m.dedupCacheSize.set({ partition: String(st.partition) }, st.seen.size);
    }
    m.dedupRebuildSeconds.observe((performance.now() - t0) / 1000);
    this.log.info(
      { partitions: states.map((s) => s.partition), keys, ms: Math.round(performance.now() - t0) },
      "dedup seen-set rebuilt from certs",
    );
    await this.completeTorn(states, lastForwarded, rebuiltFrom);
  }

  /**
   * Adds to the seen-sets what `certs` holds of their partitions from `fromTimestamp` on (read_committed, to the
   * end), and returns, per partition, the entries offset of the last certificate forwarded there.
   */
  private async rebuild(
    states: PartitionState[],
    fromTimestamp: number,
  ): Promise<{ keys: number; lastForwarded: Map<number, bigint> }> {
    const byPartition = new Map(states.map((s) => [s.partition, s]));
    const lastForwarded = new Map<number, bigint>();
    let keys = 0;
    const tail = new TopicTail(this.o.kafka, {
      topic: this.o.certsTopic,
      partitions: states.map((s) => s.partition),
      fromTimestamp,
      groupPrefix: `${this.o.groupId}-rebuild`,
      onMessage: (partition, msg) => {
        const st = byPartition.get(partition);
        if (!st || !msg.key) return;
        st.seen.add(msg.key.toString("latin1"), Number(msg.timestamp));
        keys++;
        const from = headerString(msg.headers, HEADER_ENTRIES_OFFSET);
        if (from !== undefined && /^\d+$/.test(from)) {
          const o = BigInt(from);
          if (o > (lastForwarded.get(partition) ?? -1n)) lastForwarded.set(partition, o);
        }
      },
    });
    try {
      await tail.start();
      await tail.catchUp(120_000);
    } finally {
      await tail.stop();
    }
    return { keys, lastForwarded };
  }

  /**
   * Kafka can tear a dedup transaction: commit the group's offset past a batch and abort its certificates
   * (docs/ingester.md, "Kafka's part"); the group then resumes past them. So a partition being prepared reads
   * again the entries between the last certificate forwarded from it (HEADER_ENTRIES_OFFSET, seen while
   * rebuilding) and the group's committed offset, and compares them with the rebuilt seen-set: a first sighting
   * there that `certs` lacks was torn away, and is forwarded now. Whoever prepares the partition next does it,
   * so it holds when the process that wrote the batch died or the partition moved to another member.
   */
  private async completeTorn(
    states: PartitionState[],
    lastForwarded: ReadonlyMap<number, bigint>,
    rebuiltFrom: number,
  ): Promise<void> {
    const { committed, low } = await this.committedOffsets();
    const ranges = new Map<number, { from: bigint; to: bigint }>();
    for (const st of states) {
      const to = committed.get(st.partition) ?? -1n;
      const last = lastForwarded.get(st.partition);
      // Without a mark (nothing forwarded within the TTL, or certificates written before the header existed):
      // the last REPLAY_WITHOUT_MARK entries, more than a batch. Never below what retention left: a range of
      // deleted records would be waited for in vain.
      let from = last !== undefined ? last + 1n : to - REPLAY_WITHOUT_MARK;
      const first = low.get(st.partition) ?? 0n;
      if (from < first) from = first;
      if (from < to) ranges.set(st.partition, { from, to });
    }
    if (ranges.size === 0) return;
    const t0 = performance.now();
    const replay = await this.readEntries(ranges);
    const ttlMs = this.o.ttlSecs * 1000;
    this.log.info(
      {
        partitions: [...ranges.keys()],
        entries: [...replay.values()].reduce((n, r) => n + r.length, 0),
        ms: Math.round(performance.now() - t0),
      },
      "dedup: entries after the last certificate forwarded read again to compare with certs",
    );
    for (const st of states) {
      const records = replay.get(st.partition) ?? [];
      let { out } = await this.firstSightings(st, records);
      if (out.length === 0) continue;
      // A record's window (the TTL before it) may begin before the rebuilt one: read `certs` further back before
      // calling it lost.
      const oldest = Math.min(...out.map((msg) => Number(msg.timestamp)));
      if (oldest - ttlMs < rebuiltFrom) {
        await this.rebuild([st], oldest - ttlMs);
        ({ out } = await this.firstSightings(st, records));
        if (out.length === 0) continue;
      }
      const tx = await st.producer.transaction();
      try {
        for (const chunk of chunksByBytes(out, 512 * 1024)) await checkedSend(tx, this.o.certsTopic, chunk);
        await tx.commit();
      } catch (e) {
        await tx.abort().catch(() => undefined);
        throw e; // the partition is prepared again, and this comparison made again
      }
      for (const msg of out) st.seen.add((msg.key as Buffer).toString("latin1"), Number(msg.timestamp));
      m.dedupTornBatches.inc();
      const range = ranges.get(st.partition);
      this.log.error(
        {
          partition: st.partition,
          from: range?.from.toString(),
          to: range?.to.toString(),
          forwarded: out.length,
        },
        "Kafka tore a dedup transaction (group offset committed, certificates aborted); they were forwarded again",
      );
    }
  }

  /** Entries [from, to) of each partition, in offset order (read_committed). */
  private async readEntries(
    ranges: ReadonlyMap<number, { from: bigint; to: bigint }>,
  ): Promise<Map<number, KafkaMessage[]>> {
    const { records } = await readRanges(this.o.kafka, this.o.entriesTopic, ranges, {
      groupPrefix: `${this.o.groupId}-replay`,
      timeoutMs: 120_000,
    });
    return records;
  }

  /** The group's committed offsets of the entries partitions (absent: none), and each partition's first offset. */
  private async committedOffsets(): Promise<{ committed: Map<number, bigint>; low: Map<number, bigint> }> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.entriesTopic] });
      const committed = new Map<number, bigint>();
      for (const x of t?.partitions ?? [])
        if (BigInt(x.offset) >= 0n) committed.set(x.partition, BigInt(x.offset));
      const low = new Map<number, bigint>();
      for (const x of await admin.fetchTopicOffsets(this.o.entriesTopic)) low.set(x.partition, BigInt(x.low));
      return { committed, low };
    } finally {
      await admin.disconnect();
    }
  }
}

/** An entries record as the stage reads it. */
type EntryRecord = Pick<KafkaMessage, "key" | "value" | "headers" | "timestamp" | "offset">;

/** Entries read again when a partition's last forwarded offset is unknown (more than one batch holds). */
const REPLAY_WITHOUT_MARK = 5_000n;

async function waitReady(st: PartitionState, heartbeat: () => Promise<void>): Promise<void> {
  let settled = false;
  const done = st.ready.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await Promise.race([done, new Promise((r) => setTimeout(r, 1000))]);
    if (!settled) await heartbeat();
  }
  if (st.failed) throw st.failed;
}

function isConcurrentTransactions(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && typeof x === "object" && depth < 5; depth++) {
    if ((x as { type?: unknown }).type === "CONCURRENT_TRANSACTIONS") return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
