import type { Config } from "@certstream/config";
import type { LogSource } from "@certstream/schema";
// The ingester's log id rule, so a backfilled row carries the same log_id as a live one.
import { logIdOf } from "../../ingester/src/log-catalog.ts";
import { matchesLogFilter } from "./cli-args.ts";

/** A log the job may backfill: its identity as every record carries it, and what a client needs. */
export interface CatalogLog {
  source: LogSource;
  /** Base64 DER public key (STH / checkpoint signatures are verified when present). */
  key: string | null;
  /** static-ct-api submission prefix (checkpoint origin), when configured. */
  submissionUrl: string | null;
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/** The configured logs (`custom_logs` as RFC 6962, `static_logs` as static-ct-api), exclusions applied. */
export function configuredLogs(config: Config): CatalogLog[] {
  const ct = config.ct_log;
  const excluded = new Set(ct.excluded_logs);
  const excludedOps = new Set(ct.excluded_operators.map((o) => o.toLowerCase()));
  const out: CatalogLog[] = [];
  const add = (
    c: { name: string; url: string; operator: string; log_id: string | null; key: string | null },
    kind: LogSource["kind"],
    submissionUrl: string | null,
  ) => {
    if (excluded.has(c.name) || excluded.has(c.url) || excludedOps.has(c.operator.toLowerCase())) return;
    const url = withSlash(c.url);
    out.push({
      source: { id: logIdOf({ ...c, url }), name: c.name, url, operator: c.operator, kind },
      key: c.key,
      submissionUrl,
    });
  };
  for (const c of config.custom_logs) add(c, "rfc6962", null);
  for (const c of config.static_logs) add(c, "static", c.submission_url);
  return out;
}

/** The logs `--logs` selects; an empty filter selects all. */
export function selectLogs(logs: readonly CatalogLog[], terms: readonly string[]): CatalogLog[] {
  return logs.filter((l) =>
    matchesLogFilter(
      { name: l.source.name, id: l.source.id, url: l.source.url, operator: l.source.operator },
      terms,
    ),
  );
}
