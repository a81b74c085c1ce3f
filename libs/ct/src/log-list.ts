import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Logger } from "@certstream/log";
import type { LogSource } from "./entry.ts";
import { CtFetchError } from "./fetch-error.ts";
import { LogFetcher } from "./log-fetcher.ts";
import { type LogKey, parseLogKey } from "./log-key.ts";
import { ctLogListLogs, ctLogListRefresh } from "./metrics.ts";
import { LOG_LIST_MAX_BYTES } from "./response-limits.ts";
import { originOf } from "./static-log-client.ts";

// Chrome's CT log list, v3 schema (https://www.gstatic.com/ct/log_list/v3/log_list_schema.json):
//   { version, log_list_timestamp, operators: [{ name, email, logs: [RFC 6962 log], tiled_logs: [static-ct-api log] }] }
//   log:       { description, log_id, key, url, mmd, state: { <state>: { timestamp, final_tree_head? } }, temporal_interval }
//   tiled log: the same with submission_url + monitoring_url instead of url.
// plus `custom_logs` (RFC 6962) and `static_logs` (static-ct-api) from our config.

export const DEFAULT_LOG_LIST_URL = "https://www.gstatic.com/ct/log_list/v3/log_list.json";

export const LOG_STATES = [
  "pending",
  "qualified",
  "usable",
  "readonly",
  "retired",
  "rejected",
  "unknown",
] as const;
export type LogState = (typeof LOG_STATES)[number];

/** States whose logs are watched by default: they have (or may still get) entries worth streaming. */
export const DEFAULT_WATCHED_STATES: readonly LogState[] = ["qualified", "usable", "readonly"];

/** A log to watch: LogSource (what every CertificateEntry carries) plus what the clients need. */
export interface LogDescription extends LogSource {
  /** The list's description verbatim (name is it without a trailing " log", as certstream names sources). */
  description: string;
  /** Null when unknown (custom log without key): tree heads are then not signature-checked. */
  key: LogKey | null;
  state: LogState;
  /** Maximum merge delay, seconds. */
  mmdSecs: number;
  /** static-ct-api: the submission prefix, and the checkpoint origin derived from it. */
  submissionUrl?: string;
  origin?: string;
  temporalInterval?: { startInclusive: string; endExclusive: string };
  finalTreeHead?: { treeSize: number; rootHash: string };
  /** Custom logs: where to start when there is no saved position. */
  startIndex?: number;
  source: "log_list" | "config";
}

/** Just the LogSource fields (what CertificateEntry.log carries), without key objects and list details. */
export function toLogSource(d: LogDescription): LogSource {
  return { id: d.id, name: d.name, url: d.url, operator: d.operator, kind: d.kind };
}

/** A `custom_logs[]` / `static_logs[]` config entry. */
export interface ConfiguredLog {
  name: string;
  /** RFC 6962 base URL, or static-ct-api monitoring prefix. */
  url: string;
  /** Expected base64 log id; with `key` it must match SHA-256(key). */
  log_id?: string;
  /** Base64 DER SPKI. Without it the key is taken from the log list when the url or log_id is listed. */
  key?: string;
  start_index?: number;
  operator?: string;
  /** static-ct-api only: submission prefix (the checkpoint origin is derived from it) or the origin itself. */
  submission_url?: string;
  origin?: string;
}

export interface LogSelection {
  /** Operator names (case-insensitive) whose logs are not watched: `ct_log.excluded_operators`. */
  excludedOperators?: string[];
  /** Log ids, names, descriptions or URLs not watched: `ct_log.excluded_logs`. */
  excludedLogs?: string[];
  watchStates?: readonly LogState[];
  customLogs?: ConfiguredLog[];
  staticLogs?: ConfiguredLog[];
}

export interface SkippedLog {
  /** Log id when the entry had a valid key. */
  id?: string;
  description: string;
  operator: string;
  /** excluded_operator | excluded_log | state:<state> | invalid_key | log_id_mismatch | invalid_entry */
  reason: string;
}

export interface LogList {
  version: string;
  timestamp: string;
  /** Logs to watch, list logs then configured ones. */
  logs: LogDescription[];
  skipped: SkippedLog[];
}

function normalizeUrl(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function nameOf(description: string): string {
  return description.replace(/\s+log$/i, "").trim();
}

function readState(state: unknown): { state: LogState; finalTreeHead?: LogDescription["finalTreeHead"] } {
  if (typeof state !== "object" || state === null) return { state: "unknown" };
  const keys = Object.keys(state).filter((k) => (LOG_STATES as readonly string[]).includes(k));
  if (keys.length !== 1) return { state: "unknown" };
  const s = keys[0] as LogState;
  const fth = (
    state as Record<string, { final_tree_head?: { tree_size?: unknown; sha256_root_hash?: unknown } }>
  )[s]?.final_tree_head;
  if (fth && typeof fth.tree_size === "number" && typeof fth.sha256_root_hash === "string") {
    return { state: s, finalTreeHead: { treeSize: fth.tree_size, rootHash: fth.sha256_root_hash } };
  }
  return { state: s };
}

function matchesAny(list: Set<string>, ...values: (string | undefined)[]): boolean {
  return values.some((v) => v !== undefined && list.has(v.toLowerCase()));
}

/**
 * The pseudo log id of a log configured without key or id: base64 SHA-256 of its URL with a trailing slash
 * (stable, never a real LogID; the ingester's logIdOf computes the same).
 */
export function pseudoLogId(url: string): string {
  return createHash("sha256").update(normalizeUrl(url), "utf8").digest("base64");
}

/**
 * Select the logs to watch from a v3 list (string or parsed JSON) and the configured logs. Malformed entries
 * are skipped with a reason, never fatal; a list that is not a v3 list at all throws.
 */
export function parseLogList(json: unknown, sel: LogSelection = {}): LogList {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as Record<string, unknown>;
  if (typeof doc !== "object" || doc === null || !Array.isArray(doc.operators))
    throw new Error("log list: no operators array (not a v3 log list)");
  const excludedOps = new Set((sel.excludedOperators ?? []).map((s) => s.toLowerCase()));
  const excludedLogs = new Set((sel.excludedLogs ?? []).map((s) => s.toLowerCase()));
  const watch = new Set(sel.watchStates ?? DEFAULT_WATCHED_STATES);
  const logs: LogDescription[] = [];
  const skipped: SkippedLog[] = [];
  const all: LogDescription[] = [];

  for (const op of doc.operators as Record<string, unknown>[]) {
    const operator = typeof op?.name === "string" ? op.name : "unknown";
    const entries = [
      ...((Array.isArray(op?.logs) ? op.logs : []) as Record<string, unknown>[]).map((l) => ({
        l,
        tiled: false,
      })),
      ...((Array.isArray(op?.tiled_logs) ? op.tiled_logs : []) as Record<string, unknown>[]).map((l) => ({
        l,
        tiled: true,
      })),
    ];
    for (const { l, tiled } of entries) {
      const description = typeof l?.description === "string" ? l.description : "(no description)";
      const url = tiled ? l?.monitoring_url : l?.url;
      if (typeof url !== "string" || !/^https?:\/\//.test(url) || typeof l.key !== "string") {
        skipped.push({ description, operator, reason: "invalid_entry" });
        continue;
      }
      let key: LogKey;
      try {
        key = parseLogKey(l.key);
      } catch {
        skipped.push({ description, operator, reason: "invalid_key" });
        continue;
      }
      if (typeof l.log_id === "string" && l.log_id !== key.logIdBase64) {
        skipped.push({ description, operator, reason: "log_id_mismatch" });
        continue;
      }
      const { state, finalTreeHead } = readState(l.state);
      const ti = l.temporal_interval as { start_inclusive?: string; end_exclusive?: string } | undefined;
      const d: LogDescription = {
        id: key.logIdBase64,
        name: nameOf(description),
        url: normalizeUrl(url),
        operator,
        kind: tiled ? "static" : "rfc6962",
        description,
        key,
        state,
        mmdSecs: typeof l.mmd === "number" ? l.mmd : 86400,
        source: "log_list",
      };
      if (tiled && typeof l.submission_url === "string") {
        d.submissionUrl = normalizeUrl(l.submission_url);
        d.origin = originOf(l.submission_url);
      } else if (tiled) d.origin = originOf(url);
      if (ti?.start_inclusive && ti.end_exclusive)
        d.temporalInterval = { startInclusive: ti.start_inclusive, endExclusive: ti.end_exclusive };
      if (finalTreeHead) d.finalTreeHead = finalTreeHead;
      all.push(d);
      const id = d.id;
      if (excludedOps.has(operator.toLowerCase()))
        skipped.push({ id, description, operator, reason: "excluded_operator" });
      else if (matchesAny(excludedLogs, d.id, d.name, description, d.url, url))
        skipped.push({ id, description, operator, reason: "excluded_log" });
      else if (!watch.has(state)) skipped.push({ id, description, operator, reason: `state:${state}` });
      else logs.push(d);
    }
  }

  // Configured logs: explicit, so never excluded; they replace a listed log with the same id.
  const configured = [
    ...(sel.customLogs ?? []).map((c) => ({ c, kind: "rfc6962" as const })),
    ...(sel.staticLogs ?? []).map((c) => ({ c, kind: "static" as const })),
  ];
  for (const { c, kind } of configured) {
    const d = configuredLog(c, kind, all);
    const i = logs.findIndex((x) => x.id === d.id || x.url === d.url);
    if (i >= 0) logs.splice(i, 1);
    logs.push(d);
  }
  return {
    version: typeof doc.version === "string" ? doc.version : "",
    timestamp: typeof doc.log_list_timestamp === "string" ? doc.log_list_timestamp : "",
    logs,
    skipped,
  };
}

/** A custom_logs/static_logs entry as a LogDescription. Throws (a config error) when its key and id disagree. */
export function configuredLog(
  c: ConfiguredLog,
  kind: "rfc6962" | "static",
  listed: LogDescription[] = [],
): LogDescription {
  if (
    typeof c.name !== "string" ||
    c.name === "" ||
    typeof c.url !== "string" ||
    !/^https?:\/\//.test(c.url)
  ) {
    throw new Error(
      `${kind === "static" ? "static_logs" : "custom_logs"}: entry needs a name and an http(s) url`,
    );
  }
  const url = normalizeUrl(c.url);
  const twin = listed.find(
    (l) => l.kind === kind && (l.url === url || (c.log_id !== undefined && l.id === c.log_id)),
  );
  let key: LogKey | null = twin?.key ?? null;
  if (c.key !== undefined) {
    key = parseLogKey(c.key);
    if (c.log_id !== undefined && c.log_id !== key.logIdBase64) {
      throw new Error(
        `custom log ${c.name}: log_id ${c.log_id} is not SHA-256 of its key (${key.logIdBase64})`,
      );
    }
  }
  if (key && c.log_id !== undefined && key.logIdBase64 !== c.log_id) {
    throw new Error(`custom log ${c.name}: log_id ${c.log_id} does not match the listed log at ${url}`);
  }
  const d: LogDescription = {
    id: key?.logIdBase64 ?? c.log_id ?? pseudoLogId(url),
    name: c.name,
    url,
    operator: c.operator ?? twin?.operator ?? c.name,
    kind,
    description: twin?.description ?? c.name,
    key,
    state: twin?.state ?? "usable",
    mmdSecs: twin?.mmdSecs ?? 86400,
    source: "config",
  };
  if (c.start_index !== undefined) {
    if (!Number.isSafeInteger(c.start_index) || c.start_index < 0)
      throw new Error(`custom log ${c.name}: start_index must be a non-negative integer`);
    d.startIndex = c.start_index;
  }
  if (kind === "static") {
    if (c.submission_url) d.submissionUrl = normalizeUrl(c.submission_url);
    d.origin = c.origin ?? (c.submission_url ? originOf(c.submission_url) : (twin?.origin ?? originOf(url)));
  }
  return d;
}

/** RSA PKCS#1 v1.5 / SHA-256 (or ECDSA) detached signature over the exact bytes of log_list.json. */
export function verifyLogListSignature(
  listBytes: Uint8Array,
  signature: Uint8Array,
  publicKey: string | KeyObject,
): boolean {
  try {
    const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
    return verify("sha256", listBytes, key, signature);
  } catch {
    return false;
  }
}

export interface LogListSource {
  /** URL (http/https) or file path of log_list.json. Default: Google's v3 list. */
  location?: string;
  /** URL or path of the detached signature; default: location with ".json" replaced by ".sig". */
  signatureLocation?: string;
  /** PEM public key; when set the signature is required and must verify. */
  publicKeyPem?: string;
  /** File holding that PEM key (`ct_log.log_list_signature_key_path`), read at each load. */
  publicKeyPath?: string;
  userAgent?: string;
  requestTimeoutMs?: number;
  /** Cap on the list's (decompressed) size. Default LOG_LIST_MAX_BYTES (4 MiB). */
  maxBytes?: number;
}

async function readLocation(
  location: string,
  src: LogListSource,
  fetcher: LogFetcher,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (/^https?:\/\//.test(location)) {
    return fetcher.get(
      location,
      { endpoint: "log-list", signal, maxBytes: src.maxBytes ?? LOG_LIST_MAX_BYTES },
      ({ body }) => body,
    );
  }
  return new Uint8Array(await readFile(location.replace(/^file:\/\//, "")));
}

/** Load, verify (when a key is configured) and select. Throws on any failure; nothing is half-applied. */
export async function loadLogList(
  src: LogListSource,
  sel: LogSelection = {},
  signal?: AbortSignal,
): Promise<LogList> {
  const location = src.location ?? DEFAULT_LOG_LIST_URL;
  const fetcher = new LogFetcher({
    log: "log-list",
    operator: "log-list",
    userAgent: src.userAgent,
    requestTimeoutMs: src.requestTimeoutMs,
    retry: { maxAttempts: 2, initialMs: 500, maxMs: 5_000 },
  });
  const bytes = await readLocation(location, src, fetcher, signal);
  const publicKeyPem =
    src.publicKeyPem ?? (src.publicKeyPath ? await readFile(src.publicKeyPath, "utf8") : undefined);
  if (publicKeyPem) {
    const sigLocation = src.signatureLocation ?? location.replace(/\.json$/, ".sig");
    if (sigLocation === location) throw new Error(`log list: no signature location for ${location}`);
    const sig = await readLocation(sigLocation, src, fetcher, signal);
    if (!verifyLogListSignature(bytes, sig, publicKeyPem)) {
      throw new CtFetchError(
        "bad_signature",
        "log-list",
        `log list ${location}: signature ${sigLocation} does not verify`,
      );
    }
  }
  return parseLogList(Buffer.from(bytes).toString("utf8"), sel);
}

export interface LogListDiff {
  added: LogDescription[];
  /** No longer in the list, or now excluded. */
  removed: LogDescription[];
  /** Still listed, but moved to a state that is not watched (retired, rejected...). */
  retired: LogDescription[];
  /** Same log id, different url, key, kind or state (watchers should restart with the new description). */
  changed: LogDescription[];
}

/** What changed between two selections (by log id). */
export function diffLogLists(
  prev: readonly LogDescription[],
  next: LogList | readonly LogDescription[],
): LogListDiff {
  const nextLogs = Array.isArray(next) ? (next as LogDescription[]) : (next as LogList).logs;
  const before = new Map(prev.map((l) => [l.id, l]));
  const after = new Map(nextLogs.map((l) => [l.id, l]));
  const retiredIds = new Set(
    Array.isArray(next)
      ? []
      : (next as LogList).skipped.filter((s) => s.reason.startsWith("state:")).map((s) => s.id),
  );
  const diff: LogListDiff = { added: [], removed: [], retired: [], changed: [] };
  for (const l of nextLogs) {
    const old = before.get(l.id);
    if (!old) diff.added.push(l);
    else if (
      old.url !== l.url ||
      old.kind !== l.kind ||
      old.state !== l.state ||
      old.key?.logIdBase64 !== l.key?.logIdBase64 ||
      old.origin !== l.origin
    ) {
      diff.changed.push(l);
    }
  }
  for (const l of prev) {
    if (after.has(l.id)) continue;
    if (retiredIds.has(l.id)) diff.retired.push(l);
    else diff.removed.push(l);
  }
  return diff;
}

export interface LogListWatcherOptions {
  source: LogListSource;
  selection?: LogSelection;
  /** `ct_log.log_refresh_interval_secs` × 1000; 0 disables the periodic refresh. */
  refreshIntervalMs?: number;
  /** Called after each refresh that changed something (not for the initial load). */
  onChange?: (diff: LogListDiff, list: LogList) => void | Promise<void>;
  logger?: Logger;
}

/**
 * The current selection of logs, refreshed periodically. A failed refresh (network, bad signature, bad JSON)
 * changes nothing: the previous list stays in force and the failure is logged and counted.
 */
export class LogListWatcher {
  readonly #opts: LogListWatcherOptions;
  #list: LogList | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<LogListDiff | null> | undefined;

  constructor(opts: LogListWatcherOptions) {
    this.#opts = opts;
  }

  get current(): LogList | undefined {
    return this.#list;
  }

  /** Initial load (throws if it fails: there is nothing to fall back on), then the periodic refresh. */
  async start(): Promise<LogList> {
    const list = await loadLogList(this.#opts.source, this.#opts.selection).catch((err) => {
      ctLogListRefresh.inc({ result: "failed" });
      throw err;
    });
    ctLogListRefresh.inc({ result: "ok" });
    this.#list = list;
    ctLogListLogs.set(list.logs.length);
    const every = this.#opts.refreshIntervalMs ?? 0;
    if (every > 0) {
      this.#timer = setInterval(() => void this.refresh(), every);
      this.#timer.unref();
    }
    return list;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reload now; returns the diff (null when the refresh failed and nothing changed). */
  refresh(): Promise<LogListDiff | null> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<LogListDiff | null> {
    let next: LogList;
    try {
      next = await loadLogList(this.#opts.source, this.#opts.selection);
    } catch (err) {
      ctLogListRefresh.inc({ result: "failed" });
      this.#opts.logger?.warn(
        { err, location: this.#opts.source.location ?? DEFAULT_LOG_LIST_URL },
        "log list refresh failed; keeping the previous list",
      );
      return null;
    }
    ctLogListRefresh.inc({ result: "ok" });
    const diff = diffLogLists(this.#list?.logs ?? [], next);
    this.#list = next;
    ctLogListLogs.set(next.logs.length);
    if (diff.added.length + diff.removed.length + diff.retired.length + diff.changed.length > 0) {
      this.#opts.logger?.info(
        {
          added: diff.added.map((l) => l.name),
          removed: diff.removed.map((l) => l.name),
          retired: diff.retired.map((l) => l.name),
          changed: diff.changed.map((l) => l.name),
        },
        "log list changed",
      );
      await this.#opts.onChange?.(diff, next);
    }
    return diff;
  }
}
