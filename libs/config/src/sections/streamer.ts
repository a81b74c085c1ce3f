import { bool, int, optStr, section, str, strs } from "../spec.ts";

export const auth = section({
  enabled: bool(false),
  tokens: strs(),
  header_name: str("Authorization"),
});

export const connection_limit = section({
  enabled: bool(false),
  max_connections: int(10_000, { min: 1 }),
  per_ip_limit: int(100, { min: 1 }),
});

export const rate_limit = section({
  enabled: bool(false),
  /** HTTP requests per second per client IP (token bucket), with a burst. */
  requests_per_second: int(20, { min: 1 }),
  burst: int(40, { min: 1 }),
});

export const hot_reload = section({
  enabled: bool(false),
  /** File to watch; defaults to the config file in use. */
  watch_path: optStr(),
});

export const streamer = section({
  heartbeat_interval_secs: int(10, { min: 1, max: 14 }),
  /**
   * Bytes queued for one client (held by the server and by its socket) before messages to it are dropped. The
   * dropped messages are counted and the client is told how many once it can receive again.
   */
  client_buffer_bytes: int(4 * 1024 * 1024, { min: 1024 }),
  /**
   * A client that has dropped more than this many messages within `slow_client_window_secs` gets a last
   * `dropped` notice and is closed with 4008 (0: at its first drop). A burst that overflows a buffer now and
   * then costs the client messages, not its connection.
   */
  slow_client_max_dropped: int(10_000, { min: 0 }),
  /** The window over which a client's drops are counted (sliding, in sixths). */
  slow_client_window_secs: int(60, { min: 1, max: 3600 }),
  /**
   * After the server closes a client (4008 too slow, 1011 resume failed), how long the client has to take the
   * bytes already in flight ahead of the close: one that takes none in this time is not reading, and its
   * connection is destroyed. (One that does gets the WebSocket close timeout, 30 s, for the rest.)
   */
  close_grace_ms: int(5000, { min: 0, max: 60_000 }),
  max_frame_bytes: int(64 * 1024, { min: 128 }),
  latest_size: int(25, { min: 1, max: 1000 }),
  shutdown_timeout_ms: int(5000, { min: 0 }),
  /** WebSocket ping period; a client that has not answered the previous ping is terminated. */
  ping_interval_secs: int(30, { min: 1 }),
  /**
   * Writes to a client are gathered for this long and sent in one syscall (0 = after each event-loop turn, i.e.
   * after each fan-out slice of at most 10 ms): fewer syscalls at the price of this much added latency. 0 by
   * default: the fan-out's CPU goes into the bytes the kernel copies, not the syscalls (bench/fanout.bench.ts:
   * ~600k deliveries per core-second at 0, 25 and 100 ms alike), so waiting only adds latency.
   */
  write_coalesce_ms: int(0, { min: 0, max: 1000 }),
  /**
   * Recent certificates kept in memory so that a resume from a recent cursor (a client whose replica just died)
   * needs no Kafka reader; 0 = off. Memory: ~2 kB a record (its Avro encoding without the chain; chain
   * certificates are kept once, shared by the records that have them), plus the frames a replay built for the
   * formats resumed (services/streamer/src/replay-buffer.ts).
   */
  replay_buffer_size: int(2000, { min: 0, max: 1_000_000 }),
  /** Resumes from Kafka (each a temporary Kafka reader) in progress at once; more get 503 and retry. */
  resume_max_concurrent: int(32, { min: 1 }),
  /**
   * Ingester APIs (`http://ingester:8081/api/logs`) asked every 5 s for the dedup stage's counters, so that
   * /api/stats and the live page show which share of CT log entries were dropped as already seen. Empty: the
   * share is not shown (`dedup: null`).
   */
  dedup_stats_urls: strs(),
});
