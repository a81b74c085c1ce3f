import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { expectMetrics } from "../../../test/metrics-expect.ts";
import { registerHttpMetrics, registerMetricsRoute, renderMetrics } from "../src/index.ts";

describe("registerHttpMetrics", () => {
  it("counts requests by route template, method and status, and times them", async () => {
    const app = Fastify();
    registerHttpMetrics(app, { ignoreRoutes: ["/metrics"] });
    registerMetricsRoute(app);
    app.get("/api/logs/:id", async (req) => ({ id: (req.params as { id: string }).id }));
    app.post("/api/fail", async (_req, reply) => reply.code(503).send({ error: "down" }));
    await app.inject({ method: "GET", url: "/api/logs/abc" });
    await app.inject({ method: "GET", url: "/api/logs/def" });
    await app.inject({ method: "POST", url: "/api/fail" });
    await app.inject({ method: "GET", url: "/nope/123" });
    const scraped = await app.inject({ method: "GET", url: "/metrics" });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers["content-type"]).toContain("text/plain");

    const body = (await renderMetrics()).body;
    expect(body).toContain(
      'certstream_http_requests_total{route="/api/logs/:id",method="GET",status="200"} 2',
    );
    expect(body).toContain('certstream_http_requests_total{route="/api/fail",method="POST",status="503"} 1');
    expect(body).toContain('certstream_http_requests_total{route="unmatched",method="GET",status="404"} 1');
    expect(body).not.toContain('route="/metrics"');
    expectMetrics(body, [
      { name: "certstream_http_requests_total", type: "counter", labels: ["route", "method", "status"] },
      {
        name: "certstream_http_request_duration_seconds",
        type: "histogram",
        labels: ["route", "method", "status"],
      },
    ]);
    await app.close();
  });
});
