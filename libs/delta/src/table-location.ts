import { randomUUID } from "node:crypto";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { S3Storage } from "./s3-storage.ts";
import { LocalStorage, type Storage } from "./storage.ts";

/*
 * Where the table lives, from the delta_sink config: `table_uri` (`s3://bucket/prefix` or a local path) or, when
 * it is empty, `table_path`; object store settings in `storage_options`, named as delta-rs names them, each
 * falling back to the environment variable of the same name (as delta-rs and the AWS SDK do).
 */

export interface TableLocationConfig {
  table_uri: string;
  table_path: string;
  storage_options: Record<string, string>;
}

/** A storage setting that cannot work, naming its config key; formatted like libs/config's ConfigError. */
export class StorageConfigError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`config key "${key}": ${problem}`);
    this.name = "StorageConfigError";
    this.key = key;
  }
}

/** The storage options this implementation reads (delta-rs / object_store names). */
export const STORAGE_OPTION_KEYS = [
  "AWS_ENDPOINT_URL",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_ALLOW_HTTP",
  "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
] as const;
type StorageOptionKey = (typeof STORAGE_OPTION_KEYS)[number];

const URI_KEY = "delta_sink.table_uri";
const optionKey = (k: string) => `delta_sink.storage_options.${k}`;

export type TableLocation = { kind: "local"; path: string } | { kind: "s3"; bucket: string; prefix: string };

/** Parses `table_uri` (empty: `table_path`). Throws StorageConfigError for a scheme or bucket that cannot work. */
export function parseTableLocation(
  cfg: Pick<TableLocationConfig, "table_uri" | "table_path">,
): TableLocation {
  const uri = cfg.table_uri.trim();
  if (uri === "") return { kind: "local", path: cfg.table_path };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "local", path: uri };
  if (scheme === "file") return { kind: "local", path: decodeURIComponent(uri.slice("file://".length)) };
  if (scheme !== "s3" && scheme !== "s3a") {
    throw new StorageConfigError(
      URI_KEY,
      `scheme ${scheme}:// is not supported (use s3://bucket/prefix or a local path)`,
    );
  }
  const rest = uri.slice(scheme.length + 3);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
  // S3 bucket naming rules: 3-63 characters, lower case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new StorageConfigError(URI_KEY, `"${bucket}" is not a valid bucket name in ${uri}`);
  }
  return { kind: "s3", bucket, prefix };
}

function option(cfg: TableLocationConfig, key: StorageOptionKey, env: NodeJS.ProcessEnv): string | undefined {
  const v = cfg.storage_options[key] ?? env[key];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function flag(cfg: TableLocationConfig, key: StorageOptionKey, env: NodeJS.ProcessEnv): boolean {
  const v = option(cfg, key, env);
  if (v === undefined) return false;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new StorageConfigError(optionKey(key), `must be true or false, got ${JSON.stringify(v)}`);
}

/** The S3 client settings of the storage options (endpoint, region, addressing, static credentials if given). */
export function s3ClientConfig(
  cfg: TableLocationConfig,
  env: NodeJS.ProcessEnv = process.env,
): S3ClientConfig {
  for (const k of Object.keys(cfg.storage_options)) {
    if (!(STORAGE_OPTION_KEYS as readonly string[]).includes(k)) {
      throw new StorageConfigError(
        optionKey(k),
        `unknown storage option (known: ${STORAGE_OPTION_KEYS.join(", ")})`,
      );
    }
  }
  const endpoint = option(cfg, "AWS_ENDPOINT_URL", env);
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new StorageConfigError(optionKey("AWS_ENDPOINT_URL"), `not a URL: ${JSON.stringify(endpoint)}`);
    }
    if (url.protocol === "http:" && !flag(cfg, "AWS_ALLOW_HTTP", env)) {
      throw new StorageConfigError(
        optionKey("AWS_ENDPOINT_URL"),
        `${endpoint} is plain HTTP: set delta_sink.storage_options.AWS_ALLOW_HTTP to true to allow it`,
      );
    }
  }
  const accessKeyId = option(cfg, "AWS_ACCESS_KEY_ID", env);
  const secretAccessKey = option(cfg, "AWS_SECRET_ACCESS_KEY", env);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY";
    throw new StorageConfigError(
      optionKey(missing),
      "is missing while the other half of the key pair is set",
    );
  }
  // delta-rs (object_store) addresses buckets path-style unless told otherwise, which is what S3-compatible
  // stores expect; on AWS itself (no endpoint) the SDK's virtual-hosted default stays.
  const virtualHosted = flag(cfg, "AWS_VIRTUAL_HOSTED_STYLE_REQUEST", env);
  const out: S3ClientConfig = {
    region: option(cfg, "AWS_REGION", env) ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    forcePathStyle: endpoint !== undefined && !virtualHosted,
  };
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    out.credentials = { accessKeyId, secretAccessKey, sessionToken: option(cfg, "AWS_SESSION_TOKEN", env) };
  }
  return out;
}

/** The Storage for the configured table (not yet checked: see verifyStorage). */
export function storageFor(
  cfg: TableLocationConfig,
  options: { sync?: boolean; env?: NodeJS.ProcessEnv } = {},
): Storage {
  const loc = parseTableLocation(cfg);
  if (loc.kind === "local") return new LocalStorage(loc.path, { sync: options.sync });
  return new S3Storage({ bucket: loc.bucket, prefix: loc.prefix, client: s3ClientConfig(cfg, options.env) });
}

/** The configured table's location for logs and messages (`s3://bucket/prefix` or the local path). */
export function tableLocationText(cfg: Pick<TableLocationConfig, "table_uri" | "table_path">): string {
  const loc = parseTableLocation(cfg);
  return loc.kind === "local" ? loc.path : `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ""}`;
}

interface ServiceErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Checks at start that the store can hold the table safely: the bucket exists, the credentials are accepted, and
 * a second `If-None-Match: *` PUT of a key is refused (a store that ignores it would let two writers overwrite
 * each other's commits). Throws StorageConfigError naming the key for those; other errors (the endpoint not
 * answering) are thrown as they are, for the caller to retry. Leaves nothing behind. Local storage: nothing to do.
 */
export async function verifyStorage(storage: Storage): Promise<void> {
  if (!(storage instanceof S3Storage)) return;
  try {
    await storage.client.send(new HeadBucketCommand({ Bucket: storage.bucket }));
  } catch (err) {
    const e = err as ServiceErrorShape;
    const status = e.$metadata?.httpStatusCode;
    if (status === 404 || e.name === "NotFound" || e.name === "NoSuchBucket") {
      throw new StorageConfigError(
        URI_KEY,
        `bucket "${storage.bucket}" does not exist (${storage.location})`,
      );
    }
    if (
      status === 403 ||
      status === 401 ||
      e.name === "InvalidAccessKeyId" ||
      e.name === "SignatureDoesNotMatch"
    ) {
      throw new StorageConfigError(
        optionKey("AWS_ACCESS_KEY_ID"),
        `the store refused the credentials for bucket "${storage.bucket}" (HTTP ${status ?? "?"} ${e.name ?? ""}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile / web identity of the default chain)`,
      );
    }
    throw err;
  }
  const probe = `_certstream_put_if_absent_probe_${randomUUID()}`;
  try {
    const first = await storage.putIfAbsent(probe, new TextEncoder().encode("first"));
    const second = await storage.putIfAbsent(probe, new TextEncoder().encode("second"));
    if (!first || second) {
      throw new StorageConfigError(
        optionKey("AWS_ENDPOINT_URL"),
        `the store at ${storage.location} does not honour If-None-Match: * (a second conditional PUT of one key was ${second ? "accepted" : "refused, but so was the first"}); writing Delta commits there could overwrite them, so the sink will not`,
      );
    }
  } finally {
    await storage.delete(probe).catch(() => {});
  }
}
