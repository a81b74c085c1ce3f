import { createHash } from "node:crypto";
// Same key and headers as the live path (the ingester's own functions), so a backfilled record is routed and
// filtered exactly like a live one.
import {
  checkedSend,
  entryHeaders,
  entryKey,
  keyPartitioner,
  transactionalProducer,
} from "@certstream/kafka";
import type { CertificateEntry } from "@certstream/schema";
import type { Kafka, Message, Producer } from "kafkajs";
import {
  backfillEntriesProduced,
  backfillProduceErrors,
  backfillTransactionDuration,
  backfillTransactionRecords,
  backfillTransactions,
} from "./metrics.ts";

/** Encodes a CertificateEntry as a registry-framed Avro value (CertificateEntryCodec.encodeSync). */
export type EntryEncoder = (entry: CertificateEntry) => Buffer;

export interface BackfillProducerOptions {
  kafka: Kafka;
  topic: string;
  /** Partitions of `topic` (records are placed by key with Kafka's default partitioner, as the live path does). */
  partitions: number;
  transactionalId: string;
  encode: EntryEncoder;
  transactionTimeoutMs: number;
  /** Value bytes per produce request inside a transaction (keeps each partition's batch under message.max.bytes). */
  maxRequestBytes?: number;
}

/**
 * The transactional id of a log's backfill producer: fixed per (job prefix, log), so a re-run for the same log
 * fences the previous run's producer (its open transaction is aborted) before it looks at what was committed.
 */
export function backfillTransactionalId(prefix: string, logId: string): string {
  return `${prefix}-${createHash("sha256").update(logId).digest("hex").slice(0, 16)}`;
}

/** A commit whose outcome is unknown (the commit request failed): the log must stop; a re-run sorts it out. */
export class UncertainCommitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UncertainCommitError";
  }
}

/**
 * One log's writer to the backfill topic: each batch of entries is one Kafka transaction. Transactions are
 * serialized (one producer, one transaction at a time) while fetch windows complete concurrently.
 */
export class BackfillProducer {
  readonly transactionalId: string;
  private readonly o: BackfillProducerOptions;
  private readonly producer: Producer;
  private readonly partitionOf: (key: Buffer) => number;
  private queue: Promise<unknown> = Promise.resolve();
  private connected = false;
  /** Highest offset written per partition by this producer (what --wait waits for). */
  readonly lastOffsets = new Map<number, bigint>();

  constructor(o: BackfillProducerOptions) {
    this.o = o;
    this.transactionalId = o.transactionalId;
    this.producer = transactionalProducer(o.kafka, {
      transactionalId: o.transactionalId,
      transactionTimeoutMs: o.transactionTimeoutMs,
    });
    this.partitionOf = keyPartitioner(o.topic, o.partitions);
  }

  /** Connects; for a transactional producer that is InitProducerId, which fences older producers of this id. */
  async init(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  /** Commits `entries` in one transaction; resolves with the count once committed. Calls are serialized. */
  commit(logName: string, entries: readonly CertificateEntry[]): Promise<number> {
    const run = this.queue.then(() => this.commitNow(logName, entries));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(logName: string, entries: readonly CertificateEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const max = this.o.maxRequestBytes ?? 900_000;
    const chunks: { messages: Message[]; counts: Map<number, number> }[] = [];
    let cur: { messages: Message[]; counts: Map<number, number> } = { messages: [], counts: new Map() };
    let bytes = 0;
    for (const e of entries) {
      const key = entryKey(e);
      const value = this.o.encode(e);
      const partition = this.partitionOf(key);
      if (cur.messages.length > 0 && bytes + value.length > max) {
        chunks.push(cur);
        cur = { messages: [], counts: new Map() };
        bytes = 0;
      }
      cur.messages.push({ key, value, partition, headers: entryHeaders(e) });
      cur.counts.set(partition, (cur.counts.get(partition) ?? 0) + 1);
      bytes += value.length + key.length;
    }
    chunks.push(cur);

    const t0 = performance.now();
    const tx = await this.producer.transaction();
    const written = new Map<number, bigint>();
    try {
      for (const c of chunks) {
        const meta = await checkedSend(tx, this.o.topic, c.messages);
        for (const m of meta) {
          const n = c.counts.get(m.partition) ?? 0;
          if (n === 0 || m.baseOffset === undefined) continue;
          const last = BigInt(m.baseOffset) + BigInt(n - 1);
          const prev = written.get(m.partition);
          if (prev === undefined || last > prev) written.set(m.partition, last);
        }
      }
    } catch (err) {
      backfillProduceErrors.inc({ kind: "kafka" });
      await tx.abort().catch(() => undefined);
      backfillTransactions.inc({ outcome: "aborted" });
      throw err;
    }
    try {
      await tx.commit();
    } catch (err) {
      backfillProduceErrors.inc({ kind: "kafka" });
      backfillTransactions.inc({ outcome: "failed" });
      throw new UncertainCommitError(
        `committing ${entries.length} entries of ${logName} failed; whether they were committed is unknown ` +
          `(a re-run reads the topic and produces only what is missing): ${(err as Error).message}`,
        { cause: err },
      );
    }
    backfillTransactions.inc({ outcome: "committed" });
    backfillTransactionDuration.observe((performance.now() - t0) / 1000);
    backfillTransactionRecords.observe(entries.length);
    backfillEntriesProduced.inc({ log: logName }, entries.length);
    for (const [p, off] of written) {
      const prev = this.lastOffsets.get(p);
      if (prev === undefined || off > prev) this.lastOffsets.set(p, off);
    }
    return entries.length;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
  }
}
