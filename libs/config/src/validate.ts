import { ConfigError } from "./errors.ts";
import type { Fields, InferFields, Spec } from "./spec.ts";

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/**
 * Checks `raw` against `fields`, filling defaults. Unknown keys are returned as warnings rather than errors so
 * that a certstream-server-rust config (which has keys we do not use) still starts.
 */
export function validateFields<F extends Fields>(
  fields: F,
  raw: unknown,
  path: string,
  unknown: string[],
): InferFields<F> {
  return validateObject(fields, raw, path, unknown) as InferFields<F>;
}

// Untyped on purpose: inferring the result type at every nesting level is too deep for the compiler.
function validateObject(fields: Fields, raw: unknown, path: string, unknown: string[]): Plain {
  const obj = raw ?? {};
  if (!isPlain(obj)) throw new ConfigError(path || "(root)", `must be a mapping, got ${show(raw)}`);
  const out: Plain = {};
  for (const [key, spec] of Object.entries(fields)) {
    out[key] = validateValue(spec, obj[key], join(path, key), unknown);
  }
  for (const key of Object.keys(obj)) if (!(key in fields)) unknown.push(join(path, key));
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function validateValue(spec: Spec, v: unknown, key: string, unknown: string[]): unknown {
  switch (spec.kind) {
    case "int":
    case "number": {
      if (v === undefined || v === null) return spec.default;
      if (typeof v !== "number" || !Number.isFinite(v) || (spec.kind === "int" && !Number.isInteger(v)))
        throw new ConfigError(
          key,
          `must be ${spec.kind === "int" ? "an integer" : "a number"}, got ${show(v)}`,
        );
      if (spec.min !== undefined && v < spec.min)
        throw new ConfigError(key, `must be >= ${spec.min}, got ${v}`);
      if (spec.max !== undefined && v > spec.max)
        throw new ConfigError(key, `must be <= ${spec.max}, got ${v}`);
      return v;
    }
    case "optInt": {
      if (v === undefined || v === null) return null;
      if (typeof v !== "number" || !Number.isInteger(v))
        throw new ConfigError(key, `must be an integer, got ${show(v)}`);
      if (spec.min !== undefined && v < spec.min)
        throw new ConfigError(key, `must be >= ${spec.min}, got ${v}`);
      return v;
    }
    case "bool":
      if (v === undefined || v === null) return spec.default;
      if (typeof v !== "boolean") throw new ConfigError(key, `must be true or false, got ${show(v)}`);
      return v;
    case "string": {
      if (v === undefined || v === null || v === "") {
        if (spec.required) throw new ConfigError(key, "is required");
        return spec.default;
      }
      if (typeof v !== "string") throw new ConfigError(key, `must be a string, got ${show(v)}`);
      if (spec.oneOf && !spec.oneOf.includes(v))
        throw new ConfigError(key, `must be one of ${spec.oneOf.join(", ")}, got ${show(v)}`);
      if (spec.url && !URL.canParse(v)) throw new ConfigError(key, `must be a URL, got ${show(v)}`);
      return v;
    }
    case "optString":
      if (v === undefined || v === null || v === "") return null;
      if (typeof v !== "string") throw new ConfigError(key, `must be a string, got ${show(v)}`);
      return v;
    case "strings":
      if (v === undefined || v === null) return [...spec.default];
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
        throw new ConfigError(key, `must be a list of strings, got ${show(v)}`);
      return v;
    case "section":
      return validateObject(spec.fields, v, key, unknown);
    case "list":
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw new ConfigError(key, `must be a list, got ${show(v)}`);
      return v.map((item, i) => validateObject(spec.item, item, `${key}[${i}]`, unknown));
    case "map": {
      if (v === undefined || v === null) return {};
      if (!isPlain(v)) throw new ConfigError(key, `must be a mapping, got ${show(v)}`);
      const out: Plain = {};
      for (const [k, item] of Object.entries(v))
        out[k] = validateValue(spec.value, item, join(key, k), unknown);
      return out;
    }
  }
}
