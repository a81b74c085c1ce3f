import { gunzipSync } from "node:zlib";
import { type BackoffOptions, backoffDelay, parseRetryAfter, sleep } from "./backoff.ts";
import { CtFetchError, type FetchErrorKind } from "./fetch-error.ts";
import { LogHealth } from "./log-health.ts";
import { ctFetchErrors, ctRateLimited, ctRequestDuration, ctRetries } from "./metrics.ts";
import type { OperatorBudget } from "./operator-budget.ts";
import { DEFAULT_USER_AGENT } from "./user-agent.ts";

// The one way the CT clients talk HTTP to a log: operator budget, circuit breaker, timeout, response size cap,
// User-Agent, gzip, Retry-After, metrics, and the retry policy. Transient failures (network, timeout, 5xx, 429)
// are retried without limit until the caller aborts: a log that is down must resume, not be skipped. Refusals
// (4xx, bad bodies judged by the caller) are retried `maxAttempts` times, then thrown for the caller to turn
// into a gap.

export interface LogFetcherOptions {
  /** Label for metrics and errors: the log's name. */
  log: string;
  operator: string;
  budget?: OperatorBudget;
  health?: LogHealth;
  userAgent?: string;
  /** `ct_log.request_timeout_secs` × 1000. Whole request, headers and body. Default 30 s. */
  requestTimeoutMs?: number;
  /** Ceiling on any (decompressed) body, above each call's own bound (response-limits.ts). Default 16 MiB. */
  maxResponseBytes?: number;
  /** `ct_log.retry_*`: attempts for refusals, backoff for everything. */
  retry?: Partial<RetryPolicy>;
  /** Replaceable for tests; defaults to the global fetch (undici, keep-alive). */
  fetch?: typeof fetch;
}

export interface RetryPolicy extends BackoffOptions {
  /** Attempts before a refused request (4xx, bad body) is given up. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialMs: 500, maxMs: 30_000 };

export interface FetchedBody {
  status: number;
  body: Uint8Array;
  contentType: string;
}

export interface GetOptions {
  /** Metric label: get-sth, get-entries, get-sth-consistency, checkpoint, tile, data-tile, issuer. */
  endpoint: string;
  signal?: AbortSignal;
  /**
   * What this response can legitimately hold, decompressed (response-limits.ts); the configured cap still
   * applies when lower.
   */
  maxBytes?: number;
  accept?: string;
  /** Per-call override of retry.maxAttempts for refusals (e.g. 1 for a request with a fallback). */
  maxAttempts?: number;
}

/** A failed attempt, kept so a caller waiting on retries can tell that (and why) the log is not answering. */
export interface FetchFailure {
  kind: FetchErrorKind;
  message: string;
  endpoint: string;
  /** When it failed (ms since the epoch). */
  at: number;
}

export class LogFetcher {
  readonly log: string;
  readonly operator: string;
  readonly health: LogHealth;
  readonly retry: RetryPolicy;
  readonly #budget: OperatorBudget | undefined;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #fetch: typeof fetch;
  #lastFailure: FetchFailure | undefined;

  constructor(opts: LogFetcherOptions) {
    this.log = opts.log;
    this.operator = opts.operator;
    this.#budget = opts.budget;
    this.health = opts.health ?? new LogHealth(opts.log);
    this.#userAgent = opts.userAgent || DEFAULT_USER_AGENT;
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#maxBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#fetch = opts.fetch ?? fetch;
  }

  /**
   * The newest failed attempt of any request of this fetcher (retried ones included; aborts are not failures).
   * Retries are otherwise invisible until they give up: this is how a caller sees a log that stalls meanwhile.
   */
  get lastFailure(): FetchFailure | undefined {
    return this.#lastFailure;
  }

  #failed(err: CtFetchError, endpoint: string): void {
    if (err.kind === "aborted") return;
    this.#lastFailure = { kind: err.kind, message: err.message, endpoint, at: Date.now() };
  }

  /** One GET, no retry: resolves with a 2xx body, throws CtFetchError otherwise. Waits for budget and breaker. */
  async getOnce(url: string, opts: GetOptions): Promise<FetchedBody> {
    const { endpoint, signal } = opts;
    for (let wait = this.health.waitMs(); wait > 0; wait = this.health.waitMs()) {
      await sleep(wait, signal).catch(() => {
        throw new CtFetchError("aborted", this.log, "aborted while the circuit was open");
      });
    }
    if (this.#budget) {
      await this.#budget.take(signal).catch(() => {
        throw new CtFetchError("aborted", this.log, "aborted while waiting for the operator's budget");
      });
    }
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status = "network";
    try {
      const res = await this.#fetch(url, {
        signal: combined,
        headers: {
          "user-agent": this.#userAgent,
          accept: opts.accept ?? "*/*",
          "accept-encoding": "gzip, identity",
        },
      });
      status = String(res.status);
      if (res.status === 429 || res.status === 503) {
        const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        await res.body?.cancel();
        if (res.status === 429) {
          ctRateLimited.inc({ log: this.log, operator: this.operator });
          this.#budget?.onRateLimited(retryAfterMs);
          this.health.onTrouble();
          throw new CtFetchError("rate_limited", this.log, `${endpoint}: HTTP 429`, {
            status: 429,
            retryAfterMs,
          });
        }
        if (retryAfterMs !== undefined) this.#budget?.pauseFor(retryAfterMs);
        this.health.onFailure();
        throw new CtFetchError("server_error", this.log, `${endpoint}: HTTP 503`, {
          status: 503,
          retryAfterMs,
        });
      }
      if (res.status >= 500) {
        await res.body?.cancel();
        this.health.onFailure();
        throw new CtFetchError("server_error", this.log, `${endpoint}: HTTP ${res.status}`, {
          status: res.status,
        });
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel();
        this.health.onTrouble();
        throw new CtFetchError("refused", this.log, `${endpoint}: HTTP ${res.status}`, {
          status: res.status,
        });
      }
      const max = Math.min(opts.maxBytes ?? this.#maxBytes, this.#maxBytes);
      const declared = Number(res.headers.get("content-length") ?? "NaN");
      // Content-Length is the encoded size; with gzip the decoded body can only be checked while reading.
      if (declared > max && !res.headers.get("content-encoding")) {
        await res.body?.cancel();
        status = "too_large";
        throw new CtFetchError(
          "too_large",
          this.log,
          `${endpoint}: Content-Length ${declared} above cap ${max}`,
        );
      }
      const encoding = res.headers.get("content-encoding");
      const inflated = encoding !== null && encoding !== "identity";
      const body = await readCapped(res, max, inflated, this.log, endpoint);
      const plain = maybeGunzip(body, max, this.log, endpoint);
      this.health.onSuccess();
      return {
        status: res.status,
        body: plain,
        contentType: res.headers.get("content-type") ?? "",
      };
    } catch (err) {
      const e = this.#classify(err, endpoint, signal);
      if (e.kind === "timeout" || e.kind === "too_large" || e.kind === "compression_bomb") status = e.kind;
      if (e.kind === "network" || e.kind === "timeout") this.health.onFailure();
      // The log answered, but with a body we refuse: not down, not healthy either.
      if (e.kind === "too_large" || e.kind === "compression_bomb") this.health.onTrouble();
      if (e.kind !== "aborted") ctFetchErrors.inc({ log: this.log, kind: e.kind });
      this.#failed(e, endpoint);
      throw e;
    } finally {
      ctRequestDuration.observe({ log: this.log, endpoint, status }, (performance.now() - started) / 1000);
    }
  }

  #classify(err: unknown, endpoint: string, signal?: AbortSignal): CtFetchError {
    if (err instanceof CtFetchError) return err;
    if (signal?.aborted) return new CtFetchError("aborted", this.log, `${endpoint}: aborted`, { cause: err });
    const name = (err as { name?: string })?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      return new CtFetchError(
        "timeout",
        this.log,
        `${endpoint}: no complete response within ${this.#timeoutMs} ms`,
        { cause: err },
      );
    }
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    // A URL that cannot be parsed will never work: a refusal (ends in a gap or an error), not a retry loop.
    if (cause?.code === "ERR_INVALID_URL") {
      return new CtFetchError("refused", this.log, `${endpoint}: invalid URL`, { cause: err });
    }
    return new CtFetchError(
      "network",
      this.log,
      `${endpoint}: ${cause?.code ?? cause?.message ?? (err as Error)?.message ?? "fetch failed"}`,
      {
        cause: err,
      },
    );
  }

  /**
   * GET with the retry policy, then `decode` the body (a decode error is a "bad_response" refusal: retried like a
   * 4xx, since a truncated body may be a transient proxy fault). Throws the last refusal after maxAttempts, or an
   * "aborted" error. Transient failures never exhaust the attempts.
   */
  async get<T>(url: string, opts: GetOptions, decode: (body: FetchedBody) => T): Promise<T> {
    let refusals = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.getOnce(url, opts);
        try {
          return decode(body);
        } catch (err) {
          // getOnce counted the answer as a success; a body we refuse makes the log degraded, not healthy.
          this.health.onTrouble();
          const e =
            err instanceof CtFetchError
              ? err
              : new CtFetchError(
                  "bad_response",
                  this.log,
                  `${opts.endpoint}: ${(err as Error)?.message ?? err}`,
                  {
                    cause: err,
                  },
                );
          if (!(err instanceof CtFetchError)) ctFetchErrors.inc({ log: this.log, kind: "bad_response" });
          this.#failed(e, opts.endpoint);
          throw e;
        }
      } catch (err) {
        if (!(err instanceof CtFetchError) || err.kind === "aborted") throw err;
        if (!err.transient) {
          refusals++;
          if (refusals >= (opts.maxAttempts ?? this.retry.maxAttempts)) throw err;
        }
        ctRetries.inc({ log: this.log, endpoint: opts.endpoint });
        // Retry-After is honoured as given (the budget is paused for it too); otherwise exponential backoff.
        const delay = err.retryAfterMs ?? backoffDelay(attempt, this.retry);
        await sleep(delay, opts.signal).catch(() => {
          throw new CtFetchError("aborted", this.log, `${opts.endpoint}: aborted during backoff`);
        });
      }
    }
  }
}

/**
 * The body, at most `max` bytes. fetch inflates a Content-Encoding body as it is read (pulled chunk by chunk), so
 * counting here bounds the inflated size too: the read stops at the first chunk past `max`.
 */
async function readCapped(
  res: Response,
  max: number,
  inflated: boolean,
  log: string,
  endpoint: string,
): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > max) {
      await res.body.cancel().catch(() => undefined);
      if (inflated)
        throw new CtFetchError(
          "compression_bomb",
          log,
          `${endpoint}: compressed body inflates past ${max} bytes`,
        );
      throw new CtFetchError("too_large", log, `${endpoint}: body exceeds cap of ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/**
 * Bodies stored gzip-compressed but served without Content-Encoding (some buckets do): inflated with the same
 * bound, which zlib checks as it goes (it stops at `max`, it does not inflate everything first).
 */
function maybeGunzip(body: Uint8Array, max: number, log: string, endpoint: string): Uint8Array {
  if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) return body;
  try {
    return gunzipSync(body, { maxOutputLength: max });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE")
      throw new CtFetchError(
        "compression_bomb",
        log,
        `${endpoint}: stored gzip body inflates past ${max} bytes`,
      );
    throw new CtFetchError("bad_response", log, `${endpoint}: bad gzip body`, { cause: err });
  }
}
