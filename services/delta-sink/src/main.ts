// The delta-sink process: `main.ts [--config file]` runs the sink; `main.ts optimize [--before YYYY-MM-DD]
// [--target-mb N]` compacts closed date partitions and exits (safe while sinks run); `main.ts vacuum
// [--retention-hours N] [--dry-run]` deletes unreferenced data files older than the retention; `main.ts files
// [--version N]` prints the active data files' URIs (for read_parquet in DuckDB and other Parquet readers).
import { startupConfig } from "@certstream/config";
import { StorageConfigError } from "@certstream/delta";
import { createLogger } from "@certstream/log";
import { initMetrics, installPanicHandlers } from "@certstream/metrics";
import { activeFileUris, parseOptimizeArgs, runOptimize, runVacuum } from "./optimize-command.ts";
import { startDeltaSinkService } from "./service.ts";

const { config } = startupConfig("delta-sink");
const logger = createLogger("delta-sink", config.log_level);
initMetrics({ service: "delta-sink" });
installPanicHandlers(logger);

if (process.argv.slice(2).includes("optimize")) {
  try {
    const result = await runOptimize(config, logger, parseOptimizeArgs(process.argv.slice(2)));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  } catch (err) {
    logger.fatal({ err: String(err) }, "optimize failed");
    process.exit(1);
  }
}

if (process.argv.slice(2).includes("vacuum")) {
  try {
    const result = await runVacuum(config, logger, process.argv.slice(2));
    process.stdout.write(`${JSON.stringify({ deleted: result.deleted.length, bytes: result.bytes })}\n`);
    process.exit(0);
  } catch (err) {
    logger.fatal({ err: String(err) }, "vacuum failed");
    process.exit(1);
  }
}

if (process.argv.slice(2).includes("files")) {
  try {
    const uris = await activeFileUris(config, process.argv.slice(2));
    process.stdout.write(uris.length > 0 ? `${uris.join("\n")}\n` : "");
    process.exit(0);
  } catch (err) {
    logger.fatal({ err: String(err) }, "files failed");
    process.exit(1);
  }
}

if (!config.delta_sink.enabled) {
  logger.info("delta_sink.enabled is false: nothing to do");
  process.exit(0);
}

const service = await startDeltaSinkService(config, logger).catch((e: unknown) => {
  logger.fatal({ err: e instanceof Error ? e.message : String(e) }, "delta-sink failed to start");
  // 2, as for any bad config: the table location cannot work (missing bucket, refused credentials, ...).
  process.exit(e instanceof StorageConfigError ? 2 : 1);
});

let signalled = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal: sig }, "shutting down: flushing the buffer to Delta");
    service.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
