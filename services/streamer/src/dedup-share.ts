/**
 * The share of CT log entries the dedup stage dropped as already seen, for /api/stats and the live page. After
 * the CT logs (or their stand-ins) re-serve certificates, the stream goes quiet because dedup rightly drops
 * them; this share is what tells a user why.
 *
 * The dedup stage runs in the ingester, so the streamer asks each configured ingester API
 * (`streamer.dedup_stats_urls`, e.g. http://ingester:8081/api/logs) for its cumulative counters (the `dedup`
 * object of /api/logs) and keeps the differences over a sliding window. Counters are kept per replica id (the
 * `replica` of the answer), so several replicas behind one URL add up, and a replica's restart (its counters
 * start again at 0) counts from its new start.
 */
import { httpRequest } from "@certstream/metrics";

export interface DedupCounters {
  forwarded: number;
  duplicates: number;
}

/** What /api/stats shows under `dedup`. */
export interface DedupShareView {
  /** duplicates / (forwarded + duplicates) over the window; null while nothing was seen in it. */
  share: number | null;
  forwarded: number;
  duplicates: number;
  window_secs: number;
  /** Since each replica started (summed). */
  share_since_start: number | null;
  replicas: number;
  /** The last failure of a poll, with its URL; null when the last poll of every URL answered. */
  error: string | null;
}

interface Sample extends DedupCounters {
  at: number;
}

const share = (c: DedupCounters): number | null =>
  c.forwarded + c.duplicates === 0 ? null : c.duplicates / (c.forwarded + c.duplicates);

/** The sliding-window arithmetic, apart from any I/O (tested alone). */
export class DedupWindow {
  readonly windowMs: number;
  /** Per replica: its samples within the window (plus the one just before, as the base). */
  readonly #samples = new Map<string, Sample[]>();

  constructor(windowMs = 60_000) {
    this.windowMs = windowMs;
  }

  add(replica: string, c: DedupCounters, at: number): void {
    let list = this.#samples.get(replica);
    if (!list) {
      list = [];
      this.#samples.set(replica, list);
    }
    const last = list[list.length - 1];
    // Counters that went back: the replica restarted; its window starts again from zero.
    if (last && (c.forwarded < last.forwarded || c.duplicates < last.duplicates))
      list.splice(0, list.length, { forwarded: 0, duplicates: 0, at: last.at });
    list.push({ forwarded: c.forwarded, duplicates: c.duplicates, at });
    while (list.length > 2 && at - list[1].at >= this.windowMs) list.shift();
  }

  /** Replicas not heard from for three windows are forgotten (scaled down, or renamed). */
  expire(now: number): void {
    for (const [replica, list] of this.#samples)
      if (now - list[list.length - 1].at > 3 * this.windowMs) this.#samples.delete(replica);
  }

  view(error: string | null): DedupShareView {
    const windowed = { forwarded: 0, duplicates: 0 };
    const total = { forwarded: 0, duplicates: 0 };
    for (const list of this.#samples.values()) {
      const first = list[0];
      const last = list[list.length - 1];
      // One sample only: the replica was just found; everything it counted so far is older than the window.
      if (list.length > 1) {
        windowed.forwarded += last.forwarded - first.forwarded;
        windowed.duplicates += last.duplicates - first.duplicates;
      }
      total.forwarded += last.forwarded;
      total.duplicates += last.duplicates;
    }
    return {
      share: share(windowed),
      forwarded: windowed.forwarded,
      duplicates: windowed.duplicates,
      window_secs: this.windowMs / 1000,
      share_since_start: share(total),
      replicas: this.#samples.size,
      error,
    };
  }
}

/** Polls the ingester APIs every `intervalMs` (each request bounded by `timeoutMs`). */
export class DedupShare {
  readonly #urls: readonly string[];
  readonly #window: DedupWindow;
  readonly #timeoutMs: number;
  #error: string | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(urls: readonly string[], opts: { windowMs?: number; timeoutMs?: number } = {}) {
    this.#urls = urls;
    this.#window = new DedupWindow(opts.windowMs);
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  start(intervalMs = 5000): void {
    void this.poll();
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async poll(): Promise<void> {
    const errors: string[] = [];
    await Promise.all(
      this.#urls.map(async (url) => {
        try {
          const res = await httpRequest(url, { timeoutMs: this.#timeoutMs });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          const body = JSON.parse(res.text) as { replica?: unknown; dedup?: Partial<DedupCounters> | null };
          const d = body.dedup;
          if (!d || typeof d.forwarded !== "number" || typeof d.duplicates !== "number")
            throw new Error("no dedup counters in the answer (is the dedup stage enabled there?)");
          this.#window.add(
            String(body.replica ?? url),
            { forwarded: d.forwarded, duplicates: d.duplicates },
            Date.now(),
          );
        } catch (err) {
          errors.push(`${url}: ${(err as Error).message}`);
        }
      }),
    );
    this.#window.expire(Date.now());
    this.#error = errors.length > 0 ? errors.join("; ") : null;
  }

  view(): DedupShareView {
    return this.#window.view(this.#error);
  }
}
