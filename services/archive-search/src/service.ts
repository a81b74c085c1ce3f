import { ArchiveSearch } from "@certstream/archive-search";
import type { Config } from "@certstream/config";
import type { Storage } from "@certstream/delta";
import { LocalStorage, storageFor, tableLocationText } from "@certstream/delta";
import type { Logger } from "@certstream/log";
import { HealthState, registerHttpMetrics, registerMetricsRoute } from "@certstream/metrics";
import Fastify from "fastify";
import { registerSearchRoutes } from "./search-routes.ts";

export interface ArchiveSearchService {
  search: ArchiveSearch;
  health: HealthState;
  /** http://host:port of /api/search, /health, /metrics. */
  url: string;
  stop(): Promise<void>;
}

/** The table the service searches: archive_search.table_path, else the sink's table (local or S3: table_uri). */
export function searchTable(config: Config): { storage: Storage; location: string } {
  const own = config.archive_search.table_path;
  if (own !== "") return { storage: new LocalStorage(own, { sync: false }), location: own };
  return {
    storage: storageFor(config.delta_sink, { sync: false }),
    location: tableLocationText(config.delta_sink),
  };
}

/**
 * Listens at once; ready when the table's log has been read (a table not created yet keeps it unready, retried
 * every refresh interval, and /api/search answers 503 meanwhile).
 */
export async function startArchiveSearchService(
  config: Config,
  logger: Logger,
): Promise<ArchiveSearchService> {
  const cfg = config.archive_search;
  const { storage, location: table } = searchTable(config);
  const health = new HealthState({ logger, service: "archive-search" });
  const search = new ArchiveSearch({
    storage,
    maxScanShare: cfg.max_scan_share,
    footerCacheFiles: cfg.footer_cache_files,
    refreshIntervalMs: cfg.refresh_interval_ms,
  });
  // A DER reference (table version, data file path, row) is longer than fastify's default 100-character parameter.
  const app = Fastify({ logger: false, routerOptions: { maxParamLength: 1024 } });
  registerHttpMetrics(app, { ignoreRoutes: ["/metrics"] });
  app.get("/health", async (_req, reply) =>
    reply.code(health.live ? 200 : 503).send({ status: health.live ? "ok" : "down", health: health.status }),
  );
  app.get("/health/ready", async (_req, reply) =>
    reply
      .code(health.ready ? 200 : 503)
      .send({ status: health.ready ? "ready" : "not_ready", health: health.status }),
  );
  app.addHook("onRequest", async (request, reply) => {
    if (!health.ready && request.url.startsWith("/api/")) {
      return reply
        .code(503)
        .send({ error: "not_ready", message: `the archive table at ${table} is not readable yet` });
    }
  });
  registerSearchRoutes(app, search, logger, { allowOrigin: cfg.allow_origin });
  registerMetricsRoute(app);
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastProbeError = "";
  const probe = async (): Promise<void> => {
    try {
      const snap = await search.latest();
      health.setReady(true, "table readable", { table, version: snap.version, files: snap.numFiles });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      health.setReady(false, "table not readable", { table, err: message });
      // Each new reason once (a table the sink has not created yet is expected for a while after a fresh start).
      if (message !== lastProbeError)
        logger.warn({ table, err: message }, "archive-search: table not readable; retrying");
      lastProbeError = message;
    }
    if (!stopped) timer = setTimeout(() => void probe(), Math.max(1000, cfg.refresh_interval_ms));
  };
  await probe();
  const url = await app.listen({ host: config.host, port: cfg.port });
  logger.info({ url, table, max_scan_share: cfg.max_scan_share }, "archive-search: listening");
  return {
    search,
    health,
    url,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await app.close();
    },
  };
}
