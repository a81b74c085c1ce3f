/**
 * The streamer's HTTP server: one fastify instance; WebSocket upgrades are taken on its 'upgrade' event
 * (checked — rate, auth, filters, limits — before any upgrade), SSE streams hijack their reply. Both kinds of
 * client end up as StreamClients in the shared Fanout (or first in a ResumeSession).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@certstream/log";
import {
  HealthState,
  healthStatus,
  registerHttpMetrics,
  registerMetricsRoute,
  setConsumerLag,
} from "@certstream/metrics";
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { type WebSocket, WebSocketServer } from "ws";
import { Access, type Refusal } from "./access.ts";
import type { CertsSource } from "./certs-source.ts";
import { CLOSE_GOING_AWAY, type ClientEvents, type ClientSink, StreamClient } from "./client.ts";
import { CursorError, type Position, parseSince } from "./cursor.ts";
import { Fanout } from "./fanout.ts";
import { ClientFilter, FilterError } from "./filters.ts";
import { sseEvent, wsTextFrame } from "./frames.ts";
import { type StreamerMetrics, setStatsSource, streamerMetrics } from "./metrics.ts";
import { renderFormat } from "./render.ts";
import { parseRequestTarget, type RequestTarget } from "./request-target.ts";
import { ResumeSession } from "./resume.ts";
import { STREAM_FORMATS, type StreamerSettings, type StreamFormat, streamEnabled } from "./settings.ts";
import { WriteBatch } from "./write-batch.ts";

const WS_PATHS: Record<string, StreamFormat> = {
  "/": "lite",
  "/full-stream": "full",
  "/full-stream/": "full",
  "/domains-only": "domains",
  "/domains-only/": "domains",
};
const SSE_STREAMS: Record<string, StreamFormat> = {
  lite: "lite",
  full: "full",
  domains: "domains",
  "domains-only": "domains",
  domains_only: "domains",
};
/** Probes and scrapes are never rate limited or authenticated. */
const OPEN_ROUTES = new Set(["/health", "/health/ready", "/metrics"]);
const LIVE_PAGE = readFileSync(new URL("./live-page.html", import.meta.url), "utf8");

export interface StreamerServerOptions {
  settings: StreamerSettings;
  logger: Logger;
  /** Null in benchmarks that feed the fan-out directly (no resume, never "ready" on Kafka). */
  source: CertsSource | null;
  topic?: string;
  /** The process's health (certstream_health_status{service}); by default one for service "streamer". */
  health?: HealthState;
}

interface Connection {
  client: StreamClient;
  ws: WebSocket | null;
  resume: ResumeSession | null;
  closeReason: string | null;
  alive: boolean;
}

class RequestError extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.reason);
    this.refusal = refusal;
  }
}

export class StreamerServer {
  readonly fanout: Fanout;
  readonly app: FastifyInstance;
  readonly metrics: StreamerMetrics;
  /** Live until shutdown; ready while Kafka is reachable and the live reader holds every partition. */
  readonly health: HealthState;
  private settings: StreamerSettings;
  private readonly access: Access;
  private readonly log: Logger;
  private readonly source: CertsSource | null;
  private readonly topic: string;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly timers: NodeJS.Timeout[] = [];
  private draining = false;
  /** Last periodic high-watermark read succeeded (readiness needs Kafka reachable, not only joined). */
  private kafkaReachable = true;
  private resumesActive = 0;
  private lag = new Map<number, number>();
  private rate = { perSecond: 0, lastCount: 0, lastAt: Date.now() };
  private readonly clientEvents: ClientEvents;
  private readonly writeBatch: WriteBatch;

  constructor(opts: StreamerServerOptions) {
    this.settings = opts.settings;
    this.log = opts.logger;
    this.source = opts.source;
    this.topic = opts.topic ?? "certs";
    this.health = opts.health ?? new HealthState({ logger: opts.logger, service: "streamer" });
    this.source?.onStateChange(() => this.refreshHealth());
    this.access = new Access(opts.settings);
    this.writeBatch = new WriteBatch(opts.settings.streamer.write_coalesce_ms);
    this.metrics = streamerMetrics;
    setStatsSource({
      connections: (f, t) => this.fanout.count(f, t),
      bufferedBytes: (f) => {
        let n = 0;
        for (const c of this.connections) if (c.client.format === f) n += c.client.buffered();
        return n;
      },
    });
    const m = this.metrics;
    const deliveries = Object.fromEntries(STREAM_FORMATS.map((f) => [f, m.deliveries.labels(f)]));
    const drops = Object.fromEntries(STREAM_FORMATS.map((f) => [f, m.dropped.labels(f)]));
    this.fanout = new Fanout(
      {
        delivered: (f, n) => deliveries[f].inc(n),
        renderFailed: (f, entry, err) => {
          m.errors.inc({ kind: "render" });
          this.log.warn(
            { err, format: f, log: entry.log.url, index: entry.index },
            "render failed; certificate skipped",
          );
        },
      },
      opts.settings.streamer.latest_size,
      opts.settings.streamer.replay_buffer_size,
    );
    this.clientEvents = {
      dropped: (c, n) => drops[c.format].inc(n),
      slowDisconnect: (c) => {
        for (const conn of this.connections) if (conn.client === c) conn.closeReason = "slow";
      },
    };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.settings.streamer.max_frame_bytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.app = fastify({
      logger: false,
      bodyLimit: 4096,
      return503OnClosing: true,
      forceCloseConnections: false,
    });
    this.routes();
    this.app.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  async listen(): Promise<number> {
    await this.app.listen({ host: this.settings.host, port: this.settings.port });
    const addr = this.app.server.address();
    const port = typeof addr === "object" && addr ? addr.port : this.settings.port;
    this.startTimers();
    this.log.info({ host: this.settings.host, port }, "streamer listening");
    return port;
  }

  /** Wire the live Kafka reader into the fan-out. */
  async startSource(): Promise<void> {
    const src = this.source;
    if (!src) return;
    await src.start(
      (r) => {
        this.metrics.records.inc();
        this.fanout.publish(r.entry, r.partition, r.offset, Date.now());
      },
      () => this.fanout.position,
      (floor) => this.fanout.setFloor(floor),
      (partition, next) => this.fanout.advance(partition, next),
    );
  }

  /** Hot reload: limits, auth and frame size apply to the next request; buffer limits to every client now. */
  applySettings(s: StreamerSettings): void {
    this.access.update(s);
    this.settings = { ...this.settings, ...s, host: this.settings.host, port: this.settings.port };
    this.wss.options.maxPayload = s.streamer.max_frame_bytes;
    this.writeBatch.intervalMs = s.streamer.write_coalesce_ms;
    for (const c of this.connections)
      c.client.setLimits(s.streamer.client_buffer_bytes, s.streamer.slow_client_grace_ms);
  }

  stats() {
    const clients = Object.fromEntries(
      STREAM_FORMATS.map((f) => [
        f,
        { websocket: this.fanout.count(f, "ws"), sse: this.fanout.count(f, "sse") },
      ]),
    );
    let lagTotal = 0;
    for (const v of this.lag.values()) lagTotal += v;
    return {
      clients,
      total_clients: this.connections.size,
      resuming_clients: this.resumesActive,
      messages_per_second: Math.round(this.rate.perSecond * 100) / 100,
      certificates_total: this.fanout.published,
      consumer_lag: { total: lagTotal, partitions: Object.fromEntries(this.lag) },
      ready: this.source?.ready() ?? false,
    };
  }

  /**
   * Graceful shutdown: refuse new work, close every client with 1001 "going away" (they reconnect elsewhere),
   * stop the Kafka readers, and give up waiting after shutdown_timeout_secs.
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.health.setLive(false, "shutting down", { clients: this.connections.size });
    this.refreshHealth();
    for (const t of this.timers) clearInterval(t);
    this.app.server.close();
    for (const c of this.connections) {
      c.closeReason ??= "shutdown";
      c.resume?.cancel();
      c.client.close(CLOSE_GOING_AWAY, "going away");
    }
    const deadline = Date.now() + this.settings.streamer.shutdown_timeout_ms;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of this.connections) c.ws?.terminate();
    this.app.server.closeAllConnections();
    await Promise.race([
      Promise.all([this.source?.stop(), this.app.close()]),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
  }

  // ---------------------------------------------------------------------------------------------------------

  private startTimers(): void {
    const s = this.settings;
    this.timers.push(
      setInterval(() => this.fanout.heartbeat(Date.now()), s.streamer.heartbeat_interval_secs * 1000),
    );
    this.timers.push(setInterval(() => this.fanout.sweep(Date.now()), 500));
    this.timers.push(setInterval(() => this.pingAll(), s.streamer.ping_interval_secs * 1000));
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        const n = this.fanout.published;
        this.rate.perSecond = ((n - this.rate.lastCount) * 1000) / Math.max(1, now - this.rate.lastAt);
        this.rate.lastCount = n;
        this.rate.lastAt = now;
        this.access.evictIdle(now);
        void this.updateLag();
      }, 5000),
    );
    for (const t of this.timers) t.unref();
  }

  private async updateLag(): Promise<void> {
    if (!this.source) return;
    this.refreshHealth();
    try {
      const high = await this.source.highWatermarks();
      this.kafkaReachable = true;
      this.refreshHealth();
      for (const [p, h] of high) {
        const lag = Math.max(0, h - (this.fanout.position.get(p) ?? h));
        this.lag.set(p, lag);
        setConsumerLag("streamer", this.topic, p, lag);
      }
    } catch (err) {
      this.kafkaReachable = false;
      this.metrics.errors.inc({ kind: "kafka" });
      this.log.warn({ err }, "could not read high watermarks; lag not updated");
      this.refreshHealth();
    }
  }

  /** Readiness now, with the reason (reported by /health/ready and logged on transitions). */
  private readiness(): { ready: boolean; reason: string } {
    const src = this.source;
    if (this.draining) return { ready: false, reason: "shutting down" };
    if (!src) return { ready: false, reason: "no kafka source" };
    if (!this.kafkaReachable) return { ready: false, reason: "kafka unreachable" };
    const { connected, assigned, partitions } = src.state();
    if (!connected)
      return { ready: false, reason: this.health.ready ? "kafka connection lost" : "kafka not connected" };
    if (partitions === 0) return { ready: false, reason: "topic partitions not known yet" };
    if (assigned < partitions)
      return {
        ready: false,
        reason: this.health.ready ? "partitions lost" : "waiting for partition assignment",
      };
    return { ready: true, reason: "all partitions assigned" };
  }

  /**
   * Sets the HealthState from the source, which logs every transition with its reason and the per-partition
   * state. Called on source events, on the lag poll, on probes and on scrapes, so the gauge is never stale.
   */
  private refreshHealth(): { ready: boolean; reason: string } {
    const r = this.readiness();
    if (r.ready !== this.health.ready) {
      const state = this.source?.state();
      const assigned = this.source?.assignedPartitions() ?? [];
      const all = Array.from({ length: state?.partitions ?? 0 }, (_, p) => p);
      this.health.setReady(r.ready, r.reason, {
        topic: this.topic,
        connected: state?.connected ?? false,
        kafka_reachable: this.kafkaReachable,
        partitions: state?.partitions ?? 0,
        assigned_partitions: assigned,
        missing_partitions: all.filter((p) => !assigned.includes(p)),
        lag: Object.fromEntries(this.lag),
      });
    }
    return r;
  }

  /**
   * The scraped certstream_health_status is this server's state now, not as of the last poll. The gauge is one
   * per process and service: republished here so that, with several servers in one process (tests), a scrape
   * reports the server scraped.
   */
  private publishHealth(): void {
    this.refreshHealth();
    const status = this.health.status;
    healthStatus.set({ service: "streamer" }, status === "healthy" ? 1 : status === "degraded" ? 0.5 : 0);
  }

  private pingAll(): void {
    for (const c of this.connections) {
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

  private routes(): void {
    const app = this.app;
    const _m = this.metrics;
    registerHttpMetrics(app);
    app.addHook("onRequest", async (req, reply) => {
      const path = req.url.split("?")[0];
      if (OPEN_ROUTES.has(path)) {
        // the scraped certstream_health_status is current, not as of the last poll
        if (path === "/metrics") this.publishHealth();
        return;
      }
      const ip = this.access.clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
      const refusal = this.access.checkRate(ip, Date.now());
      if (refusal) return this.refuseReply(reply, refusal);
    });
    const p = this.settings.protocols;
    app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(LIVE_PAGE));
    if (p.health) {
      app.get("/health", async (_req, reply) =>
        this.health.live
          ? reply.send({ status: "ok" })
          : reply.code(503).send({ status: "down", reason: this.health.snapshot().reasons.live }),
      );
      app.get("/health/ready", async (_req, reply) => {
        const state = this.source?.state() ?? { connected: false, assigned: 0, partitions: 0 };
        const { ready, reason } = this.refreshHealth();
        return reply.code(ready ? 200 : 503).send({
          status: ready ? "ready" : "not_ready",
          reason,
          draining: this.draining,
          kafka_reachable: this.kafkaReachable,
          ...state,
        });
      });
    }
    if (p.metrics) {
      registerMetricsRoute(app, "/metrics");
    }
    if (p.example_json) {
      app.get("/example.json", async (req, reply) => {
        if (!this.authorized(req, reply)) return reply;
        const newest = this.fanout.newest();
        if (newest.length === 0) return reply.code(503).send({ error: "no certificate seen yet" });
        return reply
          .type("application/json")
          .header("access-control-allow-origin", "*")
          .send(renderFormat(newest[newest.length - 1], "lite"));
      });
      app.get("/latest.json", async (req, reply) => {
        if (!this.authorized(req, reply)) return reply;
        const parts: string[] = [];
        for (const e of this.fanout.newest()) {
          try {
            parts.unshift(renderFormat(e, "lite").toString("utf8"));
          } catch {
            // counted when the live feed rendered it
          }
        }
        return reply
          .type("application/json")
          .header("access-control-allow-origin", "*")
          .send(`{"messages":[${parts.join(",")}]}`);
      });
    }
    if (p.api) {
      app.get("/api/stats", async (_req, reply) =>
        reply.header("access-control-allow-origin", "*").send(this.stats()),
      );
    }
    if (p.sse) app.get("/sse", (req, reply) => this.onSse(req, reply));
  }

  private authorized(req: FastifyRequest, reply: FastifyReply): boolean {
    const token = parseRequestTarget(req.url)?.query.get("token") ?? null;
    const refusal = this.access.checkAuth(req.headers, token);
    if (!refusal) return true;
    this.refuseReply(reply, refusal);
    return false;
  }

  private refuseReply(reply: FastifyReply, r: Refusal): FastifyReply {
    this.metrics.refused.inc({ kind: r.kind });
    if (r.status === 401) reply.header("www-authenticate", "Bearer");
    if (r.status === 429) reply.header("retry-after", "1");
    return reply.code(r.status).send({ error: r.reason });
  }

  /** Everything a stream request must pass, in order; throws RequestError with the HTTP refusal. */
  private admit(
    url: RequestTarget,
    headers: IncomingMessage["headers"],
    ip: string,
    since: string | null,
    rateChecked: boolean,
  ): { filter: ClientFilter | null; since: string | null } {
    if (this.draining)
      throw new RequestError({ status: 503, reason: "server is shutting down", kind: "draining" });
    if (!rateChecked) {
      const r = this.access.checkRate(ip, Date.now());
      if (r) throw new RequestError(r);
    }
    const auth = this.access.checkAuth(headers, url.query.get("token"));
    if (auth) throw new RequestError(auth);
    let filter: ClientFilter | null;
    try {
      filter = ClientFilter.fromQuery(url.query);
      if (since !== null) parseSince(since);
    } catch (err) {
      if (err instanceof FilterError || err instanceof CursorError)
        throw new RequestError({ status: 400, reason: err.message, kind: "bad_request" });
      throw err;
    }
    if (since !== null) {
      if (!this.source?.ready())
        throw new RequestError({
          status: 503,
          reason: "cannot resume: not connected to Kafka yet",
          kind: "not_ready",
        });
      if (this.resumesActive >= this.settings.streamer.resume_max_concurrent)
        throw new RequestError({
          status: 503,
          reason: "too many resumes in progress, retry",
          kind: "resume_busy",
        });
    }
    const slot = this.access.acquire(ip);
    if (slot) throw new RequestError(slot);
    return { filter, since };
  }

  /** No request may end the process: anything unexpected is counted, logged and answered 500. */
  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => {});
    try {
      this.upgrade(req, socket, head);
    } catch (err) {
      this.metrics.errors.inc({ kind: "upgrade" });
      this.log.error({ err, target: req.url?.slice(0, 200) }, "websocket upgrade failed; answered 500");
      // Before the 101 an HTTP answer is still possible; after it the socket speaks WebSocket.
      if (socket.bytesWritten === 0 && socket.writableLength === 0) rawRefuse(socket, 500, "internal error");
      else socket.destroy();
    }
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = parseRequestTarget(req.url);
    if (url === null) {
      this.metrics.refused.inc({ kind: "bad_request" });
      rawRefuse(socket, 400, "request target must be a path");
      return;
    }
    const format = Object.hasOwn(WS_PATHS, url.pathname) ? WS_PATHS[url.pathname] : undefined;
    const ip = this.access.clientIp(socket.remoteAddress, req.headers["x-forwarded-for"]);
    if (!this.settings.protocols.websocket || format === undefined || !streamEnabled(this.settings, format)) {
      rawRefuse(socket, 404, "no such stream");
      return;
    }
    let admitted: { filter: ClientFilter | null; since: string | null };
    try {
      admitted = this.admit(url, req.headers, ip, url.query.get("since"), false);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      this.metrics.refused.inc({ kind: err.refusal.kind });
      rawRefuse(socket, err.refusal.status, err.refusal.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onWebSocket(ws, socket, format, ip, admitted));
  }

  private onWebSocket(
    ws: WebSocket,
    socket: Socket,
    format: StreamFormat,
    ip: string,
    admitted: { filter: ClientFilter | null; since: string | null },
  ): void {
    socket.setNoDelay(true);
    const sink: ClientSink = {
      buffered: () => socket.writableLength,
      // Pre-framed shared bytes go straight to the socket; ws itself only sends control frames here, and
      // (without compression) it writes synchronously, so frames never interleave.
      write: (frame) => {
        if (ws.readyState !== 1) return;
        this.writeBatch.hold(socket);
        socket.write(frame);
      },
      frame: wsTextFrame,
      close: (code, reason) => {
        ws.close(code, reason);
        setTimeout(() => ws.terminate(), 5000).unref();
      },
    };
    const conn = this.connect(format, "ws", ip, admitted.filter, sink, ws);
    ws.on("pong", () => {
      conn.alive = true;
    });
    ws.on("message", () => {
      // certstream clients have nothing to say; anything received is counted and ignored
      this.metrics.clientMessages.inc();
    });
    ws.on("error", (err) => {
      conn.closeReason ??=
        (err as Error & { code?: string }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
          ? "frame_too_large"
          : "error";
      this.log.debug({ err, ip }, "websocket error; connection closed");
    });
    ws.on("close", () => this.disconnect(conn, "client"));
    this.begin(conn, admitted.since);
  }

  private onSse(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const url = parseRequestTarget(req.url);
    if (url === null) return reply.code(400).send({ error: "request target must be a path" });
    const ip = this.access.clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
    const stream = url.query.get("stream") ?? "lite";
    const format = Object.hasOwn(SSE_STREAMS, stream) ? SSE_STREAMS[stream] : undefined;
    if (format === undefined || !streamEnabled(this.settings, format)) {
      return reply.code(400).send({ error: "stream must be lite, full or domains" });
    }
    const lastEventId = req.headers["last-event-id"];
    const since = (Array.isArray(lastEventId) ? lastEventId[0] : lastEventId) || url.query.get("since");
    let admitted: { filter: ClientFilter | null; since: string | null };
    try {
      admitted = this.admit(url, req.headers, ip, since || null, true);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      return this.refuseReply(reply, err.refusal);
    }
    reply.hijack();
    const res = reply.raw;
    const socket = req.socket;
    socket.setNoDelay(true);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "access-control-allow-origin": "*",
    });
    res.write("retry: 2000\n\n");
    const sink: ClientSink = {
      buffered: () => res.writableLength + socket.writableLength,
      write: (frame) => {
        if (res.writableEnded) return;
        this.writeBatch.hold(socket);
        res.write(frame);
      },
      frame: (msg) => sseEvent(msg, null),
      close: () => {
        res.end();
        setTimeout(() => socket.destroy(), 5000).unref();
      },
    };
    const conn = this.connect(format, "sse", ip, admitted.filter, sink, null);
    res.on("close", () => this.disconnect(conn, "client"));
    this.begin(conn, admitted.since);
    return undefined;
  }

  private connect(
    format: StreamFormat,
    transport: "ws" | "sse",
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
      limitBytes: this.settings.streamer.client_buffer_bytes,
      disconnectMs: this.settings.streamer.slow_client_grace_ms,
    });
    const conn: Connection = { client, ws, resume: null, closeReason: null, alive: true };
    this.connections.add(conn);
    return conn;
  }

  /** Live feed now, or a resume reader first. */
  private begin(conn: Connection, since: string | null): void {
    if (since === null || this.source === null) {
      this.fanout.add(conn.client);
      return;
    }
    const source = this.source;
    this.resumesActive++;
    let released = false;
    const release = () => {
      if (!released) this.resumesActive--;
      released = true;
    };
    void (async () => {
      let start: Position;
      try {
        const parsed = parseSince(since);
        start = "cursor" in parsed ? parsed.cursor : await source.offsetsForTimestamp(parsed.timestampMs);
      } catch (err) {
        release();
        this.metrics.resumes.inc({ outcome: "failed" });
        this.log.warn({ err }, "resume position lookup failed; client joins the live feed");
        if (!conn.client.closed) this.fanout.add(conn.client);
        return;
      }
      conn.resume = new ResumeSession({
        client: conn.client,
        start,
        fanout: this.fanout,
        source,
        heartbeatMs: this.settings.streamer.heartbeat_interval_secs * 1000,
        observer: {
          caughtUp: (_c, replayed, ms, from) => {
            release();
            conn.resume = null;
            this.metrics.resumes.inc({ outcome: from === "memory" ? "caught_up_memory" : "caught_up_kafka" });
            this.metrics.replayed.inc(replayed);
            this.log.debug({ replayed, ms, from }, "resumed client caught up with the live feed");
          },
          failed: (_c, err) => {
            release();
            conn.resume = null;
            this.metrics.resumes.inc({ outcome: "failed" });
            this.metrics.errors.inc({ kind: "resume" });
            this.log.warn({ err }, "resume reader failed; closing the client so it retries");
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
    conn.client.onClose = release;
  }

  private disconnect(conn: Connection, reason: string): void {
    if (!this.connections.delete(conn)) return;
    conn.client.closed = true;
    conn.client.onClose?.();
    conn.resume?.cancel();
    this.fanout.remove(conn.client);
    this.access.release(conn.client.ip);
    this.metrics.disconnects.inc({ stream: conn.client.format, reason: conn.closeReason ?? reason });
  }
}

function rawRefuse(socket: Socket, status: number, reason: string): void {
  const text =
    {
      400: "Bad Request",
      401: "Unauthorized",
      404: "Not Found",
      429: "Too Many Requests",
      500: "Internal Server Error",
      503: "Service Unavailable",
    }[status] ?? "Error";
  const body = JSON.stringify({ error: reason });
  const extra = status === 401 ? "WWW-Authenticate: Bearer\r\n" : status === 429 ? "Retry-After: 1\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
