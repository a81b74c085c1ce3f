import {
  CERTSTREAM_PARTITION_COLUMNS,
  CERTSTREAM_TABLE_SCHEMA,
  CERTSTREAM_WRITER_OPTIONS,
  type CertstreamRow,
  DeltaTable,
  type Storage,
  TxnConflictError,
  toRow,
} from "@certstream/delta";
import type { Logger } from "@certstream/log";
import { clearConsumerLag, failureKind, type HealthState, setConsumerLag } from "@certstream/metrics";
import type { CertificateEntry } from "@certstream/schema";
import type { Admin, Consumer, ConsumerConfig, EachBatchPayload, Kafka } from "kafkajs";
import * as m from "./metrics.ts";
import { ArchiveRowDecoder } from "./row-decoder.ts";

export interface EntryDecoder {
  decode(value: Uint8Array): Promise<CertificateEntry>;
  /**
   * Optional (CertificateEntryCodec has it): whether schema `id` is exactly the local schema. When present, rows
   * are read straight from the record bytes (ArchiveRowDecoder) and decode is used only for other records.
   */
  isLocalSchema?(id: number): Promise<boolean>;
}

export interface DeltaSinkOptions {
  kafka: Kafka;
  decoder: EntryDecoder;
  storage: Storage;
  topics: string[];
  groupId: string;
  /** txn appId prefix; the appId of a partition is `<appId>-<topic>-<partition>`. */
  appId: string;
  batchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  maxBufferedRecords: number;
  retryMaxBackoffMs: number;
  checkpointInterval: number;
  /**
   * How long the sink may go without progress (no record handled, no batch end, no flush) while a partition it is
   * assigned has lag before /health/ready turns false (default max(60 s, 5 flush intervals)).
   */
  stallTimeoutMs?: number;
  logger: Logger;
  health?: HealthState;
  consumerConfig?: Partial<ConsumerConfig>;
}

type TpKey = string;
const tpKey = (topic: string, partition: number): TpKey => `${topic}\u0000${partition}`;
const splitKey = (k: TpKey): { topic: string; partition: number } => {
  const i = k.indexOf("\u0000");
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) };
};

/** Kinds of decode failure that say "try again later" rather than "this record is bad". */
const TRANSIENT_KINDS = new Set(["network", "timeout", "rate_limit", "http"]);

const STORAGE_CODES = new Set([
  "EACCES",
  "EPERM",
  "ENOSPC",
  "EDQUOT",
  "EIO",
  "EROFS",
  "ENOTDIR",
  "EISDIR",
  "EEXIST",
  "ENOENT",
  "EMFILE",
  "ENFILE",
]);

/** failureKind, with file-system errno codes (what a local table path throws) counted as storage. */
function kindOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && STORAGE_CODES.has(code)) return "storage";
  return failureKind(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kafka → Delta with exactly-once results (kafka-delta-ingest's design): each flush is one Delta commit holding the
 * data files and a `txn` (appId per topic-partition, version = last offset) for every partition in it. On every
 * assignment the consumer is positioned from the table's txn versions, not Kafka's committed offsets, and records at
 * or below them are skipped. A commit is refused when a partition's txn moved since we positioned it (another
 * replica wrote those offsets): the buffer is dropped and the partitions re-sought. Kafka offsets are committed
 * after each flush only as a hint for lag tooling.
 *
 * Failures never drop data: a failed flush keeps the buffer and is retried with backoff; when the buffer is full,
 * consumption pauses (the backlog stays in Kafka and shows as consumer lag).
 */
export class DeltaSink {
  private readonly o: DeltaSinkOptions;
  private readonly log: Logger;
  private readonly rows: ArchiveRowDecoder | null;
  private table: DeltaTable | null = null;
  private consumer: Consumer | null = null;

  private buffer: CertstreamRow[] = [];
  private bufferBytes = 0;
  private bufferSince = 0;
  /** Last offset in the buffer per partition (the txn version of the next flush). */
  private bufferLast = new Map<TpKey, number>();
  /** The table's txn version per partition as of positioning or our last commit (undefined: none). */
  private tableTxn = new Map<TpKey, number | undefined>();
  /** Highest offset handled per partition (committed or buffered); records at or below are skipped. */
  private lastSeen = new Map<TpKey, number>();
  private highWatermarks = new Map<TpKey, number>();
  /**
   * Last offset of the latest batch handled to its end, per partition, counting what kafkajs filters out
   * (transaction markers, aborted records): the lag of a drained transactional partition is 0, not 1.
   */
  private batchEnd = new Map<TpKey, number>();
  private assigned = new Set<TpKey>();
  /** Partitions positioned from the table since the last assignment; batches of others are ignored. */
  private positioned = new Set<TpKey>();

  private lock: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private nextRetryAt = 0;
  private isPaused = false;
  private stopping = false;
  private groupJoined = false;
  private started: Promise<void> | null = null;

  /** Last time the sink moved: a record handled, a batch end seen, a flush committed, an assignment positioned. */
  private lastProgressAt = Date.now();
  /** Set by the watchdog: no progress for stallTimeoutMs while an assigned partition has lag. Readiness is false. */
  private stalled = false;
  private watchdog: NodeJS.Timeout | null = null;
  private watchdogBusy = false;
  private admin: Admin | null = null;
  /** Offset hints waiting to be committed (latest per partition) and whether a commit is in flight. */
  private hintPending = new Map<TpKey, number>();
  private hintInFlight = false;
  private hintSince = 0;

  constructor(options: DeltaSinkOptions) {
    this.o = options;
    this.log = options.logger;
    const isLocalSchema = options.decoder.isLocalSchema?.bind(options.decoder);
    this.rows = isLocalSchema ? new ArchiveRowDecoder({ isLocalSchema }) : null;
  }

  /** Starts in the background: opens (or creates) the table, retrying until it can; then consumes. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  /** Rows waiting for a flush. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** The open table (null while it cannot be opened). */
  get deltaTable(): DeltaTable | null {
    return this.table;
  }

  private appId(k: TpKey): string {
    const { topic, partition } = splitKey(k);
    return `${this.o.appId}-${topic}-${partition}`;
  }

  private backoff(attempt: number): number {
    return Math.min(this.o.retryMaxBackoffMs, 250 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => {});
    return next;
  }

  private updateReady(reason: string): void {
    const ready = this.table !== null && this.groupJoined && !this.stopping && !this.stalled;
    this.o.health?.setReady(
      ready,
      this.stalled && !this.stopping ? "stalled: no progress while lagging" : reason,
    );
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping && !this.table) {
      try {
        this.table = await DeltaTable.openOrCreate(
          this.o.storage,
          { schema: CERTSTREAM_TABLE_SCHEMA, partitionColumns: CERTSTREAM_PARTITION_COLUMNS },
          {
            checkpointInterval: this.o.checkpointInterval,
            writer: CERTSTREAM_WRITER_OPTIONS,
            onCommitConflict: () => m.commitConflicts.inc(),
            onCheckpoint: (r) => {
              m.checkpoints.inc({ result: r.ok ? "success" : "failure" });
              if (!r.ok)
                this.log.warn(
                  { version: r.version, err: String(r.error) },
                  "delta: checkpoint failed; readers replay the JSON commits instead, next checkpoint retries",
                );
            },
          },
        );
        m.tableReady.set(1);
        this.log.info({ table: this.o.storage.location, version: this.table.version }, "delta: table open");
      } catch (err) {
        const kind = kindOf(err);
        m.writeErrors.inc({ kind });
        m.tableReady.set(0);
        const wait = this.backoff(attempt++);
        this.o.health?.setReady(false, "delta table unavailable", {
          table: this.o.storage.location,
          err: String(err),
        });
        this.log.error(
          { table: this.o.storage.location, kind, err: String(err), retry_in_ms: Math.round(wait) },
          "delta: cannot open or create the table; not consuming, retrying",
        );
        await sleep(wait);
      }
    }
    if (this.stopping) return;
    this.timer = setInterval(() => void this.tick(), Math.min(1000, this.o.flushIntervalMs));
    // Not under the lock and not part of tick: it must see a sink whose lock or fetch loop is stuck.
    this.watchdog = setInterval(() => void this.checkStall(), 5000);
    attempt = 0;
    while (!this.stopping) {
      try {
        await this.startConsumer();
        return;
      } catch (err) {
        const wait = this.backoff(attempt++);
        this.log.error(
          { err: String(err), retry_in_ms: Math.round(wait) },
          "kafka: consumer failed to start; retrying",
        );
        await this.consumer?.disconnect().catch(() => {});
        this.consumer = null;
        await sleep(wait);
      }
    }
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      readUncommitted: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 },
      ...this.o.consumerConfig,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      this.groupJoined = false;
      this.updateReady("group rebalancing");
      void this.withLock(() => this.flush("rebalance"));
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      void this.withLock(() => this.onAssignment(assignment)).catch((err: unknown) => {
        this.log.error(
          { err: String(err) },
          "delta: positioning partitions from the table failed; will retry on the next batch",
        );
      });
    });
    // A batch of nothing but filtered records (an abort marker and the aborted records, or a commit marker
    // fetched apart from its records) never reaches eachBatch: its end moves the lag here.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, batchSize, lastOffset, highWatermark } = e.payload;
      const k = tpKey(topic, partition);
      this.progressed();
      if (batchSize !== 0 || !this.positioned.has(k)) return;
      this.highWatermarks.set(k, Number(highWatermark));
      this.batchEnd.set(k, Math.max(this.batchEnd.get(k) ?? -1, Number(lastOffset)));
      this.reportLag(k);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.groupJoined = false;
      this.updateReady("consumer crashed");
      this.log.error({ err: String(e.payload.error), restart: e.payload.restart }, "kafka: consumer crashed");
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.withLock(() => this.handleBatch(payload)),
    });
  }

  /** New assignment: flush what we can, forget the rest, position every assigned partition from the table. */
  private async onAssignment(assignment: Record<string, number[]>): Promise<void> {
    await this.flush("rebalance");
    this.dropBuffer();
    const next = new Set<TpKey>();
    for (const [topic, parts] of Object.entries(assignment)) for (const p of parts) next.add(tpKey(topic, p));
    for (const k of this.assigned) {
      if (!next.has(k)) {
        const { topic, partition } = splitKey(k);
        clearConsumerLag(this.o.groupId, topic, partition);
      }
    }
    this.assigned = next;
    this.positioned.clear();
    await this.position([...next]);
    this.groupJoined = true;
    this.progressed();
    this.updateReady("partitions assigned");
    this.log.info(
      { partitions: [...next].map((k) => splitKey(k)) },
      "delta: assignment positioned from the table's txn versions",
    );
  }

  /** Seeks each partition to its txn version in the table (KDI: the offset itself, not +1; it is then skipped). */
  private async position(keys: TpKey[]): Promise<void> {
    const table = this.table;
    const consumer = this.consumer;
    if (!table || !consumer) return;
    const snap = await table.refresh();
    for (const k of keys) {
      const v = snap.txnVersion(this.appId(k));
      const { topic, partition } = splitKey(k);
      this.tableTxn.set(k, v);
      this.lastSeen.set(k, v ?? -1);
      this.batchEnd.delete(k);
      // -2 = earliest: a partition never written to the table is archived from its first retained record.
      consumer.seek({ topic, partition, offset: v === undefined ? "-2" : String(v) });
      this.positioned.add(k);
      this.log.debug({ topic, partition, txn_version: v ?? null }, "delta: partition positioned");
    }
  }

  private dropBuffer(): void {
    this.buffer = [];
    this.bufferBytes = 0;
    this.bufferLast.clear();
    this.batchEnd.clear();
    m.bufferSize.set(0);
    // lastSeen must fall back to what the table holds so dropped records are read again.
    for (const [k, v] of this.tableTxn) this.lastSeen.set(k, v ?? -1);
    // Nothing is held any more: a pause for a full buffer no longer applies (it pauses again if writes still fail).
    this.failures = 0;
    this.nextRetryAt = 0;
    this.resumeConsumption();
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const k = tpKey(batch.topic, batch.partition);
    if (!this.positioned.has(k)) {
      // Assignment not positioned yet (GROUP_JOIN handler queued behind us) or lost: position now, then refetch.
      if (this.assigned.has(k) || this.assigned.size === 0) {
        this.assigned.add(k);
        await this.position([k]);
      }
      return;
    }
    this.highWatermarks.set(k, Number(batch.highWatermark));
    let last = this.lastSeen.get(k) ?? -1;
    // Handled offsets are resolved lazily: kafkajs parses the offset string on every resolveOffset (measurable per
    // record), and only the last one counts. Resolved before any await and at the end, so the effect is the same.
    let unresolved: string | null = null;
    // isRunning/isStale can only change while we await (a seek, a stop): checked first and after every await, not
    // per record (isStale builds a key string and looks it up: measurable per record).
    let recheck = true;
    // Left below the batch length by a break (stop, stale, buffer full, registry away): the batch is not done.
    let i = 0;
    for (; i < batch.messages.length; i++) {
      const msg = batch.messages[i];
      if (this.stopping) break;
      if (recheck) {
        if (!isRunning() || isStale()) break;
        recheck = false;
      }
      const off = Number(msg.offset);
      if (off <= last) {
        m.recordsSkipped.inc();
        unresolved = msg.offset;
        continue;
      }
      if (this.buffer.length >= this.o.maxBufferedRecords) {
        this.pauseConsumption();
        break;
      }
      let row: CertstreamRow | null = null;
      try {
        if (!msg.value) throw Object.assign(new Error("record has no value"), { kind: "parse" });
        // Fast path: the row straight from the bytes (synchronous once the schema id is known); else decode.
        let fast = this.rows?.decode(msg.value) ?? null;
        if (fast instanceof Promise) {
          if (unresolved !== null) resolveOffset(unresolved);
          unresolved = null;
          fast = await fast;
          recheck = true;
        }
        if (fast === null && unresolved !== null) {
          resolveOffset(unresolved);
          unresolved = null;
        }
        if (fast === null) recheck = true; // awaits decode below
        row = fast ?? toRow(await this.o.decoder.decode(msg.value));
      } catch (err) {
        const found = (err as { kind?: string }).kind ?? failureKind(err);
        // A decode failure that is not about reaching the registry is a bad record (framing, Avro body).
        const kind = found === "unknown" ? "schema" : found;
        if (TRANSIENT_KINDS.has(kind)) {
          this.log.warn(
            { topic: batch.topic, partition: batch.partition, offset: msg.offset, kind, err: String(err) },
            "delta: cannot decode now (registry unreachable?); will re-read this record",
          );
          await sleep(1000);
          break;
        }
        m.recordsRejected.inc({ kind });
        this.log.error(
          { topic: batch.topic, partition: batch.partition, offset: msg.offset, kind, err: String(err) },
          "delta: undecodable record skipped",
        );
      }
      if (row) {
        if (this.buffer.length === 0) this.bufferSince = Date.now();
        this.buffer.push(row);
        this.bufferBytes += msg.value?.length ?? 0;
      }
      last = off;
      this.lastSeen.set(k, off);
      this.bufferLast.set(k, off);
      unresolved = msg.offset;
      if (
        (this.buffer.length >= this.o.batchSize || this.bufferBytes >= this.o.maxBatchBytes) &&
        Date.now() >= this.nextRetryAt
      ) {
        resolveOffset(unresolved);
        unresolved = null;
        await this.flush("size");
        await heartbeat().catch(() => {});
        recheck = true;
      }
    }
    if (unresolved !== null) resolveOffset(unresolved);
    if (i > 0) this.progressed();
    if (i === batch.messages.length) this.batchEnd.set(k, Number(batch.lastOffset()));
    m.bufferSize.set(this.buffer.length);
    this.reportLag(k);
    await heartbeat().catch(() => {});
  }

  private pauseConsumption(): void {
    if (this.isPaused || !this.consumer) return;
    this.isPaused = true;
    m.paused.set(1);
    this.consumer.pause(this.o.topics.map((topic) => ({ topic })));
    this.log.warn(
      { buffered: this.buffer.length, limit: this.o.maxBufferedRecords },
      "delta: buffer full and flushes failing; consumption paused",
    );
  }

  private resumeConsumption(): void {
    if (!this.isPaused || !this.consumer) return;
    this.isPaused = false;
    m.paused.set(0);
    this.consumer.resume(this.o.topics.map((topic) => ({ topic })));
    this.log.info("delta: consumption resumed");
  }

  /**
   * Lag = high watermark minus the next offset the table needs. With nothing of the partition buffered, every
   * offset up to the end of the last batch handled is archived or holds no record (a transaction marker, an
   * aborted record): the table's txn version alone stops at the last record and reads 1 per marker.
   */
  private reportLag(k: TpKey): void {
    const hw = this.highWatermarks.get(k);
    if (hw === undefined) return;
    const { topic, partition } = splitKey(k);
    const committed = this.tableTxn.get(k);
    let next = committed === undefined ? 0 : committed + 1;
    const end = this.batchEnd.get(k);
    if (end !== undefined && end >= next && !this.bufferLast.has(k)) next = end + 1;
    setConsumerLag(this.o.groupId, topic, partition, Math.max(0, hw - next));
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    await this.withLock(async () => {
      if (this.buffer.length === 0 && this.bufferLast.size === 0) return;
      const due =
        Date.now() - this.bufferSince >= this.o.flushIntervalMs || this.failures > 0 || this.isPaused;
      if (due && Date.now() >= this.nextRetryAt) await this.flush(this.failures > 0 ? "retry" : "timer");
    }).catch((err: unknown) => this.log.error({ err: String(err) }, "delta: timer flush failed"));
  }

  /** One Delta commit for everything buffered. Returns true when the buffer is empty afterwards. Call under the lock. */
  private async flush(reason: string): Promise<boolean> {
    const table = this.table;
    if (!table || (this.buffer.length === 0 && this.bufferLast.size === 0)) return true;
    const rows = this.buffer;
    const txns = [...this.bufferLast].map(([k, version]) => ({ appId: this.appId(k), version, key: k }));
    const expected = new Map(txns.map((t) => [t.appId, this.tableTxn.get(t.key)]));
    const started = performance.now();
    try {
      const res = await table.append(rows, { txns, expectedTxns: expected, operation: "STREAMING UPDATE" });
      const secs = (performance.now() - started) / 1000;
      m.flushDuration.observe(secs);
      m.flushRows.observe(rows.length);
      m.flushes.inc();
      m.recordsWritten.inc(rows.length);
      m.bytesWritten.inc(res.bytes);
      m.filesWritten.inc(res.adds.length);
      for (const t of txns) this.tableTxn.set(t.key, t.version);
      this.buffer = [];
      this.bufferBytes = 0;
      this.bufferLast.clear();
      m.bufferSize.set(0);
      if (this.failures > 0) {
        this.log.info({ after_failures: this.failures }, "delta: flush succeeded again");
        this.o.health?.setDegraded(false, "flushes succeed");
      }
      this.failures = 0;
      this.nextRetryAt = 0;
      this.resumeConsumption();
      this.progressed();
      this.log.debug(
        { reason, rows: rows.length, version: res.version, files: res.adds.length, seconds: secs },
        "delta: flushed",
      );
      for (const t of txns) this.reportLag(t.key);
      // Not awaited: kafkajs retries a commit for as long as the consumer's retry allows (forever here) against the
      // coordinator it found at the last join, which answers NOT_COORDINATOR forever once the coordinator moved
      // (its OffsetManager only refreshes metadata). Awaited under the lock, that stopped every batch and so the
      // fetch loop and its heartbeats, which are what would have found the new coordinator and rejoined.
      this.commitHint(txns);
      return true;
    } catch (err) {
      if (err instanceof TxnConflictError) {
        m.txnConflicts.inc();
        m.writeErrors.inc({ kind: "conflict" });
        this.log.warn(
          { app_id: err.appId, rows: rows.length, err: err.message },
          "delta: another writer committed these offsets; dropping the buffer and re-positioning from the table",
        );
        this.dropBuffer();
        this.positioned.clear();
        await this.position([...this.assigned]).catch((e: unknown) =>
          this.log.error({ err: String(e) }, "delta: re-positioning failed"),
        );
        return true;
      }
      const kind = kindOf(err);
      m.writeErrors.inc({ kind });
      this.failures++;
      const wait = this.backoff(this.failures);
      this.nextRetryAt = Date.now() + wait;
      this.o.health?.setDegraded(true, "delta flushes failing", { kind });
      this.log.error(
        {
          reason,
          rows: rows.length,
          kind,
          err: String(err),
          retry_in_ms: Math.round(wait),
          failures: this.failures,
        },
        "delta: flush failed; keeping the batch and retrying",
      );
      return false;
    }
  }

  /**
   * Commits offset+1 to the group so lag tools see progress. Only a hint: positions always come from the table.
   * Runs in the background, one commit at a time: hints arriving meanwhile are merged (latest per partition) and
   * sent when the one in flight ends, so a commit kafkajs keeps retrying (a coordinator lost, the group re-forming)
   * never blocks archiving nor piles up.
   */
  private commitHint(txns: { key: TpKey; version: number }[]): void {
    for (const t of txns) this.hintPending.set(t.key, t.version);
    if (this.hintInFlight || !this.consumer || this.hintPending.size === 0) return;
    const consumer = this.consumer;
    const offsets = [...this.hintPending].map(([k, version]) => {
      const { topic, partition } = splitKey(k);
      return { topic, partition, offset: String(version + 1) };
    });
    this.hintPending.clear();
    this.hintInFlight = true;
    this.hintSince = Date.now();
    void consumer
      .commitOffsets(offsets)
      .catch((err: unknown) => {
        this.log.debug(
          { err: String(err) },
          "kafka: offset hint not committed (rebalance or broker unavailable); harmless",
        );
      })
      .finally(() => {
        this.hintInFlight = false;
        if (!this.stopping && consumer === this.consumer) this.commitHint([]);
      });
  }

  private progressed(): void {
    this.lastProgressAt = Date.now();
    if (this.stalled) {
      this.stalled = false;
      this.log.info("delta: progressing again");
      this.updateReady("progressing again");
    }
  }

  private get stallTimeoutMs(): number {
    return this.o.stallTimeoutMs ?? Math.max(60_000, 5 * this.o.flushIntervalMs);
  }

  /**
   * Readiness must not say ready while nothing moves: after stallTimeoutMs without progress, asks the partition
   * leaders (not the group coordinator, which may be what is lost) for the high watermarks of the assigned
   * partitions; any lag then means a stall. Our own lag figures cannot tell: they come from the batches that stopped.
   */
  private async checkStall(): Promise<void> {
    if (this.stopping || this.watchdogBusy || this.stalled || this.assigned.size === 0) return;
    const idleMs = Date.now() - this.lastProgressAt;
    if (idleMs < this.stallTimeoutMs) return;
    this.watchdogBusy = true;
    try {
      this.admin ??= this.o.kafka.admin({ retry: { retries: 2 } });
      await this.admin.connect();
      const lagging: { topic: string; partition: number; lag: number }[] = [];
      const topics = new Set([...this.assigned].map((k) => splitKey(k).topic));
      for (const topic of topics) {
        for (const p of await this.admin.fetchTopicOffsets(topic)) {
          const k = tpKey(topic, p.partition);
          if (!this.assigned.has(k)) continue;
          const txn = this.tableTxn.get(k);
          let next = txn === undefined ? 0 : txn + 1;
          const end = this.batchEnd.get(k);
          if (end !== undefined && end >= next && !this.bufferLast.has(k)) next = end + 1;
          const lag = Number(p.high) - next;
          if (lag > 0) lagging.push({ topic, partition: p.partition, lag });
        }
      }
      // Progress may have come while we asked.
      if (lagging.length === 0 || this.stopping || Date.now() - this.lastProgressAt < this.stallTimeoutMs)
        return;
      this.stalled = true;
      this.log.error(
        {
          idle_ms: idleMs,
          lagging,
          buffered: this.buffer.length,
          paused: this.isPaused,
          offset_hint_in_flight_ms: this.hintInFlight ? Date.now() - this.hintSince : null,
        },
        "delta: stalled: no progress while assigned partitions have lag; not ready",
      );
      this.updateReady("stalled");
    } catch (err) {
      this.log.warn({ err: String(err) }, "delta: stall check could not read the high watermarks");
    } finally {
      this.watchdogBusy = false;
    }
  }

  /** Stops intake, flushes what is buffered (a few attempts), commits the hints, leaves the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.updateReady("shutting down");
    if (this.timer) clearInterval(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    await this.admin?.disconnect().catch(() => {});
    const consumer = this.consumer;
    await consumer?.stop().catch(() => {});
    await this.withLock(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await this.flush("shutdown")) return;
        await sleep(500);
      }
      this.log.warn(
        { rows: this.buffer.length },
        "delta: could not flush on shutdown; those records stay in Kafka and are read again on restart",
      );
    });
    await consumer?.disconnect().catch(() => {});
  }
}
