import { createHash } from "node:crypto";
import { ctIssuerCache } from "./metrics.ts";

// static-ct-api issuers are content-addressed (issuer/<hex SHA-256>), so one cache serves every log: each issuer
// is fetched once per process. Absence (404, or a body that does not hash to its name) is remembered briefly so
// a log full of entries with a missing issuer does not hammer the endpoint. Concurrent lookups share one fetch.

export interface IssuerCacheOptions {
  /** Positive entries kept (LRU). Default 10 000 (a few MB: there are a few thousand CAs). */
  maxEntries?: number;
  /** How long an absence is remembered. Default 60 s. */
  negativeTtlMs?: number;
  now?: () => number;
}

export class IssuerCache {
  readonly #max: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  readonly #found = new Map<string, Uint8Array>();
  readonly #absentUntil = new Map<string, number>();
  readonly #pending = new Map<string, Promise<Uint8Array | null>>();

  constructor(opts: IssuerCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 10_000;
    this.#negativeTtlMs = opts.negativeTtlMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#found.size;
  }

  /**
   * The DER of issuer `fingerprint` (lowercase hex SHA-256), or null when absent. `fetchIssuer` is called at most
   * once per fingerprint (until evicted, or the negative entry expires); it returns null for "not there" and
   * throws for failures that must not be cached (those propagate to every waiter).
   */
  async get(
    fingerprint: string,
    fetchIssuer: (fingerprint: string) => Promise<Uint8Array | null>,
  ): Promise<Uint8Array | null> {
    const hit = this.#found.get(fingerprint);
    if (hit) {
      // Refresh LRU position.
      this.#found.delete(fingerprint);
      this.#found.set(fingerprint, hit);
      ctIssuerCache.inc({ result: "hit" });
      return hit;
    }
    const until = this.#absentUntil.get(fingerprint);
    if (until !== undefined) {
      if (this.#now() < until) {
        ctIssuerCache.inc({ result: "negative" });
        return null;
      }
      this.#absentUntil.delete(fingerprint);
    }
    let p = this.#pending.get(fingerprint);
    if (!p) {
      p = this.#load(fingerprint, fetchIssuer).finally(() => this.#pending.delete(fingerprint));
      this.#pending.set(fingerprint, p);
    }
    return p;
  }

  async #load(
    fingerprint: string,
    fetchIssuer: (fingerprint: string) => Promise<Uint8Array | null>,
  ): Promise<Uint8Array | null> {
    let der: Uint8Array | null;
    try {
      der = await fetchIssuer(fingerprint);
    } catch (err) {
      ctIssuerCache.inc({ result: "error" });
      throw err;
    }
    if (der !== null && createHash("sha256").update(der).digest("hex") !== fingerprint) der = null;
    if (der === null) {
      ctIssuerCache.inc({ result: "absent" });
      this.#absentUntil.set(fingerprint, this.#now() + this.#negativeTtlMs);
      return null;
    }
    ctIssuerCache.inc({ result: "miss" });
    this.#found.set(fingerprint, der);
    if (this.#found.size > this.#max) this.#found.delete(this.#found.keys().next().value as string);
    return der;
  }
}
