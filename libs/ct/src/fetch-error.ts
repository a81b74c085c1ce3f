// Every failure of the fetching side (log list, RFC 6962 and static-ct-api clients) is one of these kinds. The
// kind is bounded (a metric label); the message says what failed and where.

export const FETCH_ERROR_KINDS = [
  /** Connection refused/reset, DNS, TLS. Retried. */
  "network",
  /** No complete response within request_timeout. Retried. */
  "timeout",
  /** HTTP 429. Retried after Retry-After, slows the operator's budget. */
  "rate_limited",
  /** HTTP 5xx. Retried. */
  "server_error",
  /** HTTP 400/403/404 and other 4xx: the log refuses this request. Retried a few times, then a gap. */
  "refused",
  /** Body larger than the configured cap, or a declared Content-Length above it. */
  "too_large",
  /**
   * A compressed body (Content-Encoding, or stored gzip) that inflates past what the response can legitimately
   * hold (response-limits.ts): refused while inflating, before the excess is held in memory.
   */
  "compression_bomb",
  /** Body is not the JSON (or tile, or note) the endpoint must return. */
  "bad_response",
  /** A signature (STH, checkpoint, log list) does not verify. */
  "bad_signature",
  /** A consistency or inclusion check failed: the log forked or served wrong data. */
  "inconsistent",
  /** The log's tree got smaller than a size it already signed. */
  "rollback",
  /** The per-log circuit breaker is open; no request was sent. */
  "circuit_open",
  /** The caller aborted. Never retried. */
  "aborted",
] as const;

export type FetchErrorKind = (typeof FETCH_ERROR_KINDS)[number];

const RETRYABLE = new Set<FetchErrorKind>([
  "network",
  "timeout",
  "rate_limited",
  "server_error",
  "circuit_open",
]);

export class CtFetchError extends Error {
  override readonly name = "CtFetchError";
  readonly kind: FetchErrorKind;
  /** Log name or URL the failure belongs to. */
  readonly log: string;
  /** HTTP status when there was one. */
  readonly status: number | undefined;
  /** Milliseconds the server asked us to wait (Retry-After), when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: FetchErrorKind,
    log: string,
    message: string,
    extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.kind = kind;
    this.log = log;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
  }

  /** Stable code, e.g. CT_FETCH_RATE_LIMITED. */
  get code(): string {
    return `CT_FETCH_${this.kind.toUpperCase()}`;
  }

  /** Transient failures are retried without limit (with backoff); others count towards giving up on a range. */
  get transient(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof CtFetchError
    ? err.kind === "aborted"
    : (err as { name?: string })?.name === "AbortError";
}
