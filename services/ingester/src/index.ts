export { buildApi, type LogView, logView } from "./api.ts";
export { CtLogReader, LogRangeRefused } from "./ct-log-reader.ts";
export { type DedupOptions, DedupStage } from "./dedup-stage.ts";
export {
  entryHeaders,
  HEADER_LEAF_PARSED,
  HEADER_LOG_ID,
  HEADER_LOG_INDEX,
  HEADER_PARSE_ERROR,
} from "./entry-record.ts";
export { Ingester, type IngesterOptions, type LogReport, type WatchableLog } from "./ingester.ts";
export { assignPartitions, logBalancedAssigner, logPartition } from "./log-assignment.ts";
export { type LogCatalog, logIdOf, logSelection, startLogCatalog } from "./log-catalog.ts";
export type { LogHead, LogReader } from "./log-reader.ts";
export { LogWatcher, type WatcherStatus } from "./log-watcher.ts";
export { SeenSet } from "./seen-set.ts";
export { type IngesterService, type StartOptions, startIngesterService } from "./service.ts";
export { StateCodec } from "./state-codec.ts";
export type { IngesterState } from "./state-record.ts";
export { StateView } from "./state-view.ts";
