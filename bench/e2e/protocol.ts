/**
 * What bench/e2e-latency.bench.ts and its client workers (bench/e2e/client-worker.ts) say to each other over
 * the fork IPC channel. Every request carries an id that its reply repeats.
 */

/** The worker's argv[2], as JSON. */
export interface WorkerConfig {
  /** ws://host:port/path of the stream (lite `/` or `/full-stream`). */
  url: string;
  /** Global id of the worker's first client (ids are unique across workers; they pick the sampled frames). */
  firstId: number;
  clients: number;
  /** A certificate frame is sampled for latency when (client id + cert_index) % sampleEvery === 0. */
  sampleEvery: number;
  /** Handshakes in flight at once while connecting. */
  connectConcurrency: number;
}

export type WorkerRequest =
  /** Start of the measured window: count certificates of cert_index in [from, from + capacity) per client. */
  | { type: "start"; id: number; from: number; capacity: number }
  /** Totals so far (cheap; for the progress line and the end of the growth phase). */
  | { type: "snapshot"; id: number }
  /** Everything measured since `start`; `to`: first cert_index past the window (what each client should have). */
  | { type: "report"; id: number; to: number }
  /** Close every connection and exit. */
  | { type: "exit"; id: number };

/** Sent once every client has had its first connection attempt. */
export interface ReadyMessage {
  type: "ready";
  connected: number;
}

export interface SnapshotReply {
  type: "snapshot";
  id: number;
  /** Certificate frames received since `start`. */
  frames: number;
  /** Distinct (client, cert_index) of the window received so far. */
  received: number;
  connected: number;
}

export interface WorkerReport {
  type: "report";
  id: number;
  /** Certificate frames received since `start` (any cert_index). */
  frames: number;
  /** Bytes received since `start` (all frames, WebSocket framing included). */
  bytes: number;
  /** Certificate frames whose cert_index was already received by that client (inside the window). */
  duplicates: number;
  /** Certificate frames of a cert_index outside the window (before it, or past its capacity). */
  outOfWindow: number;
  /** Certificate frames without a readable cert_index. */
  unreadable: number;
  heartbeats: number;
  /** `dropped` notices (the streamer dropped certificates for a slow client). */
  droppedNotices: number;
  otherMessages: number;
  /** Per client: share of the window's cert_index values [from, to) it received (0..1). */
  shares: number[];
  /** Clients connected now. */
  connected: number;
  /** Clients that lost a connection (closed by the server, or the TCP connection ended) since `start`. */
  clientsCutOff: number;
  /** Clients connected at `start` that kept that one connection until now. */
  kept: number;
  /** Successful re-connections since `start`. */
  reconnects: number;
  /** Close codes seen since `start` ("1006": TCP closed without a close frame). */
  closeCodes: Record<string, number>;
  /** Refused or failed handshakes since `start` ("http 503", "ECONNRESET", ...). */
  handshakeFailures: Record<string, number>;
  /** Sampled frames, flattened: cert_index, receive time (ms), seen (ms), submission_timestamp (ms). */
  samples: number[];
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Event-loop delay over the window: a saturated worker reads frames late (and reports latency it added). */
  loopP99Ms: number;
  loopMaxMs: number;
}

export type WorkerReply = SnapshotReply | WorkerReport | { type: "exit"; id: number };
