// @certstream/backfill: the gap-filling job's building blocks, for tests, benchmarks and other tools.
export {
  fileStatsOf,
  INDEX_COLUMN,
  LOG_COLUMN,
  openArchive,
  scanArchive,
  sinkTxnVersions,
} from "./archive-scan.ts";
export {
  type BackfillJobDeps,
  type BackfillPlan,
  formatPlan,
  planBackfill,
  runBackfill,
} from "./backfill-job.ts";
export { BackfillProducer, backfillTransactionalId } from "./backfill-producer.ts";
export { runCli } from "./cli.ts";
export { type BackfillArgs, parseArgs, USAGE, UsageError } from "./cli-args.ts";
export {
  ArchiveIndex,
  type DataFileStats,
  decideFromStats,
  gapsForLog,
  type LogGaps,
  WantedLogs,
  withoutPending,
} from "./gap-detection.ts";
export { IndexBitmap } from "./index-bitmap.ts";
export * from "./index-ranges.ts";
export { type CatalogLog, loadCatalog, selectLogs, sourceOf } from "./log-catalog.ts";
export { type BackfillSummary, exitCodeFor, formatSummary, type LogOutcome } from "./summary.ts";
