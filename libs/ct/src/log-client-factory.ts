import type { IssuerCache } from "./issuer-cache.ts";
import type { LogDescription } from "./log-list.ts";
import type { OperatorBudgets } from "./operator-budget.ts";
import { RfcLogClient } from "./rfc-log-client.ts";
import { StaticLogClient } from "./static-log-client.ts";
import { userAgentFor } from "./user-agent.ts";

/**
 * The `ct_log` settings the clients use, spelled as in the config section so `config.ct_log` can be passed as
 * is. Every field is optional here (the clients have defaults).
 */
export interface CtLogSettings {
  batch_size?: number;
  fetch_concurrency?: number;
  request_timeout_secs?: number;
  retry_max_attempts?: number;
  retry_initial_delay_ms?: number;
  retry_max_delay_ms?: number;
  partial_tile_wait_secs?: number;
  user_agent?: string;
  contact?: string;
  max_response_bytes?: number;
  verify_static_merkle?: boolean;
}

/** What all clients of a process share: ONE OperatorBudgets and ONE IssuerCache. */
export interface SharedClientState {
  budgets: OperatorBudgets;
  issuers: IssuerCache;
  /** Replaceable fetch (tests, or the backfill's UnreachableGuard). */
  fetch?: typeof fetch;
}

export type AnyLogClient = RfcLogClient | StaticLogClient;

/** The RFC 6962 or static-ct-api client for a log of the list (or of custom_logs/static_logs). */
export function createLogClient(
  log: LogDescription,
  settings: CtLogSettings,
  shared: SharedClientState,
): AnyLogClient {
  const common = {
    name: log.name,
    url: log.url,
    operator: log.operator,
    key: log.key,
    budget: shared.budgets.for(log.operator),
    fetchConcurrency: settings.fetch_concurrency,
    requestTimeoutMs:
      settings.request_timeout_secs === undefined ? undefined : settings.request_timeout_secs * 1000,
    userAgent: userAgentFor(settings),
    maxResponseBytes: settings.max_response_bytes,
    retry: {
      ...(settings.retry_max_attempts === undefined
        ? {}
        : { maxAttempts: Math.max(1, settings.retry_max_attempts) }),
      ...(settings.retry_initial_delay_ms === undefined
        ? {}
        : { initialMs: settings.retry_initial_delay_ms }),
      ...(settings.retry_max_delay_ms === undefined ? {} : { maxMs: settings.retry_max_delay_ms }),
    },
    ...(shared.fetch ? { fetch: shared.fetch } : {}),
  };
  if (log.kind === "static") {
    return new StaticLogClient({
      ...common,
      issuers: shared.issuers,
      origin: log.origin,
      submissionUrl: log.submissionUrl,
      partialTileWaitMs: (settings.partial_tile_wait_secs ?? 0) * 1000,
      verifyMerkle: settings.verify_static_merkle ?? false,
    });
  }
  return new RfcLogClient({ ...common, batchSize: settings.batch_size });
}
