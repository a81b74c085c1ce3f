import { ConfigError } from "./errors.ts";
import type { Fields, Spec } from "./spec.ts";

type Plain = Record<string, unknown>;

export const ENV_PREFIX = "CERTSTREAM_";
/** Env vars with the prefix that are not config keys. */
const RESERVED = new Set(["CERTSTREAM_CONFIG"]);

/**
 * Applies `CERTSTREAM_<SECTION>_<FIELD>` overrides onto the raw (parsed YAML) config. Section and field names
 * contain underscores themselves (`CERTSTREAM_CT_LOG_BATCH_SIZE`), so the path is found by walking the spec and
 * taking the longest key that matches at each level. Returns the env vars that name no key.
 */
export function applyEnv(fields: Fields, raw: Plain, env: NodeJS.ProcessEnv): string[] {
  const unmatched: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || RESERVED.has(name) || value === undefined) continue;
    const rest = name.slice(ENV_PREFIX.length).toLowerCase();
    if (!setPath(fields, raw, rest, value, name, "")) unmatched.push(name);
  }
  return unmatched;
}

/** `prefix` is the dotted path of `fields` ("" at the top), so an error names the key and the variable. */
function setPath(
  fields: Fields,
  target: Plain,
  rest: string,
  value: string,
  envName: string,
  prefix: string,
): boolean {
  const keys = Object.keys(fields)
    .filter((k) => rest === k || rest.startsWith(`${k}_`))
    .sort((a, b) => b.length - a.length);
  for (const key of keys) {
    const spec = fields[key];
    if (rest === key) {
      if (spec.kind === "section") continue;
      target[key] = coerce(spec, value, `${prefix}${key}`, envName);
      return true;
    }
    if (spec.kind === "section") {
      const child = typeof target[key] === "object" && target[key] !== null ? (target[key] as Plain) : {};
      if (setPath(spec.fields, child, rest.slice(key.length + 1), value, envName, `${prefix}${key}.`)) {
        target[key] = child;
        return true;
      }
    }
  }
  return false;
}

function coerce(spec: Spec, value: string, key: string, envName: string): unknown {
  const trimmed = value.trim();
  const bad = (problem: string) =>
    new ConfigError(key, `${problem} (set by the environment variable ${envName})`);
  switch (spec.kind) {
    case "int":
    case "number":
    case "optInt": {
      const n = Number(trimmed);
      if (trimmed === "" || !Number.isFinite(n)) throw bad(`must be a number, got "${value}"`);
      return n;
    }
    case "bool":
      if (/^(true|1|yes|on)$/i.test(trimmed)) return true;
      if (/^(false|0|no|off)$/i.test(trimmed)) return false;
      throw bad(`must be true or false, got "${value}"`);
    case "string":
    case "optString":
      return value;
    case "strings":
      if (trimmed.startsWith("[")) return parseJson(trimmed, bad);
      return trimmed === "" ? [] : trimmed.split(",").map((s) => s.trim());
    case "list":
    case "map":
    case "section":
      return parseJson(trimmed, bad);
  }
}

function parseJson(text: string, bad: (problem: string) => ConfigError): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw bad(`must be JSON, got "${text}"`);
  }
}
