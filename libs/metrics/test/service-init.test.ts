// initMetrics starts the dedicated listener of the `metrics` config section (own port, TLS validated first),
// read the way the service reads its config: here from CERTSTREAM_METRICS_* env vars.
import { afterEach, describe, expect, it } from "vitest";
import { initMetrics, MetricsTlsConfigError, metricsListener } from "../src/index.ts";

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith("CERTSTREAM_")) delete process.env[k];
  Object.assign(process.env, saved);
});

describe("initMetrics and the metrics config section", () => {
  it("starts no listener by default", async () => {
    initMetrics({ service: "init-test", instrumentClients: false });
    expect(await metricsListener()).toBeUndefined();
  });

  it("starts /metrics on its own port when metrics.enabled (from env)", async () => {
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    process.env.CERTSTREAM_METRICS_HOST = "127.0.0.1";
    process.env.CERTSTREAM_METRICS_PORT = "0";
    initMetrics({ service: "init-test", version: "v9", instrumentClients: false });
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
    expect(() => initMetrics({ service: "init-test", instrumentClients: false })).toThrow(
      MetricsTlsConfigError,
    );
    expect(() => initMetrics({ service: "init-test", instrumentClients: false })).toThrow(
      /^metrics\.tls\.cert_path: file \/nonexistent\/tls\.crt does not exist$/,
    );
  });

  it("an explicit null section never starts a listener", async () => {
    process.env.CERTSTREAM_METRICS_ENABLED = "true";
    initMetrics({ service: "init-test", instrumentClients: false, metricsConfig: null });
    expect(await metricsListener()).toBeUndefined();
  });
});
