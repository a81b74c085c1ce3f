import type { IncomingMessage } from "node:http";
import { leafHash, nodeHash } from "../../libs/ct/src/merkle-hash.ts";
import { MerkleTree } from "../../libs/ct/src/merkle-proof.ts";
import { treeHeadSignatureInput } from "../../libs/ct/src/signed-tree-head.ts";
import { FaultInjector, type Faults } from "./faults.ts";
import { digitallySign, generateLogKey, type StandInKey } from "./signing-key.ts";

// What the RFC 6962 and static-ct-api stand-ins share: a real Merkle tree over entries that start as the real
// test data and keep growing past it by re-serving it at new indexes ("same" certificates, or "distinct" ones
// with a per-index serial), optionally on a timer; signed tree heads; request counting and faults.

export type CertMode = "same" | "distinct";

export interface GrowingLogOptions {
  name: string;
  /** Entries present at start (default: the real ones). */
  initialSize?: number;
  /** Entries added per second (0 = static). */
  growRate?: number;
  /** Stop growing at this size. */
  maxSize?: number;
  mode?: CertMode;
  /** Logs with the same certSeed serve the same certificates at the same indexes (dedup tests). */
  certSeed?: number;
  /**
   * Distinct mode: 0 (the default) serves the same certificates at the same indexes on every start; any other
   * value (1 .. 2^21-1) is stamped into the serials too, so a stand-in restarted with a new epoch (the CLI takes the
   * start time) serves certificates no earlier start served, and dedup does not drop its stream after a restart.
   */
  certEpoch?: number;
  faults?: Faults;
  key?: StandInKey;
  operator?: string;
}

export abstract class GrowingStandInLog {
  readonly name: string;
  readonly key: StandInKey;
  readonly faults: FaultInjector;
  readonly operator: string;
  growRate: number;
  /** Requests served per endpoint (tests read this). */
  readonly requests: Record<string, number> = {};
  /** User-Agent of the last request (tests check it is the configured one). */
  lastUserAgent: string | undefined;
  protected readonly tree = new MerkleTree();
  readonly #mode: CertMode;
  readonly #seed: number;
  /** certEpoch × 2^32: added to each variant, stamped into serial bytes above the low 32 bits. */
  readonly #epochBits: number;
  readonly #maxSize: number;
  #growTimer: NodeJS.Timeout | undefined;
  #growCarry = 0;
  // An entry is published once a served tree head (STH, checkpoint) covers it: the rising sizes served, each
  // with the time (ms) it was first served, for end-to-end latency (bench/e2e-latency.bench.ts).
  readonly #publishedSizes: number[] = [];
  readonly #publishedAt: number[] = [];

  constructor(opts: GrowingLogOptions) {
    this.name = opts.name;
    this.key = opts.key ?? generateLogKey();
    this.faults = new FaultInjector(opts.faults);
    this.operator = opts.operator ?? "Stand-in Operator";
    this.growRate = opts.growRate ?? 0;
    this.#mode = opts.mode ?? "same";
    this.#seed = opts.certSeed ?? 0;
    const epoch = opts.certEpoch ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= 2 ** 21)
      throw new Error(`certEpoch must be an integer in 0 .. 2^21-1, got ${epoch}`);
    this.#epochBits = epoch * 2 ** 32;
    this.#maxSize = opts.maxSize ?? Number.MAX_SAFE_INTEGER;
  }

  abstract get size(): number;

  /** How many real entries there are before re-serving starts. */
  protected abstract get realCount(): number;

  /**
   * Appends entry `i` (= size) to the served entries and the tree. `reserved`: past the real entries (gets the
   * timestamp `now`); `variant`: the per-index serial of a distinct re-served entry, null to keep the certificate.
   */
  protected abstract append(i: number, reserved: boolean, variant: number | null, now: number): void;

  /** Append n entries (real ones first, then re-served ones). */
  grow(n: number): void {
    const now = Date.now();
    for (let k = 0; k < n && this.size < this.#maxSize; k++) {
      const i = this.size;
      const reserved = i >= this.realCount;
      const variant =
        reserved && this.#mode === "distinct" ? ((this.#seed * 1_000_003 + i) >>> 0) + this.#epochBits : null;
      this.append(i, reserved, variant, now);
    }
  }

  /** When entry `index` was first served under a tree head covering it (ms since the epoch); null: not yet. */
  publishedAt(index: number): number | null {
    const sizes = this.#publishedSizes;
    let lo = 0;
    let hi = sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sizes[mid] > index) hi = mid;
      else lo = mid + 1;
    }
    return lo < sizes.length ? this.#publishedAt[lo] : null;
  }

  /** Records that a tree head of `size` is served now (a size at or below an earlier one publishes nothing). */
  protected published(size: number): void {
    const n = this.#publishedSizes.length;
    if (n > 0 && this.#publishedSizes[n - 1] >= size) return;
    this.#publishedSizes.push(size);
    this.#publishedAt.push(Date.now());
  }

  rootHash(size = this.size): Uint8Array {
    return this.tree.rootHash(size);
  }

  start(): void {
    if (this.growRate <= 0 || this.#growTimer) return;
    this.#growTimer = setInterval(() => {
      this.#growCarry += this.growRate / 10;
      const n = Math.floor(this.#growCarry);
      this.#growCarry -= n;
      if (n > 0) this.grow(n);
    }, 100);
    this.#growTimer.unref();
  }

  stop(): void {
    clearInterval(this.#growTimer);
    this.#growTimer = undefined;
  }

  /** A tree head of `size` signed now: its timestamp, root hash and DigitallySigned signature. */
  protected signedTreeHead(size: number): { timestamp: number; root: Uint8Array; signature: Buffer } {
    const timestamp = Date.now();
    const root = size > 0 && this.faults.takeFork() ? this.forkedRoot(size) : this.tree.rootHash(size);
    return {
      timestamp,
      root,
      signature: digitallySign(this.key, treeHeadSignatureInput(timestamp, size, root)),
    };
  }

  /** Root of the tree of `size` whose last leaf is replaced: every sibling on its audit path is to its left. */
  protected forkedRoot(size: number): Uint8Array {
    let r = leafHash(Buffer.from(`fork of ${this.name} at ${size}`));
    for (const p of this.tree.inclusionProof(size - 1, size)) r = nodeHash(p, r);
    return r;
  }

  /** Counts a request to `endpoint` and remembers its User-Agent. */
  protected countRequest(req: IncomingMessage, endpoint: string): void {
    this.lastUserAgent = req.headers["user-agent"];
    this.requests[endpoint] = (this.requests[endpoint] ?? 0) + 1;
  }
}
