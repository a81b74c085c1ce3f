/**
 * Hot reload: polls the config file (polling survives editors and ConfigMaps that replace the file rather
 * than write it) and hands a freshly loaded, validated config to `apply`. An invalid file is logged and
 * counted, and the running config stays in force.
 */
import { unwatchFile, watchFile } from "node:fs";
import { type Config, loadConfig } from "@certstream/config";
import type { Logger } from "@certstream/log";
import { recordConfigReload } from "@certstream/metrics";

export function watchConfig(opts: {
  path: string;
  /** What loadConfig needs besides the path (env overrides still apply on reload). */
  env?: NodeJS.ProcessEnv;
  intervalMs?: number;
  logger: Logger;
  apply: (config: Config) => void;
}): () => void {
  const listener = (cur: { mtimeMs: number }, prev: { mtimeMs: number }) => {
    if (cur.mtimeMs === prev.mtimeMs) return;
    try {
      const loaded = loadConfig({ path: opts.path, env: opts.env ?? process.env, argv: [] });
      opts.apply(loaded.config);
      recordConfigReload(true);
      opts.logger.info({ path: opts.path }, "config reloaded; new limits apply to new requests");
    } catch (err) {
      recordConfigReload(false);
      opts.logger.error({ err, path: opts.path }, "config reload failed; keeping the running config");
    }
  };
  watchFile(opts.path, { interval: opts.intervalMs ?? 500, persistent: false }, listener);
  return () => unwatchFile(opts.path, listener);
}
