/**
 * The streamer's only contact with Kafka: the live reader of every partition of the certs topic, the
 * temporary resume readers, and offset look-ups (high watermarks for lag, offsets by timestamp for `since=`).
 *
 * Each reader is a consumer in a group of its own (unique id, offsets never committed): a shared group would
 * split the partitions between replicas, and KafkaJS has no manual assignment. Records are decoded once here
 * with the registry (Confluent wire format) and handed on as CertificateEntry objects.
 */
import { randomUUID } from "node:crypto";
import { CertificateEntryCodec, createKafka, SchemaRegistryError } from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import type { CertificateEntry } from "@certstream/schema";
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Position } from "./cursor.ts";
import { streamerMetrics } from "./metrics.ts";

/**
 * Fetch sizes of every reader. kafkajs asks for up to 10 MiB a fetch by default and gathers each response in one
 * buffer: a reader catching up (a resume reader, up to resume_max_concurrent of them, or the live reader after a
 * rejoin) then holds ~6 MiB at a time with 6 partitions. The live feed needs far less (a fetch every
 * maxWaitTimeInMs: 200 ms of ~6 kB records), and a resume reader goes at its client's pace. 2 MiB still moves
 * ~300 records a round trip; 1 MiB a partition is the broker's default largest batch, so no partition can stick.
 */
const FETCH_SIZES = { maxBytes: 2 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024 };

export interface CertsRecord {
  partition: number;
  offset: number;
  /** Kafka record timestamp, ms. */
  timestampMs: number;
  entry: CertificateEntry;
}

export interface CertsSourceOptions {
  brokers: string[];
  registryUrl: string;
  topic: string;
  clientId: string;
  logger: Logger;
  /** Called for a record that cannot be decoded (it is skipped; already logged and counted). */
  onDecodeError?: (partition: number, offset: number, err: unknown) => void;
}

export interface CertsReader {
  stop(): Promise<void>;
}

type RecordHandler = (r: CertsRecord) => void;
/**
 * The reader has gone past everything below `next` in `partition`, including offsets that carry no record
 * (transaction markers, aborted records): positions then reach the high watermark on a transactional topic.
 */
type AdvanceHandler = (partition: number, next: number) => void;

export class CertsSource {
  private readonly opts: CertsSourceOptions;
  private readonly kafka: Kafka;
  private readonly codec: CertificateEntryCodec;
  private admin: Admin | null = null;
  private live: Consumer | null = null;
  private assigned: number[] = [];
  private partitionCount = 0;
  private connected = false;
  private readonly stateListeners: (() => void)[] = [];
  readonly groupId: string;

  constructor(opts: CertsSourceOptions) {
    this.opts = opts;
    this.kafka = createKafka({ brokers: opts.brokers, clientId: opts.clientId, logger: opts.logger });
    this.codec = new CertificateEntryCodec({ registryUrl: opts.registryUrl, clientId: opts.clientId });
    this.groupId = `certstream-streamer-${opts.clientId}-${randomUUID()}`;
  }

  /** Ready = connected, joined, and every partition of the topic assigned to the live reader. */
  ready(): boolean {
    return this.connected && this.partitionCount > 0 && this.assigned.length === this.partitionCount;
  }

  state(): { connected: boolean; assigned: number; partitions: number } {
    return { connected: this.connected, assigned: this.assigned.length, partitions: this.partitionCount };
  }

  /** The partitions the live reader holds now (sorted): the per-partition state logged with readiness. */
  assignedPartitions(): number[] {
    return [...this.assigned];
  }

  /** Called after the connection or the assignment changed, so readiness follows at once (not at the next poll). */
  onStateChange(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  private changed(): void {
    for (const l of this.stateListeners) l();
  }

  /**
   * Start the live reader at the latest offsets of every partition. `delivered()` is the position already
   * delivered to clients: after a rejoin (broker restart, crash-restart of the consumer, new partitions) the
   * reader seeks back there, since it commits no offsets and would otherwise jump to the latest and leave a gap.
   * `onFloor` gets the high watermarks read just before joining (never later than where the reader starts).
   * While `hasRoom()` is false (the fan-out has a backlog) the reader waits: the backlog stays in Kafka.
   */
  async start(
    onRecord: RecordHandler,
    delivered: () => Position = () => new Map(),
    onFloor: (floor: Position) => void = () => {},
    onAdvance: AdvanceHandler = () => {},
    hasRoom: () => boolean = () => true,
  ): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.partitionCount = (await this.partitions()).length;
    // Read before joining: the live reader starts at these offsets or later.
    const floor = await this.highWatermarks();
    onFloor(floor);
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
      maxWaitTimeInMs: 200,
      ...FETCH_SIZES,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.live = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment[this.opts.topic] ?? [];
      this.assigned = [...assignment].sort((a, b) => a - b);
      this.connected = true;
      // A partition nothing was delivered from yet goes back to the floor: cursors handed out already name
      // it, and a consumer kafkajs restarted before its first record would otherwise jump to the latest offset.
      const position = delivered();
      for (const p of assignment) {
        const next = position.get(p) ?? floor.get(p);
        if (next !== undefined) consumer.seek({ topic: this.opts.topic, partition: p, offset: String(next) });
      }
      this.opts.logger.info(
        { groupId: this.groupId, assigned: this.assigned, partitions: this.partitionCount },
        "live reader joined; readiness follows partition assignment",
      );
      this.changed();
    });
    this.onEmptyBatches(consumer, onAdvance);
    consumer.on(consumer.events.CRASH, (e) => {
      this.connected = false;
      this.opts.logger.error({ err: e.payload.error, restart: e.payload.restart }, "live reader crashed");
      this.changed();
    });
    consumer.on(consumer.events.DISCONNECT, () => {
      this.connected = false;
      this.changed();
    });
    consumer.on(consumer.events.CONNECT, () => {
      this.connected = true;
      this.changed();
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.opts.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: (b) => this.handleBatch(b, onRecord, () => false, hasRoom, onAdvance),
    });
  }

  /**
   * A temporary reader from `start` (partitions missing from it start at the earliest offset). Records below
   * the requested offsets are never handed on; while `hasRoom()` is false the reader waits, so a slow client
   * catching up is paced rather than overflowing. Stop it once the client has caught up with the live feed.
   */
  async openReader(
    start: Position,
    onRecord: RecordHandler,
    hasRoom: () => boolean = () => true,
    onAdvance: AdvanceHandler = () => {},
  ): Promise<CertsReader> {
    const topic = this.opts.topic;
    const consumer = this.kafka.consumer({
      groupId: `certstream-streamer-resume-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      ...FETCH_SIZES,
      retry: { retries: 5 },
    });
    let stopped = false;
    // partition → next offset this reader has not handed on yet. It only grows. The group commits nothing, so
    // each join (the first, and each after kafkajs restarted the consumer: a coordinator still loading on a new
    // cluster, a broker loss) seeks back here; otherwise a restarted reader would start over from the beginning.
    const positions: Position = new Map();
    const reached = (p: number, next: number) => {
      if (next > (positions.get(p) ?? start.get(p) ?? 0)) positions.set(p, next);
    };
    const advanced: AdvanceHandler = (p, next) => {
      reached(p, next);
      if (!stopped) onAdvance(p, next);
    };
    this.onEmptyBatches(consumer, advanced);
    // The seek must wait for the join: before it (and again while kafkajs restarts the consumer) there is no
    // consumer group and seek throws "Consumer group was not initialized, consumer#run must be called first".
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      for (const p of e.payload.memberAssignment[topic] ?? []) {
        const at = positions.get(p) ?? start.get(p) ?? 0;
        consumer.seek({ topic, partition: p, offset: String(at) });
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (stopped) return;
      this.opts.logger.warn({ err: e.payload.error, restart: e.payload.restart }, "resume reader crashed");
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: (b) =>
        this.handleBatch(
          b,
          (r) => {
            // Below the request, or handed on already (a batch fetched again after a rejoin): not again.
            if (r.offset < (positions.get(r.partition) ?? start.get(r.partition) ?? 0)) return;
            reached(r.partition, r.offset + 1);
            onRecord(r);
          },
          () => stopped,
          hasRoom,
          advanced,
        ),
    });
    return {
      stop: async () => {
        stopped = true;
        await consumer.disconnect().catch(() => {});
      },
    };
  }

  async partitions(): Promise<number[]> {
    const admin = this.requireAdmin();
    const md = await admin.fetchTopicMetadata({ topics: [this.opts.topic] });
    return md.topics[0].partitions.map((p) => p.partitionId).sort((a, b) => a - b);
  }

  async highWatermarks(): Promise<Position> {
    const offsets = await this.requireAdmin().fetchTopicOffsets(this.opts.topic);
    const out: Position = new Map();
    for (const o of offsets) out.set(o.partition, Number(o.high));
    const before = this.partitionCount;
    this.partitionCount = Math.max(this.partitionCount, offsets.length);
    if (this.partitionCount !== before) this.changed();
    return out;
  }

  /** Per partition, the first offset whose record timestamp is >= `ms` (the high watermark when none is). */
  async offsetsForTimestamp(ms: number): Promise<Position> {
    const admin = this.requireAdmin();
    const [byTime, high] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(this.opts.topic, ms),
      this.highWatermarks(),
    ]);
    const out: Position = new Map();
    for (const o of byTime) {
      const n = Number(o.offset);
      out.set(o.partition, n < 0 ? (high.get(o.partition) ?? 0) : n);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.connected = false;
    this.changed();
    await this.live?.disconnect().catch(() => {});
    await this.admin?.disconnect().catch(() => {});
  }

  /** Batches of transaction markers only never reach eachBatch; kafkajs reports them as empty batch events. */
  private onEmptyBatches(consumer: Consumer, onAdvance: AdvanceHandler): void {
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, batchSize, lastOffset } = e.payload;
      if (topic === this.opts.topic && batchSize === 0) onAdvance(partition, Number(lastOffset) + 1);
    });
  }

  private decodeError(partition: number, offset: number, err: unknown): void {
    streamerMetrics.errors.inc({ kind: "decode" });
    this.opts.logger.warn(
      { err, topic: this.opts.topic, partition, offset },
      "record does not decode as CertificateEntry; skipped",
    );
    this.opts.onDecodeError?.(partition, offset, err);
  }

  private requireAdmin(): Admin {
    if (!this.admin) throw new Error("CertsSource not started");
    return this.admin;
  }

  private async handleBatch(
    b: EachBatchPayload,
    onRecord: RecordHandler,
    stopped: () => boolean,
    hasRoom: () => boolean = () => true,
    onAdvance: AdvanceHandler = () => {},
  ): Promise<void> {
    const partition = b.batch.partition;
    for (const m of b.batch.messages) {
      if (stopped() || !b.isRunning() || b.isStale()) return;
      // A resume reader goes at its client's pace: wait (heartbeating) while the client's buffer is half full.
      while (!hasRoom()) {
        await new Promise((r) => setTimeout(r, 20));
        await b.heartbeat();
        if (stopped() || !b.isRunning()) return;
      }
      const offset = Number(m.offset);
      let entry: CertificateEntry | null = null;
      for (let attempt = 1; ; attempt++) {
        try {
          if (m.value === null) throw new Error("record without a value");
          entry = await this.codec.decode(m.value);
          break;
        } catch (err) {
          if (!registryUnavailable(err)) {
            // bad record (not registry-framed, unknown schema id, Avro that does not decode): counted, skipped
            this.decodeError(partition, offset, err);
            break;
          }
          // The registry is down or failing: wait for it (the stream stalls, lag shows it) rather than skip.
          if (attempt === 1 || attempt % 10 === 0)
            this.opts.logger.warn(
              { err, partition, offset, attempt },
              "schema registry unavailable while decoding; retrying the record",
            );
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
          await b.heartbeat();
          if (stopped() || !b.isRunning()) return;
        }
      }
      if (entry !== null && !stopped())
        onRecord({ partition, offset, timestampMs: Number(m.timestamp), entry });
      b.resolveOffset(m.offset);
    }
    // Every record of the batch is handled: the position may move past trailing markers too.
    if (!stopped()) onAdvance(partition, Number(b.batch.lastOffset()) + 1);
    await b.heartbeat();
  }
}

/** A registry failure that may pass (unreachable, 5xx), as opposed to a record that will never decode (404). */
function registryUnavailable(err: unknown): boolean {
  return err instanceof SchemaRegistryError && err.unavailable;
}
