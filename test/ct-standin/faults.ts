import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";

let bomb: Buffer | undefined;

// Fault injection for the stand-in logs. Every fault is a probability (0..1) per request on the endpoints it
// applies to, drawn from a seeded PRNG so a test run is reproducible. Change `log.faults` at any time.

export interface Faults {
  /** PRNG seed; same seed, same sequence of faults. */
  seed?: number;
  /** 429 Too Many Requests with Retry-After: retryAfterSecs. */
  rateLimited?: number;
  /** 503 Service Unavailable with Retry-After: retryAfterSecs. */
  unavailable?: number;
  retryAfterSecs?: number;
  /** 500. */
  serverError?: number;
  /** 400 Bad Request (transient: the same request later succeeds). */
  badRequest?: number;
  /** get-entries returns a random shorter (non-empty) page. */
  shortPage?: number;
  /** Headers promise the full body, half is sent, the connection is cut. */
  truncated?: number;
  /** "{\"entries\": [" style garbage with status 200. */
  garbage?: number;
  /** Delay before answering, ms (applies to `slow` fraction of requests; all when slow is undefined). */
  slowMs?: number;
  slow?: number;
  /** Serve an older (smaller, validly signed) tree head this many times. */
  rollbackTimes?: number;
  /** get-entries / data tiles overlapping [start, end) always get 400 / 404: a range refused for good. */
  refuseRange?: { start: number; end: number };
  /** 200 with a body that never ends (64 KiB chunks every 10 ms until the client hangs up). */
  endless?: number;
  /** 200 with Content-Encoding: gzip whose body inflates to 32 MiB of zeros. */
  gzipBomb?: number;
  /** The same 32 KB of gzip served without Content-Encoding (as a bucket serves a stored .gz object). */
  storedGzipBomb?: number;
  /** RFC 6962: these indexes are always served with a leaf_input that is not base64 (a bad entry for good). */
  corruptEntries?: number[];
  /** static-ct-api: in data tiles, the leaf at each of these indexes is replaced by the next one (wrong leaf_index). */
  swapLeaves?: number[];
  /**
   * The entries at these indexes are served changed (their TimestampedEntry.timestamp one ms later: they still
   * decode) while the tree, and so every signed head, keeps the original: a log serving entries not in its tree.
   */
  changedEntries?: number[];
  /** RFC 6962: the entry at each of these indexes is served in place of the next one and vice versa. */
  reorderedEntries?: number[];
  /** The next this many tree heads are signed over a fork: the tree with its last leaf replaced. */
  forkedHeads?: number;
  /** static-ct-api: partial data tiles answer 404 (as after the log replaced them by the full tile). */
  noPartialTiles?: boolean;
  /** Stop injecting after this many faults in total (e.g. 1: exactly one 429). */
  maxFaults?: number;
  /** Limit faults to these endpoints (get-sth, get-entries, get-sth-consistency, checkpoint, tile, data-tile, issuer). */
  endpoints?: string[];
}

/** mulberry32: tiny seeded PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultCounters {
  [fault: string]: number;
}

export class FaultInjector {
  faults: Faults;
  readonly counts: FaultCounters = {};
  #random: () => number;

  constructor(faults: Faults = {}) {
    this.faults = faults;
    this.#random = seededRandom(faults.seed ?? 1);
  }

  set(faults: Faults): void {
    this.faults = faults;
    for (const k of Object.keys(this.counts)) delete this.counts[k];
    this.#random = seededRandom(faults.seed ?? 1);
  }

  #hit(name: keyof Faults, endpoint: string, probability?: number): boolean {
    const p = probability ?? this.faults[name];
    if (typeof p !== "number" || p <= 0) return false;
    if (this.faults.endpoints && !this.faults.endpoints.includes(endpoint)) return false;
    if (
      this.faults.maxFaults !== undefined &&
      Object.values(this.counts).reduce((a, b) => a + b, 0) >= this.faults.maxFaults
    )
      return false;
    if (this.#random() >= p) return false;
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    return true;
  }

  /** Before answering: delays, and status faults. Returns true when it answered (the handler must stop). */
  async before(endpoint: string, res: ServerResponse): Promise<boolean> {
    const f = this.faults;
    if (f.slowMs && this.#hit("slow", endpoint, f.slow ?? 1)) {
      await new Promise((r) => setTimeout(r, f.slowMs));
    }
    const retryAfter = String(f.retryAfterSecs ?? 1);
    if (this.#hit("rateLimited", endpoint))
      return send(res, 429, "rate limited\n", { "retry-after": retryAfter });
    if (this.#hit("unavailable", endpoint))
      return send(res, 503, "unavailable\n", { "retry-after": retryAfter });
    if (this.#hit("serverError", endpoint)) return send(res, 500, "internal error\n");
    if (this.#hit("badRequest", endpoint)) return send(res, 400, "bad request\n");
    if (this.#hit("endless", endpoint)) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const timer = setInterval(() => {
        if (res.destroyed || res.writableEnded) clearInterval(timer);
        else res.write(chunk);
      }, 10);
      res.on("close", () => clearInterval(timer));
      return true;
    }
    const stored = this.#hit("storedGzipBomb", endpoint);
    if (stored || this.#hit("gzipBomb", endpoint)) {
      bomb ??= gzipSync(Buffer.alloc(32 * 1024 * 1024));
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        ...(stored ? {} : { "content-encoding": "gzip" }),
        "content-length": String(bomb.length),
      });
      res.end(bomb);
      return true;
    }
    if (this.#hit("garbage", endpoint))
      return send(res, 200, '{"entries": [{"leaf_input": "AAA', { "content-type": "application/json" });
    return false;
  }

  shortPage(endpoint: string): boolean {
    return this.#hit("shortPage", endpoint);
  }

  random(): number {
    return this.#random();
  }

  /** Answer with `body`, possibly truncated (Content-Length of the whole, half sent, socket destroyed). */
  respond(
    endpoint: string,
    res: ServerResponse,
    status: number,
    body: Buffer,
    headers: Record<string, string> = {},
  ): void {
    if (this.#hit("truncated", endpoint) && body.length > 1) {
      res.writeHead(status, { ...headers, "content-length": String(body.length) });
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(body);
  }

  refuses(start: number, end: number): boolean {
    const r = this.faults.refuseRange;
    return r !== undefined && start < r.end && end > r.start;
  }

  takeFork(): boolean {
    if (!this.faults.forkedHeads || this.faults.forkedHeads <= 0) return false;
    this.faults.forkedHeads--;
    this.counts.fork = (this.counts.fork ?? 0) + 1;
    return true;
  }

  /** The bytes to serve for the entry at `index` (a TimestampedEntry at `timestampAt`): changed if asked. */
  served(index: number, bytes: Buffer, timestampAt: number): Buffer {
    if (!this.faults.changedEntries?.includes(index)) return bytes;
    const out = Buffer.from(bytes);
    out.writeBigUInt64BE(out.readBigUInt64BE(timestampAt) + 1n, timestampAt);
    return out;
  }

  takeRollback(): boolean {
    if (!this.faults.rollbackTimes || this.faults.rollbackTimes <= 0) return false;
    this.faults.rollbackTimes--;
    this.counts.rollback = (this.counts.rollback ?? 0) + 1;
    return true;
  }
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
): true {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...headers,
    "content-length": String(b.length),
  });
  res.end(b);
  return true;
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
) => Promise<void>;
