import type { Config } from "@certstream/config";
import type { ConfiguredLog, LogSelection } from "./log-list.ts";

/**
 * Which logs a service takes from the configuration: the `ct_log` exclusions plus `custom_logs` / `static_logs`
 * as libs/ct's log-list selection wants them (the ingester and the backfill job select alike).
 */
export function logSelection(config: Config): LogSelection {
  return {
    excludedOperators: config.ct_log.excluded_operators,
    excludedLogs: config.ct_log.excluded_logs,
    customLogs: configured(config.custom_logs),
    staticLogs: configured(config.static_logs),
  };
}

function configured(list: Config["custom_logs"] | Config["static_logs"]): ConfiguredLog[] {
  return list.map((c) => ({
    name: c.name,
    url: c.url,
    operator: c.operator,
    ...(c.log_id ? { log_id: c.log_id } : {}),
    ...(c.key ? { key: c.key } : {}),
    ...(c.start_index !== null ? { start_index: c.start_index } : {}),
    ...("submission_url" in c && c.submission_url ? { submission_url: c.submission_url } : {}),
    ...("origin" in c && c.origin ? { origin: c.origin } : {}),
  }));
}
