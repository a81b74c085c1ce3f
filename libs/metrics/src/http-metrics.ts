// HTTP request accounting for fastify apps (seed 001: api_requests_total{route,method,status} and a latency
// histogram). `route` is the route template (`/api/logs/:id`), never the raw URL, so labels stay bounded;
// requests that match no route are counted under route="unmatched".
import type { FastifyInstance } from "fastify";
import { REQUEST_BUCKETS } from "./buckets.ts";
import { counter, histogram, renderMetrics } from "./registry.ts";

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
    const route = request.routeOptions.url ?? "unmatched";
    if (ignore.has(route)) return;
    const method = KNOWN_METHODS.has(request.method) ? request.method : "OTHER";
    const labels = { route, method, status: String(reply.statusCode) };
    httpRequests.inc(labels);
    httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

/** Serves the process registry at `path` on an existing fastify app (the streamer's `/metrics`). */
export function registerMetricsRoute(app: FastifyInstance, path = "/metrics"): void {
  app.get(path, async (_request, reply) => {
    const { contentType, body } = await renderMetrics();
    return reply.header("content-type", contentType).send(body);
  });
}
