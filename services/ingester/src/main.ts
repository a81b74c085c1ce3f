// The ingester process: config, logger, metrics, then everything else in service.ts.
import { startupConfig } from "@certstream/config";
import { applyKafkajsFastEncoding } from "@certstream/kafka";
import { createLogger } from "@certstream/log";
import { initMetrics, installPanicHandlers } from "@certstream/metrics";
import { type IngesterService, startIngesterService } from "./service.ts";

const { config } = startupConfig("ingester");
const logger = createLogger("ingester", config.log_level);
initMetrics({ service: "ingester" });
installPanicHandlers(logger);

let service: IngesterService | undefined;
let exiting = false;

/** Stops intake, finishes the transactions in flight, leaves the groups, exits with `code`. */
function shutdown(code: number): void {
  if (exiting) return;
  exiting = true;
  (service ? service.stop() : Promise.resolve()).then(
    () => process.exit(code),
    (e: unknown) => {
      logger.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
      process.exit(1);
    },
  );
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    logger.info({ signal: sig }, "shutting down: finishing the transactions in flight");
    shutdown(0);
  });
}

// Before the first produce (see libs/kafka/src/kafkajs-patches/fast-encoding.ts); KAFKAJS_STOCK_ENCODING=1 keeps kafkajs' own (A/B runs).
if (process.env.KAFKAJS_STOCK_ENCODING !== "1") {
  logger.info(
    { applied: applyKafkajsFastEncoding() },
    "kafkajs record encoding: allocUnsafe, exact-size records, CRC-32C by 8",
  );
}

try {
  service = await startIngesterService(config, logger, {
    onFatal: (e) => {
      logger.fatal({ err: e.message }, "a group consumer stopped for good; exiting for a clean restart");
      shutdown(1);
    },
  });
  if (exiting) await service.stop();
} catch (e) {
  logger.fatal({ err: e instanceof Error ? e.message : String(e) }, "ingester failed to start");
  process.exit(1);
}
