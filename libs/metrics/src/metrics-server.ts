// `/metrics` on its own port, optionally over TLS with client-certificate verification (seed 003's
// MetricsServer with mTLS). The TLS material is validated before listening, with errors that name the
// config key and say what is wrong (missing, unreadable, not PEM, key does not match the certificate).

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { MetricsLogger } from "./logger.ts";
import { http } from "./node-http.ts";
import { renderMetrics } from "./registry.ts";

export interface MetricsTlsConfig {
  /** Server certificate chain (PEM). */
  cert_path: string;
  /** Server private key (PEM), matching cert_path. */
  key_path: string;
  /** CA bundle (PEM) that client certificates must chain to; required when require_mtls. */
  ca_path?: string;
  /** Refuse clients without a certificate signed by ca_path. */
  require_mtls: boolean;
}

export interface MetricsServerConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  tls?: MetricsTlsConfig;
  /** Default "/metrics". */
  path?: string;
  logger?: MetricsLogger;
}

export interface MetricsServer {
  /** e.g. https://127.0.0.1:9464/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Do not keep the process alive for this listener alone. */
  unref(): void;
}

export class MetricsTlsConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options);
    this.name = "MetricsTlsConfigError";
    this.key = key;
  }
}

export interface LoadedTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** Subject and expiry of the server certificate, for the start log. */
  subject: string;
  validTo: string;
}

function readPem(key: string, path: string | undefined): Buffer {
  if (path === undefined || path === "")
    throw new MetricsTlsConfigError(key, "is required when TLS is configured");
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "is not readable (permission denied)"
          : code === "EISDIR"
            ? "is a directory"
            : `cannot be read (${code ?? String(err)})`;
    throw new MetricsTlsConfigError(key, `file ${path} ${why}`, { cause: err });
  }
}

function parseCert(key: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new MetricsTlsConfigError(
      key,
      `file ${path} is not a PEM certificate (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

/** Reads and checks the TLS files; throws MetricsTlsConfigError naming the bad key. */
export function loadMetricsTls(tls: MetricsTlsConfig, prefix = "metrics.tls"): LoadedTls {
  const cert = readPem(`${prefix}.cert_path`, tls.cert_path);
  const key = readPem(`${prefix}.key_path`, tls.key_path);
  const x509 = parseCert(`${prefix}.cert_path`, tls.cert_path, cert);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new MetricsTlsConfigError(
      `${prefix}.key_path`,
      `file ${tls.key_path} is not a PEM private key (${(err as Error).message})`,
      { cause: err },
    );
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new MetricsTlsConfigError(
      `${prefix}.key_path`,
      `private key ${tls.key_path} does not match certificate ${tls.cert_path} (${x509.subject})`,
    );
  let ca: Buffer | undefined;
  if (tls.ca_path !== undefined && tls.ca_path !== "") {
    ca = readPem(`${prefix}.ca_path`, tls.ca_path);
    parseCert(`${prefix}.ca_path`, tls.ca_path, ca);
  } else if (tls.require_mtls) {
    throw new MetricsTlsConfigError(`${prefix}.ca_path`, "is required when require_mtls is true");
  }
  return { cert, key, ...(ca ? { ca } : {}), subject: x509.subject, validTo: x509.validTo };
}

/** Starts the metrics endpoint; resolves once listening. Throws MetricsTlsConfigError before listening. */
export async function startMetricsServer(config: MetricsServerConfig): Promise<MetricsServer> {
  const path = config.path ?? "/metrics";
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = (req.url ?? "/").split("?")[0];
    if (url !== path || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    renderMetrics().then(
      ({ contentType, body }) => {
        res.writeHead(200, { "content-type": contentType });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        config.logger?.error({ err }, "metrics: rendering the registry failed; answered 500");
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  };

  let server: Server;
  const tls = config.tls ? loadMetricsTls(config.tls) : undefined;
  if (tls && config.tls) {
    server = createHttpsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca ? { ca: tls.ca } : {}),
        requestCert: config.tls.require_mtls,
        rejectUnauthorized: config.tls.require_mtls,
      },
      handler,
    );
    // Refused handshakes (no or untrusted client certificate) are expected noise from scanners; log them
    // at warn with the reason so a misconfigured Prometheus is diagnosable.
    server.on("tlsClientError", (err: Error) => {
      config.logger?.warn(
        { err: { message: err.message, code: (err as NodeJS.ErrnoException).code } },
        "metrics: TLS client refused",
      );
    });
  } else {
    server = http.createServer(handler);
  }
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = tls ? "https" : "http";
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${scheme}://${host}:${port}${path}`;
  config.logger?.info(
    {
      url,
      tls: Boolean(tls),
      require_mtls: config.tls?.require_mtls ?? false,
      ...(tls ? { cert_subject: tls.subject, cert_valid_to: tls.validTo } : {}),
    },
    "metrics: serving",
  );
  return {
    url,
    port,
    unref: () => {
      server.unref();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The `metrics` config section (libs/config sections/metrics.ts), structurally. */
export interface MetricsSection {
  enabled: boolean;
  host: string;
  port: number;
  tls: {
    enabled: boolean;
    cert_path?: string | null;
    key_path?: string | null;
    ca_path?: string | null;
    require_mtls: boolean;
  };
}

/**
 * Starts the dedicated metrics listener when `metrics.enabled`, else resolves undefined (then /metrics is
 * only on the service port). TLS errors name the `metrics.tls.*` key.
 */
export async function startMetricsServerFromConfig(
  section: MetricsSection,
  logger?: MetricsLogger,
): Promise<MetricsServer | undefined> {
  if (!section.enabled) return undefined;
  const t = section.tls;
  return startMetricsServer({
    host: section.host,
    port: section.port,
    ...(t.enabled
      ? {
          tls: {
            cert_path: t.cert_path ?? "",
            key_path: t.key_path ?? "",
            ...(t.ca_path ? { ca_path: t.ca_path } : {}),
            require_mtls: t.require_mtls,
          },
        }
      : {}),
    ...(logger ? { logger } : {}),
  });
}
