// HTTP request accounting (seed 001: api_requests_total{route,method,status} and a latency histogram): fastify
// apps with registerHttpMetrics, the streamer's own routes with countHttpRequest. `route` is the route template
// (`/api/logs/:id`), never the raw URL, so labels stay bounded; requests that match no route are counted under
// route="unmatched".
import type { FastifyInstance } from "fastify";
import { REQUEST_BUCKETS } from "./buckets.ts";
import { healthStateCount, healthStatus } from "./health.ts";
import { metricsOnServicePort } from "./metrics-placement.ts";
import { counter, histogram, metricsService, renderMetrics } from "./registry.ts";

/** Marks the scrape-time probe requests of registerMetricsRoute so they are not counted as traffic. */
const INTERNAL_HEADER = "x-certstream-internal";

export const httpRequests = counter({
  name: "certstream_http_requests_total",
  help: "HTTP requests served, by route template, method and status code",
  labelNames: ["route", "method", "status"],
});

export const httpRequestDuration = histogram({
  name: "certstream_http_request_duration_seconds",
  help: "HTTP request latency from request received to response sent, by route template, method and status",
  labelNames: ["route", "method", "status"],
  buckets: REQUEST_BUCKETS,
});

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Counts one answered request; `route` is a template or "unmatched", never a raw URL. */
export function countHttpRequest(route: string, method: string, status: number, seconds: number): void {
  const labels = { route, method: KNOWN_METHODS.has(method) ? method : "OTHER", status: String(status) };
  httpRequests.inc(labels);
  httpRequestDuration.observe(labels, seconds);
}

export interface HttpMetricsOptions {
  /** Route templates not counted (e.g. the scrape endpoint itself). Default: none. */
  ignoreRoutes?: readonly string[];
}

/**
 * Adds onResponse accounting to `app` (call on the root instance, before routes are registered, so every
 * route is covered). Long-lived WebSocket/SSE requests are counted when their response ends.
 */
export function registerHttpMetrics(app: FastifyInstance, opts: HttpMetricsOptions = {}): void {
  const ignore = new Set(opts.ignoreRoutes ?? []);
  app.addHook("onResponse", async (request, reply) => {
    if (request.headers[INTERNAL_HEADER] !== undefined) return;
    const route = request.routeOptions.url ?? "unmatched";
    if (ignore.has(route)) return;
    countHttpRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
}

export interface MetricsRouteOptions {
  /**
   * When the process has no HealthState, set certstream_health_status{service} at each scrape from what the
   * app's own probes answer (`livePath` and `readyPath`: 2xx = ok; a JSON body with `"status":"degraded"`
   * on a 2xx readiness answer = 0.5). Default true; the probes must exist as routes of `app`.
   */
  healthFromProbes?: boolean;
  livePath?: string;
  readyPath?: string;
}

async function probeHealth(app: FastifyInstance, livePath: string, readyPath: string): Promise<void> {
  const headers = { [INTERNAL_HEADER]: "health" };
  const live = app.hasRoute({ method: "GET", url: livePath })
    ? (await app.inject({ method: "GET", url: livePath, headers })).statusCode < 300
    : true;
  const ready = await app.inject({ method: "GET", url: readyPath, headers });
  let value = live && ready.statusCode < 300 ? 1 : 0;
  if (value === 1 && /"status"\s*:\s*"degraded"/.test(ready.body)) value = 0.5;
  healthStatus.set({ service: metricsService() }, value);
}

/**
 * Serves the process registry at `path` on a service's fastify app; while a dedicated metrics listener is
 * configured (initMetrics), the route answers as if it did not exist (404).
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  path = "/metrics",
  opts: MetricsRouteOptions = {},
): void {
  const livePath = opts.livePath ?? "/health";
  const readyPath = opts.readyPath ?? "/health/ready";
  app.get(path, async (_request, reply) => {
    if (!metricsOnServicePort()) return reply.callNotFound();
    if (
      (opts.healthFromProbes ?? true) &&
      healthStateCount() === 0 &&
      app.hasRoute({ method: "GET", url: readyPath })
    )
      await probeHealth(app, livePath, readyPath);
    const { contentType, body } = await renderMetrics();
    return reply.header("content-type", contentType).send(body);
  });
}
