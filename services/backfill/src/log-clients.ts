import type { Config } from "@certstream/config";
import { fromRawEntry, type RawLogEntry, toCertificateEntry } from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";
// TODO: import from "@certstream/ct" once its index exports the clients (the ingester does the same for now).
import type { IssuerCache } from "../../../libs/ct/src/issuer-cache.ts";
import { parseLogKey } from "../../../libs/ct/src/log-key.ts";
import type { LogClient } from "../../../libs/ct/src/log-range.ts";
import type { OperatorBudgets } from "../../../libs/ct/src/operator-budget.ts";
import { RfcLogClient } from "../../../libs/ct/src/rfc-log-client.ts";
import { StaticLogClient, type StaticLogEntry } from "../../../libs/ct/src/static-log-client.ts";
import type { CatalogLog } from "./log-catalog.ts";

/**
 * Gives up on a log that stays unreachable. The CT clients retry transient failures (network, timeout, 5xx)
 * forever, which is right for the live path (a log that is down must resume) but not for a job that must finish:
 * this wraps the clients' fetch and, after `limit` consecutive failed requests, aborts the log's work with the
 * reason. 429s and 503s that carry Retry-After are politeness, not unreachability: they are honoured by the
 * clients and do not count. Any 2xx resets the count.
 */
export class UnreachableGuard {
  readonly limit: number;
  private readonly controller: AbortController;
  private failures = 0;
  private lastFailure = "";

  constructor(limit: number, controller: AbortController) {
    this.limit = Math.max(1, limit);
    this.controller = controller;
  }

  /** The reason the log was given up, or null. */
  get gaveUp(): string | null {
    return this.controller.signal.aborted && this.failures >= this.limit
      ? `unreachable: ${this.failures} consecutive failed requests (last: ${this.lastFailure})`
      : null;
  }

  private fail(what: string): void {
    this.failures++;
    this.lastFailure = what;
    if (this.failures >= this.limit && !this.controller.signal.aborted) {
      this.controller.abort(new Error(this.gaveUp ?? "unreachable"));
    }
  }

  wrap(inner: typeof fetch = fetch): typeof fetch {
    return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      let res: Response;
      try {
        res = await inner(input, init);
      } catch (err) {
        if (!this.controller.signal.aborted && !init?.signal?.aborted) {
          const cause = (err as { cause?: { code?: string } }).cause;
          this.fail(cause?.code ?? (err as Error).name ?? "fetch failed");
        } else if (!this.controller.signal.aborted && (err as Error).name === "TimeoutError") {
          this.fail("timeout");
        }
        throw err;
      }
      if (res.status >= 200 && res.status < 300) this.failures = 0;
      else if (res.status >= 500 && !(res.status === 503 && res.headers.get("retry-after")))
        this.fail(`HTTP ${res.status}`);
      return res;
    }) as typeof fetch;
  }
}

/** A client and the converter the live path uses for its entries (same parser, same record). */
export interface BackfillClient {
  client: LogClient<unknown>;
  convert: (log: LogSource, entry: unknown, seenMicros: number) => CertificateEntry;
}

export interface ClientDeps {
  config: Config;
  budgets: OperatorBudgets;
  issuers: IssuerCache;
  fetch: typeof fetch;
}

/** The RFC 6962 or static-ct-api client for a log, with the job's politeness settings. */
export function createBackfillClient(log: CatalogLog, deps: ClientDeps): BackfillClient {
  const ct = deps.config.ct_log;
  const common = {
    name: log.source.name,
    url: log.source.url,
    operator: log.source.operator,
    key: log.key ? parseLogKey(log.key) : null,
    budget: deps.budgets.for(log.source.operator),
    fetchConcurrency: ct.fetch_concurrency,
    requestTimeoutMs: ct.request_timeout_secs * 1000,
    userAgent: ct.user_agent,
    maxResponseBytes: ct.max_response_bytes,
    retry: {
      maxAttempts: ct.retry_max_attempts,
      initialMs: ct.retry_initial_delay_ms,
      maxMs: ct.retry_max_delay_ms,
    },
    fetch: deps.fetch,
  };
  if (log.source.kind === "static") {
    const client = new StaticLogClient({
      ...common,
      issuers: deps.issuers,
      ...(log.submissionUrl ? { submissionUrl: log.submissionUrl } : {}),
    });
    return {
      client: client as LogClient<unknown>,
      convert: (l, e, seen) => toCertificateEntry(l, e as StaticLogEntry, seen),
    };
  }
  const client = new RfcLogClient({ ...common, batchSize: ct.batch_size });
  return {
    client: client as LogClient<unknown>,
    convert: (l, e, seen) => fromRawEntry(l, e as RawLogEntry, seen),
  };
}
