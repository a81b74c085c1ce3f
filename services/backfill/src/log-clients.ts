import type { Config } from "@certstream/config";
import {
  createLogClient,
  fromRawEntry,
  type LogClient,
  type RawLogEntry,
  type SharedClientState,
  StaticLogClient,
  type StaticLogEntry,
  toCertificateEntry,
} from "@certstream/ct";
import type { CertificateEntry, LogSource } from "@certstream/schema";
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

/** The RFC 6962 or static-ct-api client for a log (libs/ct's factory), with the job's politeness settings. */
export function createBackfillClient(
  log: CatalogLog,
  config: Config,
  shared: SharedClientState,
): BackfillClient {
  // Everything below the ingester's position exists: a partial right-edge tile is final for those indices, so
  // there is no reason to wait for it to fill up as the live path does.
  const client = createLogClient(log, { ...config.ct_log, partial_tile_wait_secs: 0 }, shared);
  if (client instanceof StaticLogClient) {
    return {
      client: client as LogClient<unknown>,
      convert: (l, e, seen) => toCertificateEntry(l, e as StaticLogEntry, seen),
    };
  }
  return {
    client: client as LogClient<unknown>,
    convert: (l, e, seen) => fromRawEntry(l, e as RawLogEntry, seen),
  };
}
