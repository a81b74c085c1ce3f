// Every metric of the ingester service (issue 8, ingester area): per-log ingest, parse failures by kind,
// source lag and idle time, watcher lifecycle, queue depth, state commits, produce latency/errors, dedup.
// Labels are bounded: `log` is a configured log's name-free id (the log list is finite), `kind`/`reason` come
// from fixed lists, `partition` is bounded by the topic's partition count.
import {
  AGE_BUCKETS,
  BATCH_SIZE_BUCKETS,
  counter,
  FLUSH_BUCKETS,
  gauge,
  histogram,
} from "@certstream/metrics";

/** Bounded reasons of the watcher lifecycle counters. */
export const WATCHER_REASONS = ["assigned", "revoked", "fenced", "error", "shutdown"] as const;
export type WatcherReason = (typeof WATCHER_REASONS)[number];

export const entriesIngested = counter({
  name: "certstream_ingester_entries_total",
  help: "Log entries written to the entries topic (committed), per log",
  labelNames: ["log", "operator"] as const,
});

export const parseFailures = counter({
  name: "certstream_ingester_parse_failures_total",
  help: "Entries written without a parsed leaf certificate (still archived with raw bytes), by log and kind",
  labelNames: ["log", "kind"] as const,
});

export const sourceLagSeconds = gauge({
  name: "certstream_ingester_source_lag_seconds",
  help: "Now minus the timestamp of the newest entry written for the log",
  labelNames: ["log"] as const,
});

export const lagEntries = gauge({
  name: "certstream_ingester_lag_entries",
  help: "Log head (tree size) minus the next index to write",
  labelNames: ["log"] as const,
});

export const idleSeconds = gauge({
  name: "certstream_ingester_idle_seconds",
  help: "Seconds since the log last yielded a new entry",
  labelNames: ["log"] as const,
});

/** The stalled logs of this process (the ingester's watchers), read at scrape time; none until one is set. */
let stallSource: (() => Iterable<{ log: string; since: number }>) | null = null;

export function setStallSource(source: (() => Iterable<{ log: string; since: number }>) | null): void {
  stallSource = source;
}

export const stalledSeconds = gauge({
  name: "certstream_ingester_stalled_seconds",
  help: "Seconds an owned log has been stalled (reading its head or entries keeps failing); no series while it progresses",
  labelNames: ["log"] as const,
  collect() {
    // Rebuilt at each scrape from the live watchers: a log that recovered or moved to another replica has no series.
    this.reset();
    if (!stallSource) return;
    const now = Date.now();
    for (const s of stallSource()) this.set({ log: s.log }, Math.max(0, (now - s.since) / 1000));
  },
});

export const logPosition = gauge({
  name: "certstream_ingester_position",
  help: "Next index to write, per owned log",
  labelNames: ["log"] as const,
});

export const ownedLogs = gauge({
  name: "certstream_ingester_owned_logs",
  help: "Logs this replica currently watches",
});

export const watcherStarted = counter({
  name: "certstream_ingester_watcher_started_total",
  help: "Log watchers started, by reason (assigned: the group gave this replica the log)",
  labelNames: ["reason"] as const,
});
export const watcherStopped = counter({
  name: "certstream_ingester_watcher_stopped_total",
  help: "Log watchers stopped, by reason (revoked, fenced, shutdown)",
  labelNames: ["reason"] as const,
});
export const watcherRestarted = counter({
  name: "certstream_ingester_watcher_restarted_total",
  help: "Log watchers that recreated their producer and re-read their position after a failure, by reason",
  labelNames: ["reason"] as const,
});

export const queueDepth = gauge({
  name: "certstream_ingester_queue_depth",
  help: "Entries fetched and parsed but not yet committed (bounded buffer between fetch and produce), summed over logs",
  labelNames: ["stage"] as const,
});

export const stateCommits = counter({
  name: "certstream_ingester_state_commits_total",
  help: "Transactions carrying entries and the log position, by result (committed, aborted)",
  labelNames: ["result"] as const,
});

export const stateCommitFailures = counter({
  name: "certstream_ingester_state_commit_failures_total",
  help: "Failed entry+position transactions, by failure kind",
  labelNames: ["kind"] as const,
});

export const tornBatches = counter({
  name: "certstream_ingester_torn_batches_total",
  help: "Batches Kafka committed in part and aborted in part (a coordinator lost mid-commit), found and completed on resume",
  labelNames: ["log", "state"] as const,
});

export const dedupTornBatches = counter({
  name: "certstream_ingester_dedup_torn_batches_total",
  help: "Dedup transactions Kafka committed in part (a coordinator lost mid-commit), found and completed when the partition was prepared again",
});

export const produceLatency = histogram({
  name: "certstream_ingester_produce_seconds",
  help: "Duration of one transaction (send + commit), by stage (ingest, dedup)",
  labelNames: ["stage"] as const,
  buckets: FLUSH_BUCKETS,
});

/**
 * Where the stream's latency goes before the streamer (issue 13), per stage: `ingest_committed` = the ingest
 * transaction committed, since the batch was read from the log (its `seen`: parse, encode, transaction);
 * `dedup_fetched` = the dedup stage got the entries record, and `dedup_committed` = its certs transaction
 * committed, both since the ingester produced the record (its Kafka timestamp; the certs record keeps it, so
 * the streamer's certstream_streamer_record_age_seconds continues the same clock).
 */
export const recordAge = histogram({
  name: "certstream_ingester_record_age_seconds",
  help: "Age of a record at each stage (ingest_committed: since read from the log; dedup_fetched, dedup_committed: since produced to entries)",
  labelNames: ["stage"] as const,
  buckets: AGE_BUCKETS,
});

export const produceErrors = counter({
  name: "certstream_ingester_produce_errors_total",
  help: "Kafka produce/transaction errors, by stage and failure kind",
  labelNames: ["stage", "kind"] as const,
});

export const batchSize = histogram({
  name: "certstream_ingester_batch_entries",
  help: "Entries per committed transaction, by stage",
  labelNames: ["stage"] as const,
  buckets: BATCH_SIZE_BUCKETS,
});

export const fetchErrors = counter({
  name: "certstream_ingester_fetch_errors_total",
  help: "Failed head/entries fetches from CT logs, by failure kind",
  labelNames: ["log", "kind"] as const,
});

export const dedupEntries = counter({
  name: "certstream_dedup_entries_total",
  help: "Entries seen by the dedup stage, by outcome (forwarded, duplicate, unparsed)",
  labelNames: ["outcome"] as const,
});

export const dedupRatio = gauge({
  name: "certstream_dedup_ratio",
  help: "Share of parsed entries dropped as duplicates since start (0..1)",
});

export const dedupCacheSize = gauge({
  name: "certstream_dedup_cache_size",
  help: "Certificates remembered by the dedup seen-set, per assigned partition",
  labelNames: ["partition"] as const,
});

export const dedupCacheEvictions = counter({
  name: "certstream_dedup_cache_evictions_total",
  help: "Seen-set keys dropped by the capacity bound before their window ended (capacity too small)",
});

export const dedupRebuildSeconds = histogram({
  name: "certstream_dedup_rebuild_seconds",
  help: "Time to rebuild the seen-set of newly assigned partitions from the certs topic",
  buckets: FLUSH_BUCKETS,
});

export const stateDecodeFailures = counter({
  name: "certstream_ingester_state_decode_failures_total",
  help: "Records of the state topic that could not be decoded (skipped)",
});
