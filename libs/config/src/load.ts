import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { applyEnv } from "./env.ts";
import { ConfigError } from "./errors.ts";
import { configFields } from "./sections/index.ts";
import type { InferFields } from "./spec.ts";
import { validateFields } from "./validate.ts";

export type Config = InferFields<typeof configFields>;

export interface LoadOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Explicit file; otherwise `--config <path>` in argv, then CERTSTREAM_CONFIG. No file = defaults + env. */
  path?: string;
}

export interface LoadedConfig {
  config: Config;
  /** The file read, if any (hot reload watches it). */
  path: string | null;
  /** Keys and env vars that name nothing we know: reported, not fatal, so a certstream-server-rust file works. */
  warnings: string[];
}

export function configPath(opts: LoadOptions): string | null {
  if (opts.path) return opts.path;
  const argv = opts.argv ?? process.argv;
  const i = argv.indexOf("--config");
  if (i >= 0) {
    const p = argv[i + 1];
    if (!p || p.startsWith("--")) throw new ConfigError("--config", "needs a file path");
    return p;
  }
  const fromArg = argv.find((a) => a.startsWith("--config="));
  if (fromArg) return fromArg.slice("--config=".length);
  return (opts.env ?? process.env).CERTSTREAM_CONFIG || null;
}

/** Reads, overrides from env, validates. Throws ConfigError naming the key. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const path = configPath(opts);
  let raw: Record<string, unknown> = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError("--config", `cannot read ${path}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError("(file)", `${path} is not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed))
        throw new ConfigError("(root)", `${path} must hold a mapping of sections`);
      raw = parsed as Record<string, unknown>;
    }
  }
  const warnings = applyEnv(configFields, raw, env).map((name) => `unknown env var ${name} (ignored)`);
  const unknown: string[] = [];
  const config = validateFields(configFields, raw, "", unknown);
  for (const key of unknown) warnings.push(`unknown key "${key}" (ignored)`);
  checkCrossField(config);
  return { config, path, warnings };
}

function checkCrossField(c: Config): void {
  if (c.auth.enabled && c.auth.tokens.length === 0)
    throw new ConfigError("auth.tokens", "must list at least one token when auth.enabled is true");
  if (c.ct_log.retry_initial_delay_ms > c.ct_log.retry_max_delay_ms)
    throw new ConfigError("ct_log.retry_initial_delay_ms", "must not exceed ct_log.retry_max_delay_ms");
  if (c.metrics.tls.enabled) {
    if (!c.metrics.tls.cert_path)
      throw new ConfigError("metrics.tls.cert_path", "is required when tls.enabled");
    if (!c.metrics.tls.key_path)
      throw new ConfigError("metrics.tls.key_path", "is required when tls.enabled");
    if (c.metrics.tls.require_mtls && !c.metrics.tls.ca_path)
      throw new ConfigError("metrics.tls.ca_path", "is required when require_mtls is true");
  }
  const names = new Set<string>();
  for (const [i, log] of [...c.custom_logs, ...c.static_logs].entries()) {
    if (names.has(log.url)) throw new ConfigError(`logs[${i}].url`, `${log.url} is listed twice`);
    names.add(log.url);
  }
}

/** The effective config for printing: secrets replaced. */
export function redactConfig(c: Config): Config {
  const storage = { ...c.delta_sink.storage_options };
  for (const k of ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) if (storage[k]) storage[k] = "[redacted]";
  return {
    ...c,
    auth: { ...c.auth, tokens: c.auth.tokens.map(() => "[redacted]") },
    delta_sink: { ...c.delta_sink, storage_options: storage },
  };
}
