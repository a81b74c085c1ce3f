import type { StateCodec } from "@certstream/kafka";
import type { Logger } from "@certstream/log";
import type { Consumer, Kafka } from "kafkajs";
import { errorMessage } from "./kafka-errors.ts";
import { logBalancedAssigner, logPartition } from "./log-assignment.ts";
import type { LogReader } from "./log-reader.ts";
import { type EntryEncoder, LogWatcher, type WatcherSettings, type WatcherStatus } from "./log-watcher.ts";
import { ownedLogs, setStallSource } from "./metrics.ts";
import type { StateView } from "./state-view.ts";

/** A log this replica may watch, with its reader and its configured start index (null: default start). */
export interface WatchableLog {
  reader: LogReader;
  startIndex: number | null;
}

export interface IngesterOptions {
  kafka: Kafka;
  encoder: EntryEncoder;
  stateCodec: StateCodec;
  stateView: StateView;
  logger: Logger;
  groupId: string;
  coordinationTopic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  watcher: Omit<WatcherSettings, "startIndex">;
  /** Called when the group consumer stopped for good (kafkajs will not restart it): the process should exit. */
  onFatal?: (e: Error) => void;
}

export interface LogReport extends WatcherStatus {
  owner: string | null;
  owned: boolean;
}

/**
 * One ingester replica: a member of the ingester group on the coordination topic. It watches the logs of the
 * partitions the group gives it (see log-assignment.ts), starting a LogWatcher per log when assigned and stopping
 * it (after its transaction in flight) when revoked.
 */
export class Ingester {
  private readonly opts: IngesterOptions;
  private readonly log: Logger;
  private consumer: Consumer | null = null;
  private logs = new Map<string, WatchableLog>();
  private readonly watchers = new Map<string, LogWatcher>();
  private assigned = new Set<number>();
  private partitionCount = 0;
  private generation = 0;
  /** Last time the group confirmed our membership (join or heartbeat), ms. */
  private confirmedAt = 0;
  private rebalancing = true;
  private stopping = false;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private reconciling: Promise<void> = Promise.resolve();
  private readonly confirmWaiters = new Set<() => void>();

  constructor(opts: IngesterOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  get replicaId(): string {
    return this.opts.watcher.replicaId;
  }

  /** Replaces the set of logs (log list refresh); watchers of removed logs stop, new ones start if owned. */
  setLogs(logs: WatchableLog[]): void {
    const next = new Map(logs.map((l) => [l.reader.log.id, l]));
    // A log whose description changed (new URL, key...) comes with a new reader: its watcher restarts with it.
    for (const [id, w] of this.watchers) {
      const l = next.get(id);
      if (l && l.reader !== this.logs.get(id)?.reader) {
        this.watchers.delete(id);
        this.log.info({ log: id, url: l.reader.log.url }, "log description changed: watcher restarts");
        this.reconciling = this.reconciling.then(() => w.stop("revoked"));
      }
    }
    this.logs = next;
    this.schedule();
  }

  async start(): Promise<void> {
    const { kafka, groupId, coordinationTopic } = this.opts;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [coordinationTopic] });
      this.partitionCount = meta.topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
    if (this.partitionCount === 0)
      throw new Error(`coordination topic ${coordinationTopic} has no partitions`);
    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [logBalancedAssigner(() => [...this.logs.keys()])],
      sessionTimeout: this.opts.sessionTimeoutMs,
      rebalanceTimeout: this.opts.sessionTimeoutMs * 2,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      maxWaitTimeInMs: Math.min(1000, this.opts.heartbeatIntervalMs),
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
    });
    this.consumer = consumer;
    setStallSource(() => this.stalls());
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const parts = payload.memberAssignment[coordinationTopic] ?? [];
      this.generation++;
      this.assigned = new Set(parts);
      this.rebalancing = false;
      this.confirm();
      this.log.info(
        {
          memberId: payload.memberId,
          leader: payload.isLeader,
          partitions: parts,
          generation: this.generation,
        },
        "ingester group assignment",
      );
      this.schedule();
    });
    consumer.on(consumer.events.HEARTBEAT, () => this.confirm());
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
      this.log.info("ingester group rebalancing: new transactions wait for the new assignment");
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error(
        { err: errorMessage(payload.error), restart: payload.restart },
        "ingester group consumer crashed",
      );
    });
    await consumer.connect();
    await consumer.subscribe({ topic: coordinationTopic, fromBeginning: false });
    // Nothing is ever written to the coordination topic: the consumer exists for its group membership.
    await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
  }

  /** Stops every watcher (each finishes its transaction in flight), then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    setStallSource(null);
    for (const t of this.restartTimers) clearTimeout(t);
    this.confirm();
    await this.reconciling;
    await Promise.allSettled([...this.watchers.values()].map((w) => w.stop("shutdown")));
    this.watchers.clear();
    ownedLogs.set(0);
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = null;
  }

  owns(logId: string): boolean {
    return !this.stopping && !this.rebalancing && this.logs.has(logId) && this.ownsPartitionOf(logId);
  }

  /** Per-log status for /api/logs: every known log, with this replica's watcher state where it owns it. */
  report(): LogReport[] {
    const out: LogReport[] = [];
    for (const [id, l] of this.logs) {
      const w = this.watchers.get(id);
      const stored = this.opts.stateView.peek(id);
      const base: WatcherStatus = w?.status ?? {
        log: l.reader.log,
        phase: "stopped",
        position: stored?.next_index ?? null,
        head: stored?.tree_size ?? null,
        headTimestamp: null,
        newestEntryTimestamp: null,
        lastCommitAt: stored?.updated_at ?? null,
        lastNewEntryAt: null,
        lastError: null,
        lastErrorAt: null,
        startedAt: 0,
        tree: stored?.verification ? { mode: "observe", stored: stored.verification } : undefined,
      };
      out.push({ ...base, owned: w !== undefined, owner: w ? this.replicaId : (stored?.owner ?? null) });
    }
    return out;
  }

  /**
   * Resets the tree verification of a log this replica watches (the operator's action after a mismatch);
   * resolves true once committed. Null when another replica (or none) watches the log.
   */
  resetVerification(logId: string): Promise<boolean> | null {
    return this.watchers.get(logId)?.resetVerification() ?? null;
  }

  /** The owned logs that are stalled now, and since when. */
  *stalls(): Iterable<{ log: string; since: number }> {
    for (const [id, w] of this.watchers) {
      const stall = w.status.stall;
      if (stall) yield { log: id, since: stall.since };
    }
  }

  watching(): string[] {
    return [...this.watchers.keys()];
  }

  isReady(): boolean {
    return this.consumer !== null && !this.rebalancing && this.generation > 0;
  }

  private ownsPartitionOf(logId: string): boolean {
    return this.partitionCount > 0 && this.assigned.has(logPartition(logId, this.partitionCount));
  }

  private confirm(): void {
    this.confirmedAt = Date.now();
    for (const w of [...this.confirmWaiters]) w();
  }

  /** See WatcherDeps.confirmOwnership. */
  private async confirmOwnership(logId: string, since: number): Promise<boolean> {
    while (!this.stopping && (this.confirmedAt <= since || this.rebalancing)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.confirmWaiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 1000);
        this.confirmWaiters.add(done);
      });
    }
    return this.owns(logId);
  }

  private schedule(): void {
    this.reconciling = this.reconciling
      .then(() => this.reconcile())
      .catch((e) => {
        this.log.error({ err: errorMessage(e) }, "ingester reconcile failed");
      });
  }

  private async reconcile(): Promise<void> {
    if (this.stopping) return;
    const revoked = [...this.watchers.entries()].filter(([id]) => !this.owns(id) && !this.rebalancing);
    // Revoked watchers stop first (each after its transaction in flight): the new owner's init fences them anyway.
    await Promise.allSettled(
      revoked.map(async ([id, w]) => {
        this.watchers.delete(id);
        await w.stop("revoked");
        this.log.info({ log: id }, "log revoked: watcher stopped");
      }),
    );
    for (const [id, l] of this.logs) {
      if (this.watchers.has(id) || !this.owns(id)) continue;
      this.startWatcher(id, l);
    }
    ownedLogs.set(this.watchers.size);
  }

  private startWatcher(id: string, l: WatchableLog): void {
    const o = this.opts;
    const w = new LogWatcher(
      {
        kafka: o.kafka,
        reader: l.reader,
        encoder: o.encoder,
        stateCodec: o.stateCodec,
        stateView: o.stateView,
        logger: o.logger,
        confirmOwnership: (logId, since) => this.confirmOwnership(logId, since),
        isRebalancing: () => this.rebalancing,
      },
      { ...o.watcher, startIndex: l.startIndex },
    );
    this.watchers.set(id, w);
    this.log.info(
      { log: id, url: l.reader.log.url, transactionalId: w.transactionalId },
      "log assigned: watcher starts",
    );
    w.start((fenced) => {
      if (this.watchers.get(id) === w) this.watchers.delete(id);
      ownedLogs.set(this.watchers.size);
      if (!fenced || this.stopping) {
        this.schedule();
        return;
      }
      // Fenced while we still believed we owned it: someone else initialized this log's producer. Wait long
      // enough for a stale membership to be noticed (ours or theirs), then take it back only if still assigned.
      const t = setTimeout(() => {
        this.restartTimers.delete(t);
        this.schedule();
      }, this.opts.sessionTimeoutMs * 2);
      this.restartTimers.add(t);
    });
  }
}
