// A service without a HealthState still gets certstream_health_status: registerMetricsRoute reads the app's
// own probes at scrape time (this file's process creates no HealthState, on purpose).
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { initMetrics, registerHttpMetrics, registerMetricsRoute } from "../src/index.ts";

describe("registerMetricsRoute health from probes", () => {
  it("publishes what /health and /health/ready answer, without counting the probes as traffic", async () => {
    initMetrics({ service: "probe-test" });
    let ready = false;
    let degraded = false;
    let live = true;
    const app = Fastify();
    registerHttpMetrics(app, { ignoreRoutes: ["/metrics"] });
    registerMetricsRoute(app);
    app.get("/health", async (_req, reply) =>
      reply.code(live ? 200 : 500).send({ status: live ? "ok" : "stuck" }),
    );
    app.get("/health/ready", async (_req, reply) =>
      reply.code(ready ? 200 : 503).send({ status: ready ? (degraded ? "degraded" : "ready") : "not_ready" }),
    );
    const status = async () =>
      /certstream_health_status\{service="probe-test"\} (\S+)/.exec(
        (await app.inject({ url: "/metrics" })).body,
      )?.[1];
    expect(await status()).toBe("0");
    ready = true;
    expect(await status()).toBe("1");
    degraded = true;
    expect(await status()).toBe("0.5");
    live = false;
    expect(await status()).toBe("0");
    const text = (await app.inject({ url: "/metrics" })).body;
    expect(text).not.toContain('route="/health/ready"');
    await app.close();
  });
});
