// The archive search service: GET /api/search and /api/certificate/:ref over the Delta archive, /health, /metrics.
// Stateless (caches only): run as many replicas as the load needs. The command line search is src/cli.ts.
// `main.ts cluster [--before YYYY-MM-DD]` clusters closed days of the table for search and exits.
import { startupConfig } from "@certstream/config";
import { createLogger } from "@certstream/log";
import { initMetrics, installPanicHandlers } from "@certstream/metrics";
import { runCluster } from "./cluster-command.ts";
import { startArchiveSearchService } from "./service.ts";

const { config } = startupConfig("archive-search");
const logger = createLogger("archive-search", config.log_level);
initMetrics({ service: "archive-search", usesKafka: false });
installPanicHandlers(logger);

if (process.argv.slice(2).includes("cluster")) {
  try {
    process.stdout.write(`${JSON.stringify(await runCluster(config, logger, process.argv.slice(2)))}\n`);
    process.exit(0);
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, "cluster failed");
    process.exit(1);
  }
}

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
