/**
 * With the dedicated metrics listener on (`metrics.enabled`, here over TLS with `require_mtls`), no service
 * port serves /metrics: the client-certificate check would protect nothing next to the same metrics in clear
 * (issue 12: the streamer's port served them unless `protocols.metrics: false`, the delta sink's always).
 * Checked on every service with an HTTP port, each running as its own process.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "./raw-http.ts";
import { HTTP_SERVICES, type HttpService, type RunningServices, startServices } from "./running-services.ts";
import { freePort } from "./service-process.ts";
import { makeTestPki, type TestPki, tlsGet } from "./tls-certs.ts";

let pki: TestPki;
let services: RunningServices;
const mtlsPorts = {} as Record<HttpService, number>;

beforeAll(async () => {
  pki = makeTestPki();
  const env: Partial<Record<HttpService, Record<string, string>>> = {};
  for (const s of HTTP_SERVICES) {
    mtlsPorts[s] = await freePort();
    env[s] = {
      CERTSTREAM_METRICS_ENABLED: "true",
      CERTSTREAM_METRICS_HOST: "127.0.0.1",
      CERTSTREAM_METRICS_PORT: String(mtlsPorts[s]),
      CERTSTREAM_METRICS_TLS_ENABLED: "true",
      CERTSTREAM_METRICS_TLS_CERT_PATH: pki.serverCert,
      CERTSTREAM_METRICS_TLS_KEY_PATH: pki.serverKey,
      CERTSTREAM_METRICS_TLS_CA_PATH: pki.ca,
      CERTSTREAM_METRICS_TLS_REQUIRE_MTLS: "true",
    };
  }
  // Liveness is enough: the HTTP ports answer before Kafka is joined.
  services = await startServices("metrics-mtls", { env, readyPath: "/health" });
}, 180_000);

afterAll(async () => {
  await services?.stop();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

describe("/metrics with the mTLS listener on", () => {
  for (const s of HTTP_SERVICES) {
    it(`${s}: only on the mTLS listener, to a trusted client certificate`, async () => {
      const port = services.ports[s];
      for (const target of ["/metrics", "/metrics?x=1", "/metrics/"]) {
        for (const method of ["GET", "HEAD"]) {
          const a = await rawRequest(
            port,
            `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          expect(a.status, `${method} ${target} on the ${s} port`).toBe(404);
          expect(a.received.toString()).not.toContain("certstream_");
        }
      }
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status, "the service port serves").toBe(200);

      const url = `https://127.0.0.1:${mtlsPorts[s]}/metrics`;
      const ok = await tlsGet(url, pki.ca, { cert: pki.clientCert, key: pki.clientKey });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain(`service="${s}"`);
      expect((await tlsGet(url, pki.ca)).status, "no client certificate").toBeUndefined();
      expect((await tlsGet(url, pki.ca, { cert: pki.rogueCert, key: pki.rogueKey })).status).toBeUndefined();
      expect(services.exits.get(s)).toBeUndefined();
    });
  }
});
