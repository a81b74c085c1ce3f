/**
 * The streamer's server: one node:http server and the parts that share it. Requests go to the routes
 * (http-routes.ts, routes.ts; SSE in sse-endpoint.ts); WebSocket upgrades are taken on the server's 'upgrade'
 * event (websocket-upgrade.ts). Every stream request is admitted first (admission.ts); both kinds of client end up
 * as StreamClients in the shared Fanout, through StreamConnections (connections.ts: resume, wait, release).
 * Readiness and lag come from the Kafka source (readiness.ts). This class owns the lifecycle: listen, start
 * the source, hot reload, periodic work, graceful shutdown.
 */

import type { Server } from "node:http";
import type { Logger } from "@certstream/log";
import { HealthState, http } from "@certstream/metrics";
import { Access } from "./access.ts";
import { Admission } from "./admission.ts";
import type { CertsSource } from "./certs-source.ts";
import { CLOSE_GOING_AWAY } from "./client.ts";
import { StreamConnections } from "./connections.ts";
import { DedupShare } from "./dedup-share.ts";
import { Fanout } from "./fanout.ts";
import { HttpRoutes } from "./http-routes.ts";
import { MemoryRelease, releaseV8Memory } from "./memory-release.ts";
import { type StreamerMetrics, setStatsSource, streamerMetrics } from "./metrics.ts";
import { StreamerReadiness } from "./readiness.ts";
import { rateLimited, registerStreamerRoutes } from "./routes.ts";
import { STREAM_FORMATS, type StreamerSettings } from "./settings.ts";
import { SseEndpoint } from "./sse-endpoint.ts";
import { WebSocketUpgrade } from "./websocket-upgrade.ts";
import { WriteBatch } from "./write-batch.ts";

/** RSS growth since the last release worth giving back, and the shortest time between two releases. */
const MEMORY_RELEASE_SLACK_BYTES = 32 * 1024 * 1024;
const MEMORY_RELEASE_MIN_INTERVAL_MS = 30_000;

export interface StreamerServerOptions {
  settings: StreamerSettings;
  logger: Logger;
  /** Null in benchmarks that feed the fan-out directly (no resume, never "ready" on Kafka). */
  source: CertsSource | null;
  topic?: string;
  /** The process's health (certstream_health_status{service}); by default one for service "streamer". */
  health?: HealthState;
}

export class StreamerServer {
  readonly fanout: Fanout;
  readonly httpServer: Server;
  readonly metrics: StreamerMetrics;
  /** Live until shutdown; ready while Kafka is reachable and the live reader holds every partition. */
  readonly health: HealthState;
  private settings: StreamerSettings;
  private readonly access: Access;
  private readonly log: Logger;
  private readonly source: CertsSource | null;
  private readonly connections: StreamConnections;
  private readonly readiness: StreamerReadiness;
  private readonly upgrades: WebSocketUpgrade;
  private readonly writeBatch: WriteBatch;
  private readonly receivedAge: { observe(seconds: number): void };
  private readonly timers: NodeJS.Timeout[] = [];
  /** The dedup stage's drop share, when `streamer.dedup_stats_urls` names ingester APIs. */
  private readonly dedupShare: DedupShare | null;
  private draining = false;
  private rate = { perSecond: 0, lastCount: 0, lastAt: Date.now() };
  /** Messages queued to clients so far (all streams): the load the memory release watches. */
  private deliveredTotal = 0;
  private readonly memory = new MemoryRelease(
    {
      slackBytes: MEMORY_RELEASE_SLACK_BYTES,
      minIntervalMs: MEMORY_RELEASE_MIN_INTERVAL_MS,
      rss: () => process.memoryUsage.rss(),
      release: releaseV8Memory,
    },
    Date.now(),
  );

  constructor(opts: StreamerServerOptions) {
    this.settings = opts.settings;
    this.log = opts.logger;
    this.source = opts.source;
    const topic = opts.topic ?? "certs";
    this.health = opts.health ?? new HealthState({ logger: opts.logger, service: "streamer" });
    this.access = new Access(opts.settings);
    this.writeBatch = new WriteBatch(opts.settings.streamer.write_coalesce_ms);
    const dedupUrls = opts.settings.streamer.dedup_stats_urls;
    this.dedupShare = dedupUrls.length > 0 ? new DedupShare(dedupUrls) : null;
    this.metrics = streamerMetrics;
    const m = this.metrics;
    const deliveries = Object.fromEntries(STREAM_FORMATS.map((f) => [f, m.deliveries.labels(f)]));
    this.receivedAge = m.recordAge.labels("received");
    const fannedOutAge = m.recordAge.labels("fanned_out");
    this.fanout = new Fanout(
      {
        delivered: (f, n) => {
          deliveries[f].inc(n);
          this.deliveredTotal += n;
        },
        fannedOut: (ageMs) => fannedOutAge.observe(Math.max(0, ageMs) / 1000),
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
    const settings = () => this.settings;
    const draining = () => this.draining;
    this.connections = new StreamConnections({
      fanout: this.fanout,
      source: this.source,
      access: this.access,
      metrics: m,
      log: this.log,
      settings,
    });
    setStatsSource({
      connections: (f, t) => this.fanout.count(f, t),
      bufferedBytes: (f) => this.connections.bufferedBytes(f),
    });
    this.readiness = new StreamerReadiness({
      health: this.health,
      source: this.source,
      topic,
      metrics: m,
      log: this.log,
      draining,
      delivered: () => this.fanout.position,
    });
    this.source?.onStateChange(() => {
      this.readiness.refresh();
      // Kafka connected: clients waiting to resume start now.
      this.connections.startWaiting();
    });
    const admission = new Admission({
      access: this.access,
      draining,
      resumeBlocker: () => this.connections.resumeBlocker(),
    });
    const streamDeps = {
      settings,
      access: this.access,
      admission,
      connections: this.connections,
      metrics: m,
      writeBatch: this.writeBatch,
    };
    this.upgrades = new WebSocketUpgrade({ ...streamDeps, log: this.log });
    const routes = new HttpRoutes({
      log: this.log,
      draining,
      before: rateLimited({ access: this.access, readiness: this.readiness, metrics: m }),
    });
    registerStreamerRoutes(routes, {
      settings: this.settings,
      access: this.access,
      health: this.health,
      readiness: this.readiness,
      source: this.source,
      fanout: this.fanout,
      metrics: m,
      sse: new SseEndpoint(streamDeps),
      draining,
      stats: () => this.stats(),
    });
    this.httpServer = http.createServer(routes.handle);
    this.httpServer.on("upgrade", this.upgrades.onUpgrade);
  }

  async listen(): Promise<number> {
    const server = this.httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // From here on an 'error' is an accept that failed (ENOBUFS, ENOMEM; at the file limit libuv itself closes
    // what it cannot take: fd-limit.test.ts): without a listener it would end the process and every client on
    // it. The server goes on accepting.
    server.on("error", (err) => this.log.error({ err }, "HTTP server error; still listening"));
    const addr = server.address();
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
        const now = Date.now();
        this.receivedAge.observe(Math.max(0, now - r.timestampMs) / 1000);
        this.fanout.publish(r.entry, r.partition, r.offset, r.timestampMs);
      },
      () => this.fanout.position,
      (floor) => this.fanout.setFloor(floor),
      (partition, next) => this.fanout.advance(partition, next),
      () => this.fanout.hasRoom(),
    );
  }

  /** Hot reload: limits, auth and frame size apply to the next request; buffer limits to every client now. */
  applySettings(s: StreamerSettings): void {
    this.access.update(s);
    this.settings = { ...this.settings, ...s, host: this.settings.host, port: this.settings.port };
    this.upgrades.maxPayload = s.streamer.max_frame_bytes;
    this.writeBatch.intervalMs = s.streamer.write_coalesce_ms;
    this.connections.setLimits(s);
  }

  stats() {
    const clients = Object.fromEntries(
      STREAM_FORMATS.map((f) => [
        f,
        { websocket: this.fanout.count(f, "ws"), sse: this.fanout.count(f, "sse") },
      ]),
    );
    return {
      clients,
      total_clients: this.connections.all.size,
      resuming_clients: this.connections.resumesActive,
      waiting_clients: this.connections.waitingCount,
      messages_per_second: Math.round(this.rate.perSecond * 100) / 100,
      certificates_total: this.fanout.published,
      consumer_lag: {
        total: this.readiness.lagTotal(),
        partitions: Object.fromEntries(this.readiness.lag),
      },
      ready: this.source?.ready() ?? false,
      dedup: this.dedupShare?.view() ?? null,
    };
  }

  /**
   * Graceful shutdown: refuse new work, close every client with 1001 "going away" (they reconnect elsewhere),
   * stop the Kafka readers, and give up waiting after shutdown_timeout_secs.
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const conns = this.connections.all;
    this.health.setLive(false, "shutting down", { clients: conns.size });
    this.readiness.refresh();
    for (const t of this.timers) clearInterval(t);
    this.dedupShare?.stop();
    this.httpServer.close();
    this.connections.closeAll(CLOSE_GOING_AWAY, "going away");
    const deadline = Date.now() + this.settings.streamer.shutdown_timeout_ms;
    while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of conns) c.ws?.terminate();
    this.httpServer.closeAllConnections();
    await Promise.race([
      this.source?.stop(),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
  }

  /** After a burst or once clients have left: V8's pooled pages back to the system (memory-release.ts). */
  private releaseMemory(now: number): void {
    const done = this.memory.check(now, this.deliveredTotal);
    if (done === null) return;
    this.metrics.memoryReleases.inc();
    this.log.info(
      {
        rss_before_mb: Math.round(done.rssBefore / 1048576),
        rss_after_mb: Math.round(done.rssAfter / 1048576),
        ms: Math.round(done.ms),
        clients: this.connections.all.size,
      },
      "load fell: memory released",
    );
  }

  private startTimers(): void {
    const s = this.settings;
    this.dedupShare?.start();
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        this.fanout.heartbeat(now);
        this.connections.noticeWaiting(now);
      }, s.streamer.heartbeat_interval_secs * 1000),
    );
    this.timers.push(setInterval(() => this.fanout.sweep(Date.now()), 500));
    this.timers.push(setInterval(() => this.connections.pingAll(), s.streamer.ping_interval_secs * 1000));
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        const n = this.fanout.published;
        this.rate.perSecond = ((n - this.rate.lastCount) * 1000) / Math.max(1, now - this.rate.lastAt);
        this.rate.lastCount = n;
        this.rate.lastAt = now;
        this.access.evictIdle(now);
        void this.readiness.poll();
        this.releaseMemory(now);
      }, 5000),
    );
    for (const t of this.timers) t.unref();
  }
}
