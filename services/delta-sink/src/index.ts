export {
  type OptimizeCommandOptions,
  parseOptimizeArgs,
  runOptimize,
  runVacuum,
} from "./optimize-command.ts";
export { buildHttp, type DeltaSinkService, startDeltaSinkService } from "./service.ts";
export { DeltaSink, type DeltaSinkOptions, type EntryDecoder } from "./sink.ts";
