import { counter, gauge, histogram, REQUEST_BUCKETS } from "@certstream/metrics";

// The CT fetching side's metrics (issue 8: CT request latency/status/rate-limit counters, errors by kind,
// per-log health). Labels are bounded: log = log name from the list/config, operator, endpoint (a fixed set),
// status = HTTP status code or "timeout"/"network"/"too_large"/"compression_bomb", kind = FetchErrorKind.

export const ctRequestDuration = histogram<"log" | "endpoint" | "status">({
  name: "certstream_ct_request_duration_seconds",
  help: "Latency of requests to CT logs by log, endpoint (get-sth, get-entries, checkpoint, tile, data-tile, issuer, log-list) and status",
  labelNames: ["log", "endpoint", "status"],
  buckets: REQUEST_BUCKETS,
});

export const ctRateLimited = counter<"log" | "operator">({
  name: "certstream_ct_rate_limited_total",
  help: "HTTP 429 responses from CT logs; each one halves the operator's request budget for a while",
  labelNames: ["log", "operator"],
});

export const ctFetchErrors = counter<"log" | "kind">({
  name: "certstream_ct_fetch_errors_total",
  help: "Failed CT log requests and refused log data, by failure kind (network, timeout, rate_limited, server_error, refused, too_large, compression_bomb, bad_response, bad_signature, inconsistent, rollback, circuit_open)",
  labelNames: ["log", "kind"],
});

export const ctRetries = counter<"log" | "endpoint">({
  name: "certstream_ct_retries_total",
  help: "Requests to CT logs repeated after a failure",
  labelNames: ["log", "endpoint"],
});

export const ctGaps = counter<"log">({
  name: "certstream_ct_gap_entries_total",
  help: "Entries a log refused for good and that were reported as a gap (to be backfilled), never skipped silently",
  labelNames: ["log"],
});

export const ctLogHealth = gauge<"log">({
  name: "certstream_ct_log_health",
  help: "Per-log health as seen by its client: 1 healthy, 0.5 degraded (failures or rate limits), 0 down (circuit open)",
  labelNames: ["log"],
});

export const ctCircuitTransitions = counter<"log" | "state">({
  name: "certstream_ct_circuit_transitions_total",
  help: "Circuit breaker transitions per log (to open, half_open, closed)",
  labelNames: ["log", "state"],
});

export const ctOperatorRate = gauge<"operator">({
  name: "certstream_ct_operator_request_rate",
  help: "Current request budget per CT log operator, requests per second (shared by the operator's logs)",
  labelNames: ["operator"],
});

export const ctTreeSize = gauge<"log">({
  name: "certstream_ct_tree_size",
  help: "Tree size of the newest verified STH or checkpoint per log",
  labelNames: ["log"],
});

export const ctIssuerCache = counter<"result">({
  name: "certstream_ct_issuer_cache_total",
  help: "static-ct-api issuer lookups by result (hit, miss = fetched, absent = not served, negative = cached absence, error)",
  labelNames: ["result"],
});

export const ctLogListRefresh = counter<"result">({
  name: "certstream_ct_log_list_refresh_total",
  help: "Log list loads by result (ok, failed); a failed refresh keeps the previous list",
  labelNames: ["result"],
});

export const ctLogListLogs = gauge({
  name: "certstream_ct_log_list_logs",
  help: "Logs selected from the log list and config after exclusions",
});
