// seed 003: /metrics on its own port, TLS validated at start, mTLS refuses clients without a trusted cert.
// Certificates are made with the system openssl at test time by test/tls-certs.ts (a CA, a server cert, a client
// cert, and a second "rogue" CA with its own client cert that the server must not trust).
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestPki, tlsGet } from "../../../test/tls-certs.ts";
import {
  initMetrics,
  loadMetricsTls,
  MetricsTlsConfigError,
  startMetricsServer,
  startMetricsServerFromConfig,
} from "../src/index.ts";

let dir: string;
const p = (name: string) => join(dir, name);

beforeAll(() => {
  dir = makeTestPki().dir;
  initMetrics({ service: "mtls-test", version: "t", node: "n" });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A scrape over TLS trusting the test CA; `client` names a certificate and key of the test PKI. */
function scrape(url: string, client?: { cert: string; key: string }) {
  return tlsGet(url, p("ca.crt"), client && { cert: p(client.cert), key: p(client.key) });
}

const tlsConfig = () => ({
  cert_path: p("server.crt"),
  key_path: p("server.key"),
  ca_path: p("ca.crt"),
  require_mtls: true,
});

describe("startMetricsServer", () => {
  it("serves /metrics over plain HTTP on its own port", async () => {
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const body = await new Promise<string>((resolve, reject) =>
        httpGet(server.url, (res) => {
          let b = "";
          res.on("data", (d) => {
            b += d;
          });
          res.on("end", () => resolve(b));
        }).on("error", reject),
      );
      expect(body).toContain("certstream_build_info");
    } finally {
      await server.close();
    }
  });

  it("with require_mtls: a client with a certificate from the CA scrapes; none or an untrusted one is refused", async () => {
    const warnings: string[] = [];
    const logger = {
      info: () => {},
      warn: (_o: object, m?: string) => warnings.push(m ?? ""),
      error: () => {},
    };
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0, tls: tlsConfig(), logger });
    try {
      expect(server.url).toMatch(/^https:/);
      const ok = await scrape(server.url, { cert: "client.crt", key: "client.key" });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('certstream_build_info{version="t",service="mtls-test",node="n"} 1');

      const none = await scrape(server.url);
      expect(none.status).toBeUndefined();
      expect(none.error).toBeDefined();

      const rogue = await scrape(server.url, { cert: "rogue.crt", key: "rogue.key" });
      expect(rogue.status).toBeUndefined();
      expect(rogue.error).toBeDefined();
      expect(warnings).toContain("metrics: TLS client refused");
    } finally {
      await server.close();
    }
  });

  it("TLS without require_mtls serves clients without a certificate", async () => {
    const server = await startMetricsServer({
      host: "127.0.0.1",
      port: 0,
      tls: { ...tlsConfig(), require_mtls: false },
    });
    try {
      expect((await scrape(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("TLS config validation at start", () => {
  const expectError = async (tls: ReturnType<typeof tlsConfig>, key: string, message: RegExp) => {
    let caught: unknown;
    try {
      await startMetricsServer({ host: "127.0.0.1", port: 0, tls });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MetricsTlsConfigError);
    expect((caught as MetricsTlsConfigError).key).toBe(key);
    expect((caught as Error).message).toMatch(message);
  };

  it("missing certificate file", async () => {
    await expectError(
      { ...tlsConfig(), cert_path: p("nope.crt") },
      "metrics.tls.cert_path",
      /nope\.crt does not exist/,
    );
  });

  it("unreadable key file", async () => {
    if (process.getuid?.() === 0) {
      // root reads anything: a directory stands in for an unreadable file.
      await expectError({ ...tlsConfig(), key_path: dir }, "metrics.tls.key_path", /is a directory/);
    } else {
      writeFileSync(p("locked.key"), "x");
      chmodSync(p("locked.key"), 0);
      await expectError(
        { ...tlsConfig(), key_path: p("locked.key") },
        "metrics.tls.key_path",
        /not readable/,
      );
    }
  });

  it("key does not match the certificate", async () => {
    await expectError(
      { ...tlsConfig(), key_path: p("client.key") },
      "metrics.tls.key_path",
      /does not match certificate/,
    );
  });

  it("a file that is not PEM", async () => {
    writeFileSync(p("garbage.crt"), "not a certificate\n");
    await expectError(
      { ...tlsConfig(), cert_path: p("garbage.crt") },
      "metrics.tls.cert_path",
      /not a PEM certificate/,
    );
    await expectError(
      { ...tlsConfig(), ca_path: p("garbage.crt") },
      "metrics.tls.ca_path",
      /not a PEM certificate/,
    );
  });

  it("require_mtls without a CA", () => {
    expect(() => loadMetricsTls({ ...tlsConfig(), ca_path: "" })).toThrow(
      /^metrics\.tls\.ca_path: is required when require_mtls is true$/,
    );
  });
});

describe("startMetricsServerFromConfig (the metrics config section)", () => {
  it("starts nothing when disabled, TLS only when tls.enabled, and names the bad key", async () => {
    const base = { enabled: false, host: "127.0.0.1", port: 0, tls: { enabled: false, require_mtls: false } };
    expect(await startMetricsServerFromConfig(base)).toBeUndefined();
    const plain = await startMetricsServerFromConfig({ ...base, enabled: true });
    expect(plain?.url).toMatch(/^http:/);
    await plain?.close();
    const mtls = await startMetricsServerFromConfig({
      ...base,
      enabled: true,
      tls: { enabled: true, ...tlsConfig() },
    });
    expect(mtls?.url).toMatch(/^https:/);
    expect((await scrape(mtls?.url ?? "", { cert: "client.crt", key: "client.key" })).status).toBe(200);
    await mtls?.close();
    await expect(
      startMetricsServerFromConfig({ ...base, enabled: true, tls: { enabled: true, require_mtls: false } }),
    ).rejects.toThrow(/^metrics\.tls\.cert_path: is required when TLS is configured$/);
  });
});
