import { createHash } from "node:crypto";
import type { Config } from "@certstream/config";
import { fromRawEntry, type RawLogEntry } from "@certstream/ct";
import type { LogSource } from "@certstream/schema";
import { parseLogKey } from "../../../libs/ct/src/log-key.ts";
import { RfcLogClient } from "../../../libs/ct/src/rfc-log-client.ts";
import { CtLogReader } from "./ct-log-reader.ts";
import type { WatchableLog } from "./ingester.ts";

/**
 * The log id used everywhere (state key, transactional.id, metrics label): the configured log_id, else the
 * SHA-256 of the log's key (the RFC 6962 LogID), else a SHA-256 of the URL (stable, but say so in the docs).
 */
export function logIdOf(l: { log_id: string | null; key: string | null; url: string }): string {
  if (l.log_id) return l.log_id;
  if (l.key) return createHash("sha256").update(Buffer.from(l.key, "base64")).digest("base64");
  return createHash("sha256").update(l.url, "utf8").digest("base64");
}

/** transactional.id and metric labels want [A-Za-z0-9._-]; base64 ids are mapped to base64url. */
export function safeLogId(id: string): string {
  return id.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The configured RFC 6962 logs (`custom_logs`) as watchable logs. */
export function configuredLogs(config: Config): WatchableLog[] {
  const ct = config.ct_log;
  const out: WatchableLog[] = [];
  const excluded = new Set(ct.excluded_logs);
  const excludedOps = new Set(ct.excluded_operators);
  for (const c of config.custom_logs) {
    if (excluded.has(c.name) || excluded.has(c.url) || excludedOps.has(c.operator)) continue;
    const url = c.url.endsWith("/") ? c.url : `${c.url}/`;
    const log: LogSource = {
      id: logIdOf({ ...c, url }),
      name: c.name,
      url,
      operator: c.operator,
      kind: "rfc6962",
    };
    const client = new RfcLogClient({
      name: c.name,
      url,
      operator: c.operator,
      key: c.key ? parseLogKey(c.key) : null,
      batchSize: ct.batch_size,
      fetchConcurrency: ct.fetch_concurrency,
      requestTimeoutMs: ct.request_timeout_secs * 1000,
      userAgent: ct.user_agent,
      maxResponseBytes: ct.max_response_bytes,
      retry: {
        maxAttempts: ct.retry_max_attempts,
        initialMs: ct.retry_initial_delay_ms,
        maxMs: ct.retry_max_delay_ms,
      },
    });
    out.push({
      reader: new CtLogReader<RawLogEntry>(log, client, (l, e, seen) => fromRawEntry(l, e, seen)),
      startIndex: c.start_index,
    });
  }
  return out;
}
