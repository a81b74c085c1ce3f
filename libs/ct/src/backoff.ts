// Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS architecture blog): the delay
// before attempt n is uniform in [0, min(max, initial * 2^n)], so many clients failing together spread out.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  // Never less than a tenth of the initial delay, so a tight loop is impossible even with an unlucky draw.
  return Math.max(opts.initialMs / 10, ceiling * random());
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; milliseconds, capped; undefined if absent/bad. */
export function parseRetryAfter(
  value: string | null,
  now = Date.now(),
  capMs = 10 * 60_000,
): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(capMs, Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(capMs, Math.max(0, at - now));
}
