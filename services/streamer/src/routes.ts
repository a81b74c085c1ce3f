/**
 * The streamer's HTTP routes (http-routes.ts): the live page, probes, metrics, the JSON endpoints, stats and
 * SSE (WebSocket upgrades never come here: websocket-upgrade.ts). Which routes exist follows `protocols` at
 * start; the rate limit applies to every request but the probes and scrapes, auth to the data endpoints.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type HealthState, metricsOnServicePort, renderMetrics } from "@certstream/metrics";
import type { Access } from "./access.ts";
import { refuseResponse } from "./admission.ts";
import type { CertsSource } from "./certs-source.ts";
import type { Fanout } from "./fanout.ts";
import { type HttpRoutes, send, sendJson } from "./http-routes.ts";
import type { StreamerMetrics } from "./metrics.ts";
import type { StreamerReadiness } from "./readiness.ts";
import { renderFormat } from "./render.ts";
import type { RequestTarget } from "./request-target.ts";
import type { StreamerSettings } from "./settings.ts";
import type { SseEndpoint } from "./sse-endpoint.ts";

/** Probes and scrapes are never rate limited or authenticated. */
const OPEN_ROUTES = new Set(["/health", "/health/ready", "/metrics"]);
const LIVE_PAGE = readFileSync(new URL("./live-page.html", import.meta.url), "utf8");
const CORS = { "access-control-allow-origin": "*" };

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

/** What runs before every route: the rate limit, except on probes and scrapes. True when it answered. */
export function rateLimited(deps: Pick<StreamerRoutesDeps, "access" | "readiness" | "metrics">) {
  return (req: IncomingMessage, res: ServerResponse, route: string): boolean => {
    if (OPEN_ROUTES.has(route)) {
      // the scraped certstream_health_status is current, not as of the last poll
      if (route === "/metrics") deps.readiness.publish();
      return false;
    }
    const ip = deps.access.clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"]);
    const refusal = deps.access.checkRate(ip, Date.now());
    if (!refusal) return false;
    refuseResponse(res, refusal, deps.metrics);
    return true;
  };
}

export function registerStreamerRoutes(routes: HttpRoutes, deps: StreamerRoutesDeps): void {
  const { access, health, readiness, fanout, metrics } = deps;

  /** Auth for the data endpoints (the token may come as `?token=`, for browsers). */
  const authorized = (req: IncomingMessage, res: ServerResponse, target: RequestTarget): boolean => {
    const refusal = access.checkAuth(req.headers, target.query.get("token"));
    if (!refusal) return true;
    refuseResponse(res, refusal, metrics);
    return false;
  };

  const p = deps.settings.protocols;
  routes.get("/", (_req, res) => send(res, 200, "text/html; charset=utf-8", LIVE_PAGE));
  if (p.health) {
    routes.get("/health", (_req, res) =>
      health.live
        ? sendJson(res, 200, { status: "ok" })
        : sendJson(res, 503, { status: "down", reason: health.snapshot().reasons.live }),
    );
    routes.get("/health/ready", (_req, res) => {
      const state = deps.source?.state() ?? { connected: false, assigned: 0, partitions: 0 };
      const { ready, reason } = readiness.refresh();
      sendJson(res, ready ? 200 : 503, {
        status: ready ? "ready" : "not_ready",
        reason,
        draining: deps.draining(),
        kafka_reachable: readiness.kafkaReachable,
        ...state,
      });
    });
  }
  // Not on this port while a dedicated (possibly mTLS) metrics listener serves them: 404 then.
  if (p.metrics) {
    routes.get("/metrics", async (_req, res) => {
      if (!metricsOnServicePort()) return sendJson(res, 404, { error: "no route /metrics" });
      const { contentType, body } = await renderMetrics();
      send(res, 200, contentType, body);
    });
  }
  if (p.example_json) {
    routes.get("/example.json", (req, res, target) => {
      if (!authorized(req, res, target)) return;
      const newest = fanout.newest();
      if (newest.length === 0) return sendJson(res, 503, { error: "no certificate seen yet" });
      send(res, 200, "application/json", renderFormat(newest[newest.length - 1], "lite"), CORS);
    });
    routes.get("/latest.json", (req, res, target) => {
      if (!authorized(req, res, target)) return;
      const parts: string[] = [];
      for (const e of fanout.newest()) {
        try {
          parts.unshift(renderFormat(e, "lite").toString("utf8"));
        } catch {
          // counted when the live feed rendered it
        }
      }
      send(res, 200, "application/json", `{"messages":[${parts.join(",")}]}`, CORS);
    });
  }
  if (p.api) routes.get("/api/stats", (_req, res) => sendJson(res, 200, deps.stats(), CORS));
  if (p.sse) {
    routes.get("/sse", deps.sse.handle);
    routes.get("/v2/sse", deps.sse.handle);
  }
}
