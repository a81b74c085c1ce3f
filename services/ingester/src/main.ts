// The ingester process: config, logger, metrics, then everything else in service.ts.
import { startupConfig } from "@certstream/config";
import { createLogger } from "@certstream/log";
import { initMetrics, installPanicHandlers } from "@certstream/metrics";
import { startIngesterService } from "./service.ts";

const { config } = startupConfig("ingester");
const logger = createLogger("ingester", config.log_level);
initMetrics({ service: "ingester" });
installPanicHandlers(logger);

const service = await startIngesterService(config, logger).catch((e: unknown) => {
  logger.fatal({ err: e instanceof Error ? e.message : String(e) }, "ingester failed to start");
  process.exit(1);
});

let signalled = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal: sig }, "shutting down: finishing the transactions in flight");
    service.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
