import {
  BATCH_SIZE_BUCKETS,
  counter,
  FLUSH_BUCKETS,
  gauge,
  histogram,
  WINDOW_BUCKETS,
} from "@certstream/metrics";

// The backfill job's metrics (issue 7 "Prometheus metrics while it runs", issue 8's lists for this area).
// Labels are bounded: log = log name from the log list, state/outcome/decision/kind = small fixed sets.
// The CT request side (latency, 429s, retries, circuit) is counted by libs/ct's own metrics.

export const backfillLogs = gauge<"state">({
  name: "certstream_backfill_logs",
  help: "Logs of this run by state (pending, running, completed, failed)",
  labelNames: ["state"],
});

export const backfillGapEntries = gauge<"log">({
  name: "certstream_backfill_gap_entries",
  help: "Entries missing from the archive per log when the run started (after removing what is already in flight)",
  labelNames: ["log"],
});

export const backfillRemainingEntries = gauge<"log">({
  name: "certstream_backfill_remaining_entries",
  help: "Entries of this run's gaps not yet produced to the backfill topic, per log",
  labelNames: ["log"],
});

export const backfillEntriesFetched = counter<"log">({
  name: "certstream_backfill_entries_fetched_total",
  help: "Entries fetched from CT logs and parsed by the backfill job",
  labelNames: ["log"],
});

export const backfillEntriesProduced = counter<"log">({
  name: "certstream_backfill_entries_produced_total",
  help: "Entries committed to the backfill topic (transactionally)",
  labelNames: ["log"],
});

export const backfillParseFailures = counter<"log" | "kind">({
  name: "certstream_backfill_parse_failures_total",
  help: "Backfilled entries whose certificate could not be parsed (still produced, with parse_error), by kind",
  labelNames: ["log", "kind"],
});

export const backfillWindows = counter<"log" | "outcome">({
  name: "certstream_backfill_windows_total",
  help: "Fetch windows finished per log, by outcome (ok, refused = the log refused part of it for good, failed)",
  labelNames: ["log", "outcome"],
});

export const backfillWindowDuration = histogram<"log">({
  name: "certstream_backfill_window_duration_seconds",
  help: "Time to fetch and parse one window of entries, including retries and Retry-After waits",
  labelNames: ["log"],
  buckets: WINDOW_BUCKETS,
});

export const backfillTransactions = counter<"outcome">({
  name: "certstream_backfill_transactions_total",
  help: "Kafka transactions of the backfill producers by outcome (committed, aborted, failed)",
  labelNames: ["outcome"],
});

export const backfillTransactionDuration = histogram({
  name: "certstream_backfill_transaction_duration_seconds",
  help: "Time from beginTransaction to commit for one batch of backfilled entries",
  buckets: FLUSH_BUCKETS,
});

export const backfillTransactionRecords = histogram({
  name: "certstream_backfill_transaction_records",
  help: "Records per backfill transaction",
  buckets: BATCH_SIZE_BUCKETS,
});

export const backfillProduceErrors = counter<"kind">({
  name: "certstream_backfill_produce_errors_total",
  help: "Failures producing to the backfill topic, by failure kind",
  labelNames: ["kind"],
});

export const backfillQueueDepth = gauge<"log">({
  name: "certstream_backfill_queue_depth",
  help: "Entries fetched and parsed but not yet committed to Kafka, per log (backpressure between fetch and produce)",
  labelNames: ["log"],
});

export const backfillGapScanDuration = gauge({
  name: "certstream_backfill_gap_scan_duration_seconds",
  help: "Duration of the last gap detection over the Delta table",
});

export const backfillGapScanFiles = counter<"decision">({
  name: "certstream_backfill_gap_scan_files_total",
  help: "Data files met by gap detection, by decision (stats = answered from file statistics, skipped, read)",
  labelNames: ["decision"],
});

export const backfillPendingEntries = gauge<"topic">({
  name: "certstream_backfill_pending_entries",
  help: "Entries found committed in a topic but not yet in the table at the start (excluded from the gaps)",
  labelNames: ["topic"],
});
