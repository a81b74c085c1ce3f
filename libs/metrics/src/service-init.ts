// What a service's main.ts calls first: build info, the service label, client instrumentation, and the
// dedicated metrics listener of the `metrics` config section (seed 003: own port, optional mTLS).
import { loadConfig } from "@certstream/config";
import { createLogger } from "@certstream/log";
import { setMetricsOnServicePort } from "./metrics-placement.ts";
import {
  loadMetricsTls,
  type MetricsSection,
  type MetricsServer,
  startMetricsServerFromConfig,
} from "./metrics-server.ts";
import { type InitMetricsOptions, registry, setBuildInfo } from "./registry.ts";

export interface ServiceMetricsOptions extends InitMetricsOptions {
  /**
   * The `metrics` section that decides the dedicated listener. Default "auto": read it the way the service
   * reads its config (`--config` / CERTSTREAM_CONFIG and CERTSTREAM_METRICS_* env vars); a config that does
   * not load starts no listener (the service itself reports the bad key). `null`: never start one.
   */
  metricsConfig?: MetricsSection | "auto" | null;
}

let listener: Promise<MetricsServer | undefined> = Promise.resolve(undefined);

/** The dedicated metrics listener started by initMetrics, if any (close it on shutdown, or let it be: it is unref'd). */
export function metricsListener(): Promise<MetricsServer | undefined> {
  return listener;
}

function autoSection(): MetricsSection | null {
  try {
    return loadConfig({ argv: process.argv, env: process.env }).config.metrics;
  } catch {
    return null;
  }
}

/**
 * Call once at service start, before creating Kafka or registry clients. Throws MetricsTlsConfigError (naming
 * the `metrics.tls.*` key) when the dedicated listener's TLS files are missing, unreadable or do not match,
 * so a misconfigured service stops at start with that message.
 */
export function initMetrics(opts: ServiceMetricsOptions): void {
  setBuildInfo(opts);
  listener = Promise.resolve(undefined);
  setMetricsOnServicePort(true);
  if (opts.usesKafka === false) {
    registry.removeSingleMetric("certstream_kafka_connected");
    registry.removeSingleMetric("certstream_schema_registry_connected");
  }
  const section =
    opts.metricsConfig === undefined || opts.metricsConfig === "auto" ? autoSection() : opts.metricsConfig;
  if (!section?.enabled) return;
  // From now on service ports answer /metrics with 404 (registerMetricsRoute), before any of them listens.
  setMetricsOnServicePort(false);
  if (section.tls.enabled)
    loadMetricsTls({
      cert_path: section.tls.cert_path ?? "",
      key_path: section.tls.key_path ?? "",
      ...(section.tls.ca_path ? { ca_path: section.tls.ca_path } : {}),
      require_mtls: section.tls.require_mtls,
    });
  const logger = createLogger(opts.service);
  listener = startMetricsServerFromConfig(section, logger).then(
    (server) => {
      server?.unref();
      return server;
    },
    (err: unknown) => {
      // Listening failed (port taken): say so instead of dying. A plain-HTTP listener loses nothing by
      // falling back to the service port; a TLS one must not fall back to clear text.
      const fields = { err, host: section.host, port: section.port, tls: section.tls.enabled };
      if (section.tls.enabled) {
        logger.error(fields, "metrics: dedicated TLS listener failed to start; /metrics is not served");
      } else {
        setMetricsOnServicePort(true);
        logger.error(
          fields,
          "metrics: dedicated listener failed to start; /metrics stays on the service port",
        );
      }
      return undefined;
    },
  );
}
