/**
 * The streamer's HTTP routes on its fastify app: the live page, probes, metrics, the JSON endpoints, stats and
 * SSE (WebSocket upgrades never reach fastify: websocket-upgrade.ts). Which routes exist follows `protocols`
 * at start; the rate limit applies to every request but the probes and scrapes, auth to the data endpoints.
 */
import { readFileSync } from "node:fs";
import { type HealthState, registerHttpMetrics, registerMetricsRoute } from "@certstream/metrics";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Access } from "./access.ts";
import { refuseReply } from "./admission.ts";
import type { CertsSource } from "./certs-source.ts";
import type { Fanout } from "./fanout.ts";
import type { StreamerMetrics } from "./metrics.ts";
import type { StreamerReadiness } from "./readiness.ts";
import { renderFormat } from "./render.ts";
import { parseRequestTarget } from "./request-target.ts";
import type { StreamerSettings } from "./settings.ts";
import type { SseEndpoint } from "./sse-endpoint.ts";

/** Probes and scrapes are never rate limited or authenticated. */
const OPEN_ROUTES = new Set(["/health", "/health/ready", "/metrics"]);
const LIVE_PAGE = readFileSync(new URL("./live-page.html", import.meta.url), "utf8");

export interface StreamerRoutesDeps {
  settings: StreamerSettings;
  access: Access;
  health: HealthState;
  readiness: StreamerReadiness;
  source: CertsSource | null;
  fanout: Fanout;
  metrics: StreamerMetrics;
  sse: SseEndpoint;
  draining(): boolean;
  stats(): object;
}

export function registerStreamerRoutes(app: FastifyInstance, deps: StreamerRoutesDeps): void {
  const { access, health, readiness, fanout, metrics } = deps;
  registerHttpMetrics(app);
  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?")[0];
    if (OPEN_ROUTES.has(path)) {
      // the scraped certstream_health_status is current, not as of the last poll
      if (path === "/metrics") readiness.publish();
      return;
    }
    const ip = access.clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
    const refusal = access.checkRate(ip, Date.now());
    if (refusal) return refuseReply(reply, refusal, metrics);
  });

  /** Auth for the data endpoints (the token may come as `?token=`, for browsers). */
  const authorized = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const token = parseRequestTarget(req.url)?.query.get("token") ?? null;
    const refusal = access.checkAuth(req.headers, token);
    if (!refusal) return true;
    refuseReply(reply, refusal, metrics);
    return false;
  };

  const p = deps.settings.protocols;
  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(LIVE_PAGE));
  if (p.health) {
    app.get("/health", async (_req, reply) =>
      health.live
        ? reply.send({ status: "ok" })
        : reply.code(503).send({ status: "down", reason: health.snapshot().reasons.live }),
    );
    app.get("/health/ready", async (_req, reply) => {
      const state = deps.source?.state() ?? { connected: false, assigned: 0, partitions: 0 };
      const { ready, reason } = readiness.refresh();
      return reply.code(ready ? 200 : 503).send({
        status: ready ? "ready" : "not_ready",
        reason,
        draining: deps.draining(),
        kafka_reachable: readiness.kafkaReachable,
        ...state,
      });
    });
  }
  // Not on this port while a dedicated (possibly mTLS) metrics listener serves them: registerMetricsRoute
  // answers 404 then.
  if (p.metrics) registerMetricsRoute(app, "/metrics");
  if (p.example_json) {
    app.get("/example.json", async (req, reply) => {
      if (!authorized(req, reply)) return reply;
      const newest = fanout.newest();
      if (newest.length === 0) return reply.code(503).send({ error: "no certificate seen yet" });
      return reply
        .type("application/json")
        .header("access-control-allow-origin", "*")
        .send(renderFormat(newest[newest.length - 1], "lite"));
    });
    app.get("/latest.json", async (req, reply) => {
      if (!authorized(req, reply)) return reply;
      const parts: string[] = [];
      for (const e of fanout.newest()) {
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
      reply.header("access-control-allow-origin", "*").send(deps.stats()),
    );
  }
  if (p.sse) {
    app.get("/sse", deps.sse.handle);
    app.get("/v2/sse", deps.sse.handle);
  }
}
