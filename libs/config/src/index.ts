export { ConfigError } from "./errors.ts";
export {
  type Config,
  configPath,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  redactConfig,
} from "./load.ts";
export { configFields } from "./sections/index.ts";
export type { Infer, InferFields } from "./spec.ts";
export { startupConfig } from "./startup.ts";
