// The archive search service: GET /api/search and /api/certificate/:ref over the Delta archive, /health, /metrics.
// Stateless (caches only): run as many replicas as the load needs. The command line search is src/cli.ts.
import { startupConfig } from "@certstream/config";
import { createLogger } from "@certstream/log";
import { initMetrics, installPanicHandlers } from "@certstream/metrics";
import { startArchiveSearchService } from "./service.ts";

const { config } = startupConfig("archive-search");
const logger = createLogger("archive-search", config.log_level);
initMetrics({ service: "archive-search" });
installPanicHandlers(logger);

const service = await startArchiveSearchService(config, logger).catch((e: unknown) => {
  logger.fatal({ err: e instanceof Error ? e.message : String(e) }, "archive-search failed to start");
  process.exit(1);
});

let signalled = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal: sig }, "shutting down");
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
