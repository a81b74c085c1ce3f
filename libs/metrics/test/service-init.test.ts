// initMetrics starts the dedicated listener of the `metrics` config section (own port, TLS validated first),
// read the way the service reads its config: here from CERTSTREAM_METRICS_* env vars.
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { makeTestPki } from "../../../test/tls-certs.ts";
import {
  initMetrics,
  MetricsTlsConfigError,
  metricsListener,
  metricsOnServicePort,
  registerMetricsRoute,
} from "../src/index.ts";

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith("CERTSTREAM_")) delete process.env[k];
  Object.assign(process.env, saved);
});

describe("initMetrics and the metrics config section", () => {
  it("starts no listener by default", async () => {
    initMetrics({ service: "init-test" });
    expect(await metricsListener()).toBeUndefined();
  });

  it("starts /metrics on its own port when metrics.enabled (from env)", async () => {
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    process.env.CERTSTREAM_METRICS_HOST = "127.0.0.1";
    process.env.CERTSTREAM_METRICS_PORT = "0";
    initMetrics({ service: "init-test", version: "v9" });
    const server = await metricsListener();
    expect(server?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const text = await (await fetch(server?.url ?? "")).text();
    expect(text).toContain('certstream_build_info{version="v9",service="init-test"');
    await server?.close();
  });

  it("refuses to start with TLS files that do not exist, naming the key", () => {
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    process.env.CERTSTREAM_METRICS_PORT = "0";
    process.env.CERTSTREAM_METRICS_TLS_ENABLED = "true";
    process.env.CERTSTREAM_METRICS_TLS_CERT_PATH = "/nonexistent/tls.crt";
    process.env.CERTSTREAM_METRICS_TLS_KEY_PATH = "/nonexistent/tls.key";
    expect(() => initMetrics({ service: "init-test" })).toThrow(MetricsTlsConfigError);
    expect(() => initMetrics({ service: "init-test" })).toThrow(
      /^metrics\.tls\.cert_path: file \/nonexistent\/tls\.crt does not exist$/,
    );
  });

  it("an explicit null section never starts a listener", async () => {
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    initMetrics({ service: "init-test", metricsConfig: null });
    expect(await metricsListener()).toBeUndefined();
  });
});

describe("/metrics on the service port", () => {
  const servicePort = async () => {
    const app = Fastify();
    registerMetricsRoute(app);
    const res = await app.inject({ method: "GET", url: "/metrics" });
    await app.close();
    return res.statusCode;
  };
  /** A port held by another listener, so the dedicated one cannot start. */
  const heldPort = async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return { port: (s.address() as { port: number }).port, close: () => s.close() };
  };

  it("is served without a dedicated listener, 404 while one is configured", async () => {
    initMetrics({ service: "init-test" });
    expect(await servicePort()).toBe(200);
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    process.env.CERTSTREAM_METRICS_HOST = "127.0.0.1";
    process.env.CERTSTREAM_METRICS_PORT = "0";
    initMetrics({ service: "init-test" });
    expect(metricsOnServicePort()).toBe(false);
    expect(await servicePort()).toBe(404);
    await (await metricsListener())?.close();
  });

  it("a plain listener that cannot listen falls back to the service port; a TLS one does not", async () => {
    const held = await heldPort();
    const pki = makeTestPki();
    try {
      process.env.CERTSTREAM_METRICS_ENABLED = "true";
      process.env.CERTSTREAM_METRICS_HOST = "127.0.0.1";
      process.env.CERTSTREAM_METRICS_PORT = String(held.port);
      initMetrics({ service: "init-test" });
      expect(await metricsListener()).toBeUndefined();
      expect(await servicePort()).toBe(200);

      Object.assign(process.env, {
        CERTSTREAM_METRICS_TLS_ENABLED: "true",
        CERTSTREAM_METRICS_TLS_CERT_PATH: pki.serverCert,
        CERTSTREAM_METRICS_TLS_KEY_PATH: pki.serverKey,
        CERTSTREAM_METRICS_TLS_CA_PATH: pki.ca,
        CERTSTREAM_METRICS_TLS_REQUIRE_MTLS: "true",
      });
      initMetrics({ service: "init-test" });
      expect(await metricsListener()).toBeUndefined();
      expect(await servicePort(), "never in clear in place of the mTLS listener").toBe(404);
    } finally {
      held.close();
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});
