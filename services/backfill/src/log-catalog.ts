import type { Config } from "@certstream/config";
import {
  type LogDescription,
  type LogList,
  type LogSource,
  loadLogList,
  logSelection,
  parseLogList,
  toLogSource,
  userAgentFor,
} from "@certstream/ct";
import { matchesLogFilter } from "./cli-args.ts";

/**
 * A log the job may backfill: libs/ct's description (what its client needs). Records carry `toLogSource` of it,
 * the same LogSource the ingester's catalog gives the live path, so backfilled and live rows agree.
 */
export type CatalogLog = LogDescription;

/**
 * The logs the ingester watches: the Chrome v3 log list (when `ct_log.log_list_enabled`; `log_list_path` wins
 * over `log_list_url`, signature checked when a key is configured) plus `custom_logs` and `static_logs`, minus
 * the exclusions. Loaded once: a job needs no refresh. Throws when the list cannot be loaded, or when `signal`
 * aborts (the fetcher retries an unreachable list until then).
 */
export async function loadCatalog(config: Config, signal?: AbortSignal): Promise<LogList> {
  const ct = config.ct_log;
  const selection = logSelection(config);
  if (!ct.log_list_enabled) return parseLogList({ operators: [] }, selection);
  return loadLogList(
    {
      location: ct.log_list_path ?? ct.log_list_url,
      ...(ct.log_list_signature_key_path ? { publicKeyPath: ct.log_list_signature_key_path } : {}),
      userAgent: userAgentFor(ct),
      requestTimeoutMs: ct.request_timeout_secs * 1000,
    },
    selection,
    signal,
  );
}

/** The logs `--logs` selects; an empty filter selects all. */
export function selectLogs(logs: readonly CatalogLog[], terms: readonly string[]): CatalogLog[] {
  return logs.filter((l) =>
    matchesLogFilter({ name: l.name, id: l.id, url: l.url, operator: l.operator }, terms),
  );
}

/** The LogSource every record of the log carries. */
export function sourceOf(l: CatalogLog): LogSource {
  return toLogSource(l);
}
