/**
 * Every network wait before the job's real work (the log list, Kafka, the schema registry) is bounded, and its
 * failure says what was reached for, which config key names it, and what to do. Without this the job kept
 * retrying an unreachable log list in silence for minutes.
 */

/** A bounded wait that ran out, or a dependency that refused: the message is meant for the operator as is. */
export class NetworkWaitError extends Error {
  readonly what: string;
  readonly target: string;
  readonly key: string;

  constructor(what: string, target: string, key: string, problem: string, remedy: string) {
    super(`${what} at ${target} (config key ${key}): ${problem}; ${remedy}`);
    this.name = "NetworkWaitError";
    this.what = what;
    this.target = target;
    this.key = key;
  }
}

export interface WaitTarget {
  /** "the CT log list", "Kafka", "the schema registry". */
  what: string;
  /** The URL, path or broker list. */
  target: string;
  /** The config key that sets `target` (with its env variable, when one exists). */
  key: string;
  /** What the operator can do about it. */
  remedy: string;
}

/**
 * Runs `work` with a signal that aborts after `timeoutMs` or when `signal` aborts, and settles by then even
 * when `work` ignores its signal (kafkajs's connect does). A timeout or a failure becomes a NetworkWaitError;
 * an interrupt rethrows the interrupt's reason.
 */
export async function boundedWait<T>(
  t: WaitTarget,
  timeoutMs: number,
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  const both = AbortSignal.any([signal, deadline.signal]);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    const fail = () => {
      if (signal.aborted) reject(signal.reason);
      else
        reject(
          new NetworkWaitError(t.what, t.target, t.key, `no answer within ${timeoutMs / 1000} s`, t.remedy),
        );
    };
    timer = setTimeout(() => {
      deadline.abort();
      fail();
    }, timeoutMs);
    both.addEventListener("abort", fail, { once: true });
  });
  try {
    return await Promise.race([work(both), expired]);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof NetworkWaitError) throw err;
    throw new NetworkWaitError(t.what, t.target, t.key, (err as Error).message, t.remedy);
  } finally {
    clearTimeout(timer);
    expired.catch(() => undefined);
  }
}
