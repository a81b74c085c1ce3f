import type { Config } from "@certstream/config";
import { configuredLog, type LogDescription, parseLogKey } from "@certstream/ct";
// The ingester's own catalog: a backfilled record must carry exactly the LogSource (id, name, url, operator) of
// a live one, so the logs are taken from the same function the ingester watches them with.
import { configuredLogs as ingesterLogs } from "@certstream/ingester";
import { matchesLogFilter } from "./cli-args.ts";

/** A log the job may backfill: the LogSource every record carries, plus what its client needs. */
export type CatalogLog = LogDescription;

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * The logs of the config: the ingester's (custom_logs, exclusions applied, its log id rule), with the key and
 * static-ct-api details from the config; and `static_logs` as libs/ct describes them (the ingester does not
 * watch static logs from the config yet; when it does, its LogSource will come first here too).
 */
export function configuredLogs(config: Config): CatalogLog[] {
  const ct = config.ct_log;
  const out: CatalogLog[] = [];
  const seen = new Set<string>();
  for (const w of ingesterLogs(config)) {
    const src = w.reader.log;
    const c = config.custom_logs.find((x) => withSlash(x.url) === src.url);
    out.push({
      ...src,
      description: src.name,
      key: c?.key ? parseLogKey(c.key) : null,
      state: "usable",
      mmdSecs: 86400,
      source: "config",
    });
    seen.add(src.url);
  }
  const excluded = new Set(ct.excluded_logs);
  const excludedOps = new Set(ct.excluded_operators.map((o) => o.toLowerCase()));
  for (const c of config.static_logs) {
    if (excluded.has(c.name) || excluded.has(c.url) || excludedOps.has(c.operator.toLowerCase())) continue;
    if (seen.has(withSlash(c.url))) continue;
    out.push(
      configuredLog(
        {
          name: c.name,
          url: c.url,
          operator: c.operator,
          ...(c.log_id ? { log_id: c.log_id } : {}),
          ...(c.key ? { key: c.key } : {}),
          ...(c.submission_url ? { submission_url: c.submission_url } : {}),
        },
        "static",
      ),
    );
  }
  return out;
}

/** The logs `--logs` selects; an empty filter selects all. */
export function selectLogs(logs: readonly CatalogLog[], terms: readonly string[]): CatalogLog[] {
  return logs.filter((l) =>
    matchesLogFilter({ name: l.name, id: l.id, url: l.url, operator: l.operator }, terms),
  );
}

/** The LogSource part (what records carry). */
export function sourceOf(l: CatalogLog): {
  id: string;
  name: string;
  url: string;
  operator: string;
  kind: CatalogLog["kind"];
} {
  return { id: l.id, name: l.name, url: l.url, operator: l.operator, kind: l.kind };
}
