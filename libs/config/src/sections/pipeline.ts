import { bool, int, map, optStr, section, str, strs } from "../spec.ts";

export const kafka = section({
  brokers: strs(["127.0.0.1:19092"]),
  client_id: str("certstream"),
  schema_registry_url: str("http://127.0.0.1:18081/apis/ccompat/v7", { url: true }),
  partitions: int(6, { min: 1 }),
  /**
   * Replicas of every topic the services create. From 2 on, the data topics and the state topic also get
   * `min.insync.replicas` = RF-1, at most 2 (RF 3: an acknowledged write is on two brokers, and writes go on
   * with one broker down); the producers write with acks=all. Existing topics are left as they are.
   */
  replication_factor: int(1, { min: 1 }),
  topics: section({
    entries: str("certstream.entries.v1"),
    certs: str("certstream.certs.v1"),
    backfill: str("certstream.backfill.v1"),
    state: str("certstream.ingester.state"),
  }),
  /** Retention of the certs topic: how far back clients can resume. */
  certs_retention_ms: int(24 * 3600 * 1000, { min: 60_000 }),
  create_topics: bool(true),
});

export const dedup = section({
  enabled: bool(true),
  /** Upper bound on remembered certificates; the oldest are forgotten first. */
  capacity: int(5_000_000, { min: 1 }),
  ttl_secs: int(3600, { min: 1 }),
});

export const ingester = section({
  /** HTTP port for /api/logs, /health, /metrics. */
  port: int(8081, { min: 0, max: 65535 }),
  group_id: str("certstream-ingester"),
  dedup_group_id: str("certstream-dedup"),
  /** Identifies this replica in /api/logs; defaults to hostname-pid. */
  replica_id: optStr(),
  /**
   * Replicas share the logs through group membership on this topic (never written to): a log belongs to
   * partition hash(log id) mod coordination_partitions, and each partition has one owner in the group.
   */
  coordination_topic: str("certstream.ingester.logs"),
  coordination_partitions: int(64, { min: 1, max: 10_000 }),
  /** A replica that stops heartbeating loses its logs after this long. */
  session_timeout_ms: int(10_000, { min: 3_000, max: 300_000 }),
  heartbeat_interval_ms: int(2_000, { min: 100 }),
  /** transactional.id = `<prefix>-<log id>` (ingest) and `<dedup prefix>-<entries topic>-<partition>` (dedup). */
  transactional_id_prefix: str("certstream-ingester"),
  dedup_transactional_id_prefix: str("certstream-dedup"),
  transaction_timeout_ms: int(30_000, { min: 1_000 }),
  /** Entries per transaction (one batch of one log, plus its position). */
  max_batch_entries: int(1000, { min: 1, max: 100_000 }),
  /**
   * Entries partitions the dedup stage processes at once (each its own transaction on its own producer): as many
   * as the topic has (kafka.partitions), so that an ingest batch spread over every partition reaches `certs` in
   * one round of transactions, not one round per two partitions.
   */
  dedup_partitions_concurrency: int(6, { min: 1, max: 64 }),
  /** Run the log watchers in this process (off: a dedup-only replica). */
  watchers_enabled: bool(true),
});

export const delta_sink = section({
  enabled: bool(true),
  port: int(8082, { min: 0, max: 65535 }),
  /** Local directory of the table; used when table_uri is empty. */
  table_path: str("./data/certstream"),
  /**
   * Where the table lives: `s3://bucket/prefix` (S3 or an S3-compatible store) or a local path; empty = table_path.
   * Every sink replica, the backfill job and optimize/vacuum of one deployment use the same URI.
   */
  table_uri: str(""),
  /**
   * Object store settings, named as delta-rs names them: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
   * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ALLOW_HTTP, AWS_VIRTUAL_HOSTED_STYLE_REQUEST. Each one not set
   * here is read from the environment variable of the same name; credentials left out come from the AWS SDK's
   * default chain (environment, profile, web identity for Kubernetes service accounts, instance metadata).
   */
  storage_options: map(str("")),
  group_id: str("certstream-delta-sink"),
  batch_size: int(10_000, { min: 1 }),
  max_batch_bytes: int(64 * 1024 * 1024, { min: 1024 }),
  flush_interval_secs: int(10, { min: 1 }),
  checkpoint_interval: int(10, { min: 1 }),
  /** txn appId prefix: `<app_id>-<topic>-<partition>`. Unique per table; never change it on a live table. */
  app_id: str("certstream-delta-sink"),
  /** Records held while Delta writes fail; at this size consumption pauses (the backlog stays in Kafka). */
  max_buffered_records: int(100_000, { min: 1 }),
  /** Longest wait between retries of a failed flush or of opening the table. */
  retry_max_backoff_secs: int(30, { min: 1 }),
  /** Consumer group session timeout: how long a dead replica keeps its partitions. */
  session_timeout_ms: int(30_000, { min: 6_000, max: 300_000 }),
  /** `optimize`: size a compacted file aims at. */
  optimize_target_file_mb: int(128, { min: 1 }),
});

export const backfill = section({
  /** /metrics while the job runs (0 = a free port). */
  port: int(8083, { min: 0, max: 65535 }),
  /** Windows in flight per log (each one fetch + one Kafka transaction). */
  concurrency: int(4, { min: 1, max: 64 }),
  /** Entries per window; window boundaries fall on multiples of it (keep it a multiple of 256 for tiles). */
  window_size: int(1024, { min: 1 }),
  /** Logs backfilled at the same time; the others wait (memory ≈ logs × concurrency × window_size entries). */
  max_parallel_logs: int(16, { min: 1 }),
  /** Prefix of the per-log transactional ids: a re-run for a log fences the previous run's producer. */
  transactional_id_prefix: str("certstream-backfill"),
  transaction_timeout_ms: int(60_000, { min: 1000 }),
  /** Consecutive failed requests (network, timeout, 5xx) after which a log is given up (its run fails). */
  unreachable_after_failures: int(8, { min: 1 }),
  /** Longest wait for reading a topic's committed tail (an open transaction holds read_committed back). */
  read_timeout_secs: int(120, { min: 1 }),
  /** --wait: longest wait for the delta sink to write everything produced. */
  wait_timeout_secs: int(900, { min: 1 }),
  /** Progress log lines when stdout is not a terminal. */
  progress_interval_secs: int(10, { min: 1 }),
  /** Longest wait for each dependency at the start: the CT log list, Kafka, the schema registry. */
  connect_timeout_secs: int(20, { min: 1 }),
  /**
   * On a terminal the job's log goes to this file (appended), not among the progress bars; warnings are counted
   * and summarised after them. Empty: certstream-backfill.log in the system's temporary directory.
   */
  terminal_log_path: str(""),
});
