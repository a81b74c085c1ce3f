import { ConfigError } from "./errors.ts";
import { type Config, type LoadedConfig, loadConfig, redactConfig } from "./load.ts";

/**
 * What every service's main does first: load the config; with `--validate-config` print the effective
 * config (secrets redacted) and exit 0; on a bad config print the key and the problem and exit 2.
 */
export function startupConfig(service: string, argv: readonly string[] = process.argv): LoadedConfig {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ argv });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`${service}: config warning: ${w}\n`);
  if (argv.includes("--validate-config")) {
    process.stdout.write(`${JSON.stringify(redactConfig(loaded.config), null, 2)}\n`);
    process.exit(0);
  }
  return loaded;
}

export type { Config };
