import type { AddressInfo } from "node:net";
import type { Logger } from "@certstream/log";
import { type HealthState, http, renderMetrics } from "@certstream/metrics";

export interface StatusServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * While the job runs: `/metrics` for Prometheus, `/health` (live: 200 while the process works) and `/health/ready`
 * (200 once connected to Kafka and the registry) for compose and Kubernetes probes. `backfill.port`; 0 picks one.
 */
export async function startStatusServer(opts: {
  host: string;
  port: number;
  health: HealthState;
  logger: Logger;
}): Promise<StatusServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/metrics") {
      renderMetrics().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        (err: unknown) => {
          opts.logger.error({ err: String(err) }, "metrics: rendering failed; answered 500");
          res.writeHead(500).end("metrics collection failed\n");
        },
      );
      return;
    }
    if (path === "/health" || path === "/health/live" || path === "/health/ready") {
      const snap = opts.health.snapshot();
      const ok = path === "/health/ready" ? snap.ready : snap.live;
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(snap));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;
  opts.logger.info({ url }, "backfill: serving /metrics and /health");
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
