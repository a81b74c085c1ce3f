// The delta sink's metrics (seed 000's list as certstream_delta_*, plus what exactly-once needs to be watched).
// Consumer lag per partition goes to the shared certstream_kafka_consumer_lag_messages{group,topic,partition}.
import { BATCH_SIZE_BUCKETS, counter, FLUSH_BUCKETS, gauge, histogram } from "@certstream/metrics";

export const recordsWritten = counter({
  name: "certstream_delta_records_written_total",
  help: "Rows committed to the Delta table",
});

export const flushes = counter({
  name: "certstream_delta_flushes_total",
  help: "Successful flushes (one Delta commit each)",
});

export const writeErrors = counter({
  name: "certstream_delta_write_errors_total",
  help: "Failed flush attempts and table opens, by failure kind (storage, conflict, ...); the batch is kept and retried",
  labelNames: ["kind"],
});

export const bufferSize = gauge({
  name: "certstream_delta_buffer_size",
  help: "Records buffered and not yet committed to Delta",
});

export const flushDuration = histogram({
  name: "certstream_delta_flush_duration_seconds",
  help: "Time to write the Parquet files and commit one flush",
  buckets: FLUSH_BUCKETS,
});

export const flushRows = histogram({
  name: "certstream_delta_flush_rows",
  help: "Rows per flush",
  buckets: BATCH_SIZE_BUCKETS,
});

export const commitConflicts = counter({
  name: "certstream_delta_commit_conflicts_total",
  help: "Delta commits that lost a put-if-absent race (retried at the next version)",
});

export const txnConflicts = counter({
  name: "certstream_delta_txn_conflicts_total",
  help: "Flushes refused because another writer advanced a partition's txn version (batch dropped, partition re-sought)",
});

export const bytesWritten = counter({
  name: "certstream_delta_bytes_written_total",
  help: "Bytes of Parquet data files committed",
});

export const filesWritten = counter({
  name: "certstream_delta_files_written_total",
  help: "Parquet data files committed",
});

export const checkpoints = counter({
  name: "certstream_delta_checkpoints_total",
  help: "Checkpoint attempts by result (success, failure)",
  labelNames: ["result"],
});

export const recordsRejected = counter({
  name: "certstream_delta_records_rejected_total",
  help: "Kafka records that could not be decoded into a CertificateEntry (counted, logged, skipped)",
  labelNames: ["kind"],
});

export const recordsSkipped = counter({
  name: "certstream_delta_records_skipped_total",
  help: "Records at or below the table's txn version for their partition (already in the table)",
});

export const tableReady = gauge({
  name: "certstream_delta_table_ready",
  help: "1 when the Delta table is open and writable, 0 while it cannot be opened or created",
});

export const paused = gauge({
  name: "certstream_delta_consumption_paused",
  help: "1 while consumption is paused because the buffer is full and flushes are failing",
});

export const optimizeFiles = counter({
  name: "certstream_delta_optimize_files_total",
  help: "Files removed and added by optimize",
  labelNames: ["action"],
});
