/**
 * The connected stream clients, whatever their transport: registered on connect, fed by the live fan-out or
 * first by a resume session, and released (fan-out, connection slot, resume slot) exactly once on disconnect.
 *
 * A client that asks to resume while no resume can start (Kafka not connected yet, every resume slot taken)
 * and may wait (SSE: a browser's EventSource gives up for good on a non-200 answer) keeps its stream open, is
 * sent `{"message_type":"waiting",...}` at once and every heartbeat interval, and starts in arrival order as
 * soon as a resume can.
 */
import type { Logger } from "@certstream/log";
import type { WebSocket } from "ws";
import type { Access, Refusal } from "./access.ts";
import type { CertsSource } from "./certs-source.ts";
import {
  type ClientEvents,
  type ClientLimits,
  type ClientSink,
  StreamClient,
  type Transport,
} from "./client.ts";
import { type Position, parseSince } from "./cursor.ts";
import type { Fanout } from "./fanout.ts";
import type { ClientFilter } from "./filters.ts";
import type { StreamerMetrics } from "./metrics.ts";
import { waitingMessage } from "./render.ts";
import { ResumeSession } from "./resume.ts";
import { STREAM_FORMATS, type StreamerSettings, type StreamFormat } from "./settings.ts";

export interface Connection {
  client: StreamClient;
  ws: WebSocket | null;
  resume: ResumeSession | null;
  /** Why the server ended it (slow, shutdown, ping_timeout, ...), for the disconnects counter. */
  closeReason: string | null;
  /** Answered the last ping (WebSocket). */
  alive: boolean;
}

export interface StreamConnectionsDeps {
  fanout: Fanout;
  /** Null in benchmarks that feed the fan-out directly: no resume ever starts. */
  source: CertsSource | null;
  access: Access;
  metrics: StreamerMetrics;
  log: Logger;
  settings(): StreamerSettings;
}

export class StreamConnections {
  readonly all = new Set<Connection>();
  /** Resume sessions in progress (each may hold a Kafka reader). */
  resumesActive = 0;
  readonly clientEvents: ClientEvents;
  private readonly deps: StreamConnectionsDeps;
  /** Clients waiting to resume, in arrival order, with their resume point. */
  private readonly waiting = new Map<Connection, string>();
  private startingWaiters = false;

  constructor(deps: StreamConnectionsDeps) {
    this.deps = deps;
    const drops = Object.fromEntries(STREAM_FORMATS.map((f) => [f, deps.metrics.dropped.labels(f)]));
    this.clientEvents = {
      dropped: (c, n) => drops[c.format].inc(n),
      slowDisconnect: (c) => {
        for (const conn of this.all) if (conn.client === c) conn.closeReason = "slow";
      },
    };
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  connect(
    format: StreamFormat,
    transport: Transport,
    ip: string,
    filter: ClientFilter | null,
    sink: ClientSink,
    ws: WebSocket | null,
  ): Connection {
    const client = new StreamClient({
      format,
      transport,
      ip,
      filter,
      sink,
      events: this.clientEvents,
      limits: clientLimits(this.deps.settings()),
    });
    const conn: Connection = { client, ws, resume: null, closeReason: null, alive: true };
    this.all.add(conn);
    return conn;
  }

  /** Why a resume cannot start now, or null when it can. */
  resumeBlocker(): Refusal | null {
    if (!this.deps.source?.ready())
      return { status: 503, reason: "cannot resume: not connected to Kafka yet", kind: "not_ready" };
    if (this.resumesActive >= this.deps.settings().streamer.resume_max_concurrent)
      return { status: 503, reason: "too many resumes in progress, retry", kind: "resume_busy" };
    return null;
  }

  /** Live feed now (no resume point), a resume now, or a wait for one (see the module comment). */
  begin(conn: Connection, since: string | null): void {
    if (since === null) {
      this.deps.fanout.add(conn.client);
      return;
    }
    const blocked = this.resumeBlocker();
    if (blocked) {
      this.waiting.set(conn, since);
      conn.client.notice(waitingMessage(Date.now(), blocked.reason), Date.now());
      this.deps.log.debug({ ip: conn.client.ip, reason: blocked.reason }, "client waits to resume");
      return;
    }
    this.resume(conn, since);
  }

  /** Starts the waiting clients a resume can take now; called when Kafka connects and when a resume ends. */
  startWaiting(): void {
    if (this.startingWaiters) return;
    this.startingWaiters = true;
    try {
      for (const [conn, since] of this.waiting) {
        if (this.resumeBlocker() !== null) break;
        this.waiting.delete(conn);
        if (!conn.client.closed) this.resume(conn, since);
      }
    } finally {
      this.startingWaiters = false;
    }
  }

  /** Tells every waiting client again that it waits (a heartbeat for it and for proxies on the way). */
  noticeWaiting(now: number): void {
    if (this.waiting.size === 0) return;
    const reason = this.resumeBlocker()?.reason ?? "starting";
    const message = waitingMessage(now, reason);
    for (const conn of this.waiting.keys()) conn.client.notice(message, now);
  }

  private resume(conn: Connection, since: string): void {
    const { fanout, metrics, log } = this.deps;
    const source = this.deps.source as CertsSource; // resumeBlocker() was null: a source is ready
    this.resumesActive++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.resumesActive--;
      this.startWaiting();
    };
    conn.client.onClose = release;
    void (async () => {
      let start: Position;
      try {
        const parsed = parseSince(since);
        start = "cursor" in parsed ? parsed.cursor : await source.offsetsForTimestamp(parsed.timestampMs);
      } catch (err) {
        release();
        metrics.resumes.inc({ outcome: "failed" });
        log.warn({ err }, "resume position lookup failed; client joins the live feed");
        if (!conn.client.closed) fanout.add(conn.client);
        return;
      }
      conn.resume = new ResumeSession({
        client: conn.client,
        start,
        fanout,
        source,
        heartbeatMs: this.deps.settings().streamer.heartbeat_interval_secs * 1000,
        observer: {
          caughtUp: (_c, replayed, ms, from) => {
            release();
            conn.resume = null;
            metrics.resumes.inc({ outcome: from === "memory" ? "caught_up_memory" : "caught_up_kafka" });
            metrics.replayed.inc(replayed);
            log.debug({ replayed, ms, from }, "resumed client caught up with the live feed");
          },
          failed: (_c, err) => {
            release();
            conn.resume = null;
            metrics.resumes.inc({ outcome: "failed" });
            metrics.errors.inc({ kind: "resume" });
            log.warn({ err }, "resume reader failed; closing the client so it retries");
            conn.closeReason ??= "resume_failed";
            conn.client.close(1011, "resume failed, retry");
          },
        },
      });
      if (conn.client.closed) {
        release();
        return;
      }
      await conn.resume.start();
    })();
  }

  /** Idempotent: the first call releases what the connection holds and counts the disconnect. */
  disconnect(conn: Connection, reason: string): void {
    if (!this.all.delete(conn)) return;
    this.waiting.delete(conn);
    conn.client.release();
    conn.client.onClose?.();
    conn.resume?.cancel();
    this.deps.fanout.remove(conn.client);
    this.deps.access.release(conn.client.ip);
    this.deps.metrics.disconnects.inc({ stream: conn.client.format, reason: conn.closeReason ?? reason });
  }

  /** WebSocket keepalive: terminates a client that did not answer the previous ping, pings the others. */
  pingAll(): void {
    for (const c of this.all) {
      if (!c.ws) continue;
      if (!c.alive) {
        c.closeReason ??= "ping_timeout";
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** Shutdown: closes every client with `code` (they reconnect elsewhere, with their cursor). */
  closeAll(code: number, reason: string): void {
    for (const c of this.all) {
      c.closeReason ??= "shutdown";
      c.resume?.cancel();
      c.client.close(code, reason);
    }
  }

  /** Bytes queued for the clients of `format`. */
  bufferedBytes(format: StreamFormat): number {
    let n = 0;
    for (const c of this.all) if (c.client.format === format) n += c.client.buffered();
    return n;
  }

  /** New client limits for every client now (hot reload). */
  setLimits(s: StreamerSettings): void {
    const limits = clientLimits(s);
    for (const c of this.all) c.client.setLimits(limits);
  }
}

function clientLimits(s: StreamerSettings): ClientLimits {
  return {
    limitBytes: s.streamer.client_buffer_bytes,
    maxDropped: s.streamer.slow_client_max_dropped,
    windowMs: s.streamer.slow_client_window_secs * 1000,
  };
}
