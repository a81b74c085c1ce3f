import {
  barrierKey,
  checkedSend,
  entryHeaders,
  entryKey,
  HEADER_LOG_ID,
  HEADER_LOG_INDEX,
  headerString,
  keyPartitioner,
  type StateCodec,
  stateKey,
  transactionalProducer,
} from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import { failureKind } from "@certstream/metrics";
import type { CertificateEntry, IngesterState, LogSource, StoredVerification } from "@certstream/schema";
import type { Kafka, Message, Producer } from "kafkajs";
import { errorMessage, isFenced, kafkaFailureKind } from "./kafka-errors.ts";
import type { LogHead, LogReader } from "./log-reader.ts";
import { type LogStall, STALL_AFTER_MS, STALL_CHECK_MS, stallReason } from "./log-stall.ts";
import * as m from "./metrics.ts";
import type { Barrier, StateView } from "./state-view.ts";
import { readRanges } from "./topic-tail.ts";
import {
  type Found,
  missingOfCommitted,
  noteWritten,
  readBackRanges,
  type TornAhead,
  tornAhead,
  verificationAt,
  type Written,
  widen,
  writtenBatch,
} from "./torn-batch.ts";
import { type BatchVerdict, TreeVerifier, type VerifyMode } from "./tree-verifier.ts";

/** Encodes a CertificateEntry as a registry-framed Avro value (implemented by @certstream/kafka's codec). */
export interface EntryEncoder {
  encode(entry: CertificateEntry): Promise<Buffer> | Buffer;
}

export interface WatcherSettings {
  entriesTopic: string;
  /** Partitions of the entries topic: each record's partition is set here, so its answer can be checked. */
  entriesPartitions: number;
  stateTopic: string;
  replicaId: string;
  /** transactional.id = `${prefix}-${log id}`: one per log, so a new owner's init fences the old one. */
  transactionalIdPrefix: string;
  batchSize: number;
  pollIntervalMs: number;
  /** A log with no stored position starts this many entries behind its head... */
  startOverlapLeaves: number;
  /** ...unless a start index is configured for it. */
  startIndex: number | null;
  transactionTimeoutMs: number;
  /** Backoff after a failure (doubles up to 30 s). */
  retryDelayMs: number;
  /** `ct_log.verify`: tree verification of every entry (tree-verifier.ts). Default observe. */
  verify?: VerifyMode;
}

export interface WatcherDeps {
  kafka: Kafka;
  reader: LogReader;
  encoder: EntryEncoder;
  stateCodec: StateCodec;
  stateView: StateView;
  logger: Logger;
  /**
   * Resolves true once the group has confirmed, after `since`, that this replica still owns the log (a fresh
   * join or heartbeat with the log assigned); false when it no longer does. Guards every producer (re)init, so a
   * replica that was paused cannot fence the rightful owner before learning it lost the log.
   */
  confirmOwnership(logId: string, since: number): Promise<boolean>;
  /** True while the group is rebalancing: no new transaction is started then. */
  isRebalancing(): boolean;
  /** Tests: wraps the log's producer (torn-batch.test.ts tears a transaction at the producer). */
  wrapProducer?: (producer: Producer) => Producer;
}

export type WatcherPhase = "starting" | "running" | "idle" | "backoff" | "stopped" | "fenced" | "halted";

export interface WatcherStatus {
  log: LogSource;
  phase: WatcherPhase;
  /** Next index to write (committed position). */
  position: number | null;
  head: number | null;
  headTimestamp: number | null;
  /** Timestamp (ms) of the newest entry written. */
  newestEntryTimestamp: number | null;
  lastCommitAt: number | null;
  lastNewEntryAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  startedAt: number;
  /** The log's current stall, absent or null while it progresses. */
  stall?: LogStall | null;
  /** Tree verification: the mode and the state last committed (null before the position is read). */
  tree?: { mode: VerifyMode; stored: StoredVerification | null };
}

class Stopped extends Error {}

/**
 * Watches one log for as long as this replica owns it: polls the head, fetches the next batch, and writes the
 * batch (every index) to `entries` together with the log's new position in `state`, in one transaction of the
 * log's own transactional producer. The position is only ever learned from the state topic, after the producer
 * has been initialized (which fences and resolves any earlier owner's transaction) and the state view has read
 * past a barrier committed after that, so a crash, a takeover or a broker loss at any moment resumes exactly
 * after the last committed batch (docs/ingester.md, "Why a position is never read stale").
 */
export class LogWatcher {
  readonly status: WatcherStatus;
  private readonly deps: WatcherDeps;
  private readonly cfg: WatcherSettings;
  private readonly abort = new AbortController();
  private done: Promise<void> | null = null;
  private producer: Producer | null = null;
  private onEnd: ((fenced: boolean) => void) | null = null;
  private readonly label: { log: string };
  private readonly entryPartition: (key: Buffer) => number;
  private readonly verifier: TreeVerifier;
  /** An operator asked to reset the tree verification: resolved once the reset state is committed. */
  private resetRequest: { done: (ok: boolean) => void } | null = null;

  constructor(deps: WatcherDeps, cfg: WatcherSettings) {
    this.deps = deps;
    this.cfg = cfg;
    this.entryPartition = keyPartitioner(cfg.entriesTopic, cfg.entriesPartitions);
    const log = deps.reader.log;
    this.label = { log: log.id };
    const now = Date.now();
    this.status = {
      log,
      phase: "starting",
      position: null,
      head: null,
      headTimestamp: null,
      newestEntryTimestamp: null,
      lastCommitAt: null,
      lastNewEntryAt: null,
      lastError: null,
      lastErrorAt: null,
      startedAt: now,
      tree: { mode: cfg.verify ?? "observe", stored: null },
    };
    this.verifier = new TreeVerifier(cfg.verify ?? "observe", log, deps.logger);
  }

  /**
   * Resets the log's tree verification (the operator's action after a mismatch): no range, no mismatch, not
   * halted; committed to the state topic before it resolves true. False when the watcher ends first.
   */
  resetVerification(): Promise<boolean> {
    this.resetRequest?.done(false);
    return new Promise((done) => {
      this.resetRequest = { done };
    });
  }

  get logId(): string {
    return this.deps.reader.log.id;
  }

  get transactionalId(): string {
    return `${this.cfg.transactionalIdPrefix}-${this.logId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  }

  /** Starts the loop; `onEnd(fenced)` is called when it ends on its own (fenced, or no longer owned). */
  start(onEnd?: (fenced: boolean) => void): void {
    this.onEnd = onEnd ?? null;
    m.watcherStarted.inc({ reason: "assigned" });
    this.done = this.run();
  }

  /** Stops after the transaction in flight (if any) has finished; the position stays where it was committed. */
  async stop(reason: "revoked" | "shutdown"): Promise<void> {
    if (!this.abort.signal.aborted) {
      this.abort.abort();
      m.watcherStopped.inc({ reason });
    }
    await this.done;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const log = this.deps.logger;
    let delay = this.cfg.retryDelayMs;
    let fenced = false;
    while (!this.stopped) {
      try {
        const owned = await this.deps.confirmOwnership(this.logId, Date.now());
        if (!owned) {
          log.info({ log: this.logId }, "log no longer assigned to this replica; watcher ends");
          break;
        }
        if (this.stopped) break;
        await this.session(() => {
          delay = this.cfg.retryDelayMs;
        });
      } catch (e) {
        if (e instanceof Stopped || this.stopped) break;
        this.noteError(e);
        if (isFenced(e)) {
          fenced = true;
          this.status.phase = "fenced";
          m.watcherStopped.inc({ reason: "fenced" });
          log.warn(
            { log: this.logId, transactionalId: this.transactionalId, err: errorMessage(e) },
            "producer fenced: another replica owns this log now; stopping without writing",
          );
          break;
        }
        m.watcherRestarted.inc({ reason: "error" });
        log.warn(
          { log: this.logId, err: errorMessage(e), kind: kafkaFailureKind(e), retryInMs: delay },
          "log watcher failed; will recreate its producer and re-read its position",
        );
        this.status.phase = "backoff";
        await this.closeProducer();
        await this.sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      } finally {
        await this.closeProducer();
      }
    }
    if (!fenced) this.status.phase = "stopped";
    this.resetRequest?.done(false);
    this.resetRequest = null;
    this.verifier.clearGauges();
    m.logPosition.remove(this.label);
    m.lagEntries.remove(this.label);
    if (!this.stopped) this.onEnd?.(fenced);
  }

  /** One producer lifetime: init (fence), read position, then batches until stopped or failed. */
  private async session(onProgress: () => void): Promise<void> {
    const { kafka, stateView, logger } = this.deps;
    const real = transactionalProducer(kafka, {
      transactionalId: this.transactionalId,
      transactionTimeoutMs: this.cfg.transactionTimeoutMs,
    });
    const producer = this.deps.wrapProducer?.(real) ?? real;
    this.producer = producer;
    await producer.connect();
    // The first transaction inits the producer id: that bumps the epoch of this transactional.id (fencing any
    // earlier owner, our own previous session included) and makes the coordinator finish that owner's open
    // transaction before answering. The barrier it commits lies above every record of those transactions.
    const barrier = await this.commitBarrier(producer);
    const stored = await stateView.current(this.logId, barrier, this.cfg.transactionTimeoutMs * 2);
    // Whatever Kafka made of the last transactions is final now: complete the last batch if Kafka tore it
    // (from Kafka alone: the writer may be gone), and learn what a torn batch after the position left committed.
    let carry = stored ? await this.completeTorn(producer, stored, barrier) : null;
    let next: number;
    if (stored) {
      next = stored.next_index;
      logger.info(
        {
          log: this.logId,
          next,
          owner: stored.owner,
          barrier: [...barrier].map(([p, o]) => `${p}@${o}`).join(","),
        },
        "resuming log from stored position",
      );
    } else {
      const head = await this.head();
      next =
        this.cfg.startIndex !== null
          ? this.cfg.startIndex
          : Math.max(0, head.treeSize - this.cfg.startOverlapLeaves);
      logger.info(
        { log: this.logId, next, head: head.treeSize, configuredStart: this.cfg.startIndex },
        "log never seen before: starting position chosen",
      );
      // Committed before the first batch: a batch is always written after a committed state, which is where
      // whoever resumes looks for a torn one (completeTorn); and a first batch that fails resumes here.
      await this.commitState(producer, next, head.treeSize, null);
    }
    this.status.position = next;
    this.status.phase = "running";
    m.logPosition.set(this.label, next);
    this.verifier.restore(stored?.verification ?? null, next);
    this.status.tree = { mode: this.verifier.mode, stored: this.verifier.stored };

    let treeSize = -1;
    let head: LogHead | null = null;
    // The head is read at most once per poll interval, however fast the log grows: the interval is the cadence
    // of the log's own publishing (an STH, a checkpoint), and reading faster only spends the operator's budget.
    let headDueAt = 0;
    // One fetch runs ahead while the previous batch commits (fetching and parsing overlap the Kafka round
    // trips). It is only a read: a failed commit discards it, and the position is re-read from the state topic.
    let ahead: { start: number; end: number; entries: Promise<CertificateEntry[] | null> } | null = null;
    try {
      while (!this.stopped) {
        if (this.resetRequest) await this.commitReset(producer, next);
        if (this.verifier.halted) {
          // enforce after a mismatch: nothing is read or published until an operator resets verification.
          this.status.phase = "halted";
          ahead = null;
          await this.sleep(this.cfg.pollIntervalMs);
          continue;
        }
        if (treeSize <= next) {
          const wait = headDueAt - Date.now();
          if (wait > 0) {
            this.status.phase = "idle";
            this.refreshGauges();
            await this.sleep(wait);
            continue;
          }
          headDueAt = Date.now() + this.cfg.pollIntervalMs;
          const h = await this.headOrNull();
          if (h === null) continue;
          head = h;
          treeSize = h.treeSize;
          if (treeSize <= next) continue;
        }
        this.status.phase = "running";
        let end = Math.min(next + this.cfg.batchSize, treeSize);
        let pending: Promise<CertificateEntry[] | null>;
        if (carry && carry.from === next) {
          // A torn batch's entries already committed: the batch that completes it covers all of them at once.
          end = carry.to;
          pending = this.fetchRange(next, end);
        } else if (ahead && ahead.start === next) {
          pending = ahead.entries;
          end = ahead.end;
        } else pending = this.fetchOrNull(next, end);
        ahead = null;
        const entries = await pending;
        if (entries === null) continue;
        if (entries.length === 0) {
          // Nothing to read below the head yet (a static log's partial tile still waiting, a log whose pages lag
          // its tree head): what changes that is a newer head, so read it again at the next poll.
          treeSize = -1;
          continue;
        }
        const batch = contiguousFrom(entries, next, end);
        if (batch.length === 0) {
          this.noteError(new Error(`log returned entries not starting at index ${next}`));
          await this.sleep(this.cfg.pollIntervalMs);
          continue;
        }
        while (this.deps.isRebalancing() && !this.stopped) await this.sleep(100);
        if (this.stopped) break;
        const after = batch[batch.length - 1].index + 1;
        if (after < treeSize) {
          const aheadEnd = Math.min(after + this.cfg.batchSize, treeSize);
          ahead = {
            start: after,
            end: aheadEnd,
            entries: this.fetchOrNull(after, aheadEnd).catch(() => null),
          };
        }
        const verdict = await this.verify(batch, head as LogHead);
        if (verdict.halt) {
          ahead?.entries.catch(() => null);
          ahead = null;
          await this.commitState(producer, next, treeSize, verdict.stored);
          this.verifier.adopt(verdict, next);
          this.status.tree = { mode: this.verifier.mode, stored: this.verifier.stored };
          continue;
        }
        await this.commitBatch(producer, batch, treeSize, verdict.stored, carry);
        carry = null;
        this.verifier.adopt(verdict, next);
        this.status.tree = { mode: this.verifier.mode, stored: this.verifier.stored };
        next = after;
        onProgress();
      }
    } finally {
      // Let a read still in flight finish quietly (its result is dropped).
      ahead?.entries.catch(() => null);
    }
  }

  /**
   * Commits an empty-valued record on every partition of the state topic and returns their offsets: once the
   * state view has read past them, it has read every transaction this log's producer committed before.
   */
  private async commitBarrier(producer: Producer): Promise<Barrier> {
    const key = barrierKey(this.logId);
    const tx = await producer.transaction();
    try {
      const sent = await checkedSend(
        tx,
        this.cfg.stateTopic,
        this.deps.stateView.partitions.map((partition) => ({ key, value: null, partition })),
      );
      await tx.commit();
      const barrier: Barrier = new Map();
      for (const r of sent) {
        // An offset we cannot trust would make the view answer at once, possibly stale: fail the session.
        if (r.baseOffset === undefined || BigInt(r.baseOffset) < 0n)
          throw new Error(`no offset for the barrier on partition ${r.partition}: ${r.baseOffset}`);
        barrier.set(r.partition, BigInt(r.baseOffset));
      }
      return barrier;
    } catch (e) {
      await tx.abort().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Completes what Kafka tore of this log's last transactions, from Kafka alone (the process that wrote them may
   * be gone). Runs once the init has decided every earlier transaction of the log and the position was read past
   * the barrier. It reads this log's state records between the committed one and the barrier (read_uncommitted:
   * all of them aborted), then, in one read_committed pass, the log's entries at the offsets those records and
   * the committed one name (a few hundred records: the batches and what other logs wrote between them):
   *
   * 1. entries of the committed state's own batch that are absent were aborted while the position moved past
   *    them: they are fetched from the log again and written, with a state record (same position) naming the
   *    offsets of every write of the batch (an aborted earlier completion's included);
   * 2. entries after the position that are present belong to a batch whose state record aborted: they are
   *    returned, and the next batch covers that batch whole without writing them again.
   */
  private async completeTorn(
    producer: Producer,
    stored: IngesterState,
    barrier: Barrier,
  ): Promise<TornAhead | null> {
    const log = this.deps.logger;
    const t0 = performance.now();
    const next = stored.next_index;
    const own = stored.batch ?? null;
    const aborted = await this.abortedStates(stored, barrier);
    // Aborted records of the same batch (a completion that failed) name offsets of its entries too.
    const batches = [own, ...aborted.map((s) => s.batch ?? null)].filter(
      (b): b is NonNullable<typeof b> =>
        b !== null && (b.from_index >= next || b.from_index === own?.from_index),
    );
    if (batches.length === 0) return null;
    const to = Math.max(next, ...aborted.map((s) => s.next_index));
    const { found, clipped, records } = await this.readEntriesBack(batches, own?.from_index ?? next, to);
    if (clipped)
      log.warn(
        { log: this.logId, from: own?.from_index ?? next, to },
        "the last batches' entries are partly gone (retention): what is gone cannot be compared",
      );
    const missing = missingOfCommitted(stored, found);
    if (missing.length > 0 && !clipped)
      await this.writeMissing(
        producer,
        stored,
        missing,
        found.filter((f) => f.index < next),
      );
    const carry = tornAhead(
      next,
      aborted.filter((s) => s.next_index > next),
      found,
    );
    if (carry) {
      m.tornBatches.inc({ log: this.logId, state: "aborted" });
      log.error(
        {
          log: this.logId,
          from: carry.from,
          to: carry.to,
          stateCommitted: false,
          entriesCommitted: carry.present.size,
          entriesWritten: carry.to - carry.from - carry.present.size,
        },
        "Kafka tore a transaction (committed in part, aborted in part); its batch is written again without the entries committed",
      );
    }
    log.info(
      {
        log: this.logId,
        batch: own ? `${own.from_index}..${next}` : null,
        abortedAfter: aborted.length,
        recordsRead: records,
        ms: Math.round(performance.now() - t0),
      },
      "last batch read back from Kafka",
    );
    return carry;
  }

  /**
   * The log's entries with index in [from, to) committed at the offsets `batches` name, read back
   * read_committed (past the batches' last records, so every one read is final). `clipped`: retention deleted
   * part of the range.
   */
  private async readEntriesBack(
    batches: readonly NonNullable<IngesterState["batch"]>[],
    from: number,
    to: number,
  ): Promise<{ found: Found[]; clipped: boolean; records: number }> {
    const ranges = readBackRanges(batches);
    const { records, clipped } = await readRanges(this.deps.kafka, this.cfg.entriesTopic, ranges, {
      groupPrefix: `${this.transactionalId}-settle`,
      timeoutMs: this.cfg.transactionTimeoutMs * 2,
    });
    const found: Found[] = [];
    let n = 0;
    for (const [partition, msgs] of records)
      for (const msg of msgs) {
        n++;
        if (headerString(msg.headers, HEADER_LOG_ID) !== this.logId) continue;
        const index = Number(headerString(msg.headers, HEADER_LOG_INDEX));
        if (index >= from && index < to) found.push({ index, partition, offset: BigInt(msg.offset) });
      }
    return { found, clipped: clipped.length > 0, records: n };
  }

  /**
   * This log's state records after the committed one and below the barrier. The committed one is the last
   * to have committed, so all of them were aborted; read_uncommitted is the only way to see them.
   */
  private async abortedStates(stored: IngesterState, barrier: Barrier): Promise<IngesterState[]> {
    const { stateView, stateCodec } = this.deps;
    const partition = stateView.partitionOf(this.logId);
    const at = stateView.offsetOf(this.logId);
    const end = barrier.get(partition);
    if (at === null || end === undefined || at + 1n >= end) return [];
    const { records } = await readRanges(
      this.deps.kafka,
      this.cfg.stateTopic,
      new Map([[partition, { from: at + 1n, to: end }]]),
      {
        groupPrefix: `${this.transactionalId}-aborted`,
        timeoutMs: this.cfg.transactionTimeoutMs * 2,
        readUncommitted: true,
      },
    );
    const key = stateKey(this.logId);
    const out: IngesterState[] = [];
    for (const msg of records.get(partition) ?? []) {
      if (!msg.value || !msg.key?.equals(key)) continue;
      const s = await stateCodec.decode(msg.value);
      if (s && s.next_index >= stored.next_index) out.push(s);
    }
    return out;
  }

  /** Writes again the entries of the committed batch Kafka aborted, with the state naming all of its offsets. */
  private async writeMissing(
    producer: Producer,
    stored: IngesterState,
    missing: number[],
    found: readonly Found[],
  ): Promise<void> {
    const batch = stored.batch;
    if (!batch) return;
    const want = new Set(missing);
    const entries = (await this.fetchRange(missing[0], missing[missing.length - 1] + 1)).filter((e) =>
      want.has(e.index),
    );
    const verification = verificationAt(stored.verification, stored.next_index);
    for (const e of entries) e.tree_verification = verification;
    m.tornBatches.inc({ log: this.logId, state: "committed" });
    this.deps.logger.error(
      {
        log: this.logId,
        from: batch.from_index,
        to: stored.next_index,
        stateCommitted: true,
        entriesCommitted: found.length,
        entriesWritten: entries.length,
      },
      "Kafka tore a transaction (committed in part, aborted in part); writing the entries it lost",
    );
    const messages = await this.encodeEntries(entries);
    const written: Written = new Map();
    for (const f of found) widen(written, f.partition, f.offset, f.offset);
    const tx = await producer.transaction();
    try {
      for (const chunk of chunksByBytes(messages, MAX_REQUEST_BYTES))
        noteWritten(written, chunk, await checkedSend(tx, this.cfg.entriesTopic, chunk));
      // The same position, now naming where every entry of the batch lies: if this commit is torn too, the
      // next read-back sees both writes.
      const value = this.deps.stateCodec.encode({
        ...stored,
        updated_at: Date.now(),
        owner: this.cfg.replicaId,
        batch: writtenBatch(batch.from_index, written),
      });
      await checkedSend(tx, this.cfg.stateTopic, [
        { key: stateKey(this.logId), value, partition: this.deps.stateView.partitionOf(this.logId) },
      ]);
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => undefined);
      throw e;
    }
  }

  /** Entries [from, to) of the log, all of them: read until the log has served the whole range. */
  private async fetchRange(from: number, to: number): Promise<CertificateEntry[]> {
    const out: CertificateEntry[] = [];
    while (from + out.length < to) {
      if (this.stopped) throw new Stopped();
      const at = from + out.length;
      const got = await this.fetchOrNull(at, to);
      if (got === null) continue;
      const more = contiguousFrom(got, at, to);
      if (more.length === 0) await this.sleep(this.cfg.pollIntervalMs);
      out.push(...more);
    }
    return out;
  }

  /** Seeds the range if needed, checks the batch against the head, and marks its entries with the result. */
  private async verify(batch: CertificateEntry[], head: LogHead): Promise<BatchVerdict> {
    const reader = this.deps.reader;
    const compactRangeAt = reader.compactRangeAt?.bind(reader);
    // Best effort, bounded: a log that cannot seed (no get-proof-by-hash, a tile missing) is read on unverified.
    const seed = compactRangeAt
      ? (index: number, leafHash: Uint8Array, h: LogHead) =>
          compactRangeAt(
            index,
            leafHash,
            h,
            AbortSignal.any([this.abort.signal, AbortSignal.timeout(SEED_TIMEOUT_MS)]),
          )
      : null;
    await this.verifier.prepare(batch[0].index, batch[0].leaf_hash ?? null, head, seed);
    const verdict = this.verifier.check(batch, head);
    for (const e of batch) e.tree_verification = verdict.entry;
    return verdict;
  }

  /** Commits the log's state alone (no entries): a halt after a mismatch, or an operator's reset. */
  private async commitState(
    producer: Producer,
    next: number,
    treeSize: number,
    verification: StoredVerification | null,
  ): Promise<void> {
    const log = this.deps.reader.log;
    const value = this.deps.stateCodec.encode({
      log_id: log.id,
      log_url: log.url,
      next_index: next,
      tree_size: treeSize,
      updated_at: Date.now(),
      owner: this.cfg.replicaId,
      verification,
    });
    const tx = await producer.transaction();
    try {
      await checkedSend(tx, this.cfg.stateTopic, [
        { key: stateKey(log.id), value, partition: this.deps.stateView.partitionOf(log.id) },
      ]);
      await tx.commit();
    } catch (e) {
      await tx.abort().catch(() => undefined);
      throw e;
    }
  }

  private async commitReset(producer: Producer, next: number): Promise<void> {
    const request = this.resetRequest;
    if (!request) return;
    const stored = this.verifier.resetState(next);
    await this.commitState(producer, next, this.status.head ?? next, stored);
    this.verifier.adoptReset(stored);
    this.status.tree = { mode: this.verifier.mode, stored };
    this.resetRequest = null;
    request.done(true);
  }

  private async commitBatch(
    producer: Producer,
    batch: CertificateEntry[],
    treeSize: number,
    verification: StoredVerification | null,
    carry: TornAhead | null,
  ): Promise<void> {
    const { stateCodec } = this.deps;
    const log = this.deps.reader.log;
    m.queueDepth.inc({ stage: "produce" }, batch.length);
    try {
      // A batch completing a torn one leaves out what is already committed.
      const messages = await this.encodeEntries(
        carry ? batch.filter((e) => !carry.present.has(e.index)) : batch,
      );
      const last = batch[batch.length - 1];
      const t0 = performance.now();
      const tx = await producer.transaction();
      try {
        // Several produce requests in one transaction: each stays under the broker's message.max.bytes
        // (a record batch per partition per request), however large the log's batch.
        const written: Written = new Map(carry?.written ?? []);
        for (const chunk of chunksByBytes(messages, MAX_REQUEST_BYTES))
          noteWritten(written, chunk, await checkedSend(tx, this.cfg.entriesTopic, chunk));
        // Sent once every entry's send was answered: the state names where they lie, for whoever resumes.
        const value = stateCodec.encode({
          log_id: log.id,
          log_url: log.url,
          next_index: last.index + 1,
          tree_size: treeSize,
          updated_at: Date.now(),
          owner: this.cfg.replicaId,
          verification,
          batch: writtenBatch(batch[0].index, written),
        });
        await checkedSend(tx, this.cfg.stateTopic, [
          { key: stateKey(log.id), value, partition: this.deps.stateView.partitionOf(log.id) },
        ]);
        await tx.commit();
      } catch (e) {
        m.stateCommits.inc({ result: "aborted" });
        m.stateCommitFailures.inc({ kind: kafkaFailureKind(e) });
        m.produceErrors.inc({ stage: "ingest", kind: kafkaFailureKind(e) });
        // Abort is best effort: if it fails too, the next owner (or our own re-init) resolves the transaction.
        await tx.abort().catch(() => undefined);
        throw e;
      }
      this.deps.logger.debug(
        { log: log.id, from: batch[0].index, next: last.index + 1 },
        "batch committed with the log's position",
      );
      m.produceLatency.observe({ stage: "ingest" }, (performance.now() - t0) / 1000);
      // One observation per batch: its entries were read together (the oldest read's `seen`, in µs).
      m.recordAge.observe(
        { stage: "ingest_committed" },
        Math.max(0, Date.now() - batch[0].seen / 1000) / 1000,
      );
      m.stateCommits.inc({ result: "committed" });
      m.batchSize.observe({ stage: "ingest" }, batch.length);
      m.entriesIngested.inc({ log: log.id, operator: log.operator }, batch.length);
      for (const e of batch)
        if (!e.leaf) m.parseFailures.inc({ log: log.id, kind: e.parse_error?.kind ?? "unknown" });
      const now = Date.now();
      this.status.position = last.index + 1;
      this.status.lastCommitAt = now;
      this.status.lastNewEntryAt = now;
      this.status.newestEntryTimestamp = Math.max(this.status.newestEntryTimestamp ?? 0, last.timestamp);
      m.logPosition.set(this.label, last.index + 1);
      this.refreshGauges();
    } finally {
      m.queueDepth.dec({ stage: "produce" }, batch.length);
    }
  }

  /** The entries' records: key, partition, Avro value, headers. */
  private async encodeEntries(batch: readonly CertificateEntry[]): Promise<Message[]> {
    const messages: Message[] = [];
    for (const e of batch) {
      // The service's encoder is synchronous: no await (and microtask) per entry unless it returns a promise.
      const value = this.deps.encoder.encode(e);
      const key = entryKey(e);
      messages.push({
        key,
        partition: this.entryPartition(key),
        value: value instanceof Promise ? await value : value,
        headers: entryHeaders(e),
      });
    }
    return messages;
  }

  private refreshGauges(): void {
    const s = this.status;
    const now = Date.now();
    if (s.head !== null && s.position !== null)
      m.lagEntries.set(this.label, Math.max(0, s.head - s.position));
    if (s.newestEntryTimestamp !== null)
      m.sourceLagSeconds.set(this.label, (now - s.newestEntryTimestamp) / 1000);
    m.idleSeconds.set(this.label, (now - (s.lastNewEntryAt ?? s.startedAt)) / 1000);
  }

  private async head(): Promise<LogHead> {
    for (;;) {
      const h = await this.headOrNull();
      if (h) return h;
      if (this.stopped) throw new Stopped();
    }
  }

  /** Head of the log, or null after a counted, logged failure and a pause. */
  private async headOrNull(): Promise<LogHead | null> {
    const at = this.status.position;
    try {
      const h = await this.watchRead("head", at, this.deps.reader.head(this.abort.signal));
      this.status.head = h.treeSize;
      this.status.headTimestamp = h.timestamp;
      if (this.status.stall?.read === "head") this.stallEnded();
      return h;
    } catch (e) {
      if (this.stopped) throw new Stopped();
      this.fetchFailed("head", at, "head", e);
      await this.sleep(this.cfg.pollIntervalMs * 2);
      return null;
    }
  }

  private async fetchOrNull(start: number, end: number): Promise<CertificateEntry[] | null> {
    try {
      m.queueDepth.inc({ stage: "fetch" }, end - start);
      const entries = await this.watchRead(
        "entries",
        start,
        this.deps.reader.entries(start, end, this.abort.signal),
      );
      const stall = this.status.stall;
      if (
        stall &&
        entries.length > 0 &&
        entries[0].index === start &&
        entries[entries.length - 1].index >= (stall.index ?? start)
      )
        this.stallEnded();
      return entries;
    } catch (e) {
      if (this.stopped) throw new Stopped();
      this.fetchFailed("entries", start, `entries ${start}..${end}`, e);
      await this.sleep(this.cfg.pollIntervalMs * 2);
      return null;
    } finally {
      m.queueDepth.dec({ stage: "fetch" }, end - start);
    }
  }

  private fetchFailed(read: LogStall["read"], index: number | null, what: string, e: unknown): void {
    const kind = failureKind(e);
    m.fetchErrors.inc({ log: this.logId, kind });
    this.noteError(e);
    // The first failure of a stall is its one warning (stalled()); the retries after it are debug.
    if (!this.stalled(read, index, stallReason(e), Date.now()))
      this.deps.logger.debug(
        { log: this.logId, what, kind, err: errorMessage(e) },
        "CT log fetch failed again; retrying after a pause",
      );
  }

  /**
   * Awaits a read of the log while looking at it every STALL_CHECK_MS: a failed attempt inside it (the client
   * retries, invisible until it gives up) makes it a stall once it has been pending STALL_AFTER_MS; meanwhile
   * the lag and idle gauges keep moving, as the stall alert needs.
   */
  private async watchRead<T>(read: LogStall["read"], index: number | null, pending: Promise<T>): Promise<T> {
    const started = Date.now();
    const timer = setInterval(() => {
      if (this.stopped) return;
      this.refreshGauges();
      const f = this.deps.reader.lastFailure?.();
      if (!f || f.at < started || Date.now() - started < STALL_AFTER_MS) return;
      this.status.lastError = f.message;
      this.status.lastErrorAt = f.at;
      // Nothing has been read since the read began: that is when the stall began.
      this.stalled(read, index, f.reason, started);
    }, STALL_CHECK_MS);
    try {
      return await pending;
    } finally {
      clearInterval(timer);
    }
  }

  /** Records a stall at `index` (or keeps the one in progress); true when it starts one, which is logged once. */
  private stalled(read: LogStall["read"], index: number | null, reason: string, since: number): boolean {
    const current = this.status.stall;
    if (current) {
      current.reason = reason;
      return false;
    }
    this.status.stall = { since, index, reason, read };
    this.deps.logger.warn(
      {
        log: this.logId,
        url: this.deps.reader.log.url,
        leaf_index: index,
        reason,
        read,
        err: this.status.lastError,
      },
      "CT log stalled: reading it fails; retrying until it answers",
    );
    return true;
  }

  private stallEnded(): void {
    const stall = this.status.stall;
    if (!stall) return;
    this.status.stall = null;
    this.deps.logger.info(
      {
        log: this.logId,
        url: this.deps.reader.log.url,
        leaf_index: stall.index,
        reason: stall.reason,
        stalled_seconds: (Date.now() - stall.since) / 1000,
      },
      "CT log stall over: reading it works again",
    );
  }

  private noteError(e: unknown): void {
    this.status.lastError = errorMessage(e);
    this.status.lastErrorAt = Date.now();
  }

  private async closeProducer(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p) await p.disconnect().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }
}

/** A seed of the compact range (one audit path, or a few hash tiles) is given up after this long. */
const SEED_TIMEOUT_MS = 60_000;

/** Bytes of record values per produce request (the broker's default message.max.bytes is 1 MiB). */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Splits messages into consecutive chunks of at most `maxBytes` of values (at least one message each). */
export function chunksByBytes(messages: Message[], maxBytes: number): Message[][] {
  const out: Message[][] = [];
  let cur: Message[] = [];
  let bytes = 0;
  for (const msg of messages) {
    const size = (msg.value as Buffer | null)?.length ?? 0;
    if (cur.length > 0 && bytes + size > maxBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(msg);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The prefix of `entries` that continues exactly at `start` without a hole, bounded by `end`. */
export function contiguousFrom(entries: CertificateEntry[], start: number, end: number): CertificateEntry[] {
  const out: CertificateEntry[] = [];
  let want = start;
  for (const e of entries) {
    if (e.index !== want || want >= end) break;
    out.push(e);
    want++;
  }
  return out;
}
