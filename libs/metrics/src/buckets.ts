// Histogram bucket sets, chosen for what they time (seed 003: 1 ms to 10 s for requests; longer for
// flushes and backfill windows). Use these rather than ad-hoc lists so dashboards' quantiles compare.

/** Requests and round trips: HTTP handlers, CT fetches, Kafka produce, registry calls. 1 ms .. 10 s. */
export const REQUEST_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Flushes and commits: Delta batch flushes, Kafka transactions, checkpoints. 10 ms .. 5 min. */
export const FLUSH_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/** Long units of work: backfill windows, gap scans, table scans. 100 ms .. 1 h. */
export const WINDOW_BUCKETS: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Counts per batch (entries per fetch, rows per flush, records per produce). 1 .. 100k. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [
  1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 100000,
];

/** Sizes in bytes (messages, files). 256 B .. 512 MiB. */
export const BYTES_BUCKETS: readonly number[] = [
  256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 536870912,
];

/**
 * Ages of records along the pipeline (now − when the ingester produced them): fine where the stream's latency
 * goal lies (a p99 under 500 ms from the log to the client). 5 ms .. 30 s.
 */
export const AGE_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30,
];
