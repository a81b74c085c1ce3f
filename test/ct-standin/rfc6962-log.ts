import type { IncomingMessage, ServerResponse } from "node:http";
import { leafHash } from "../../libs/ct/src/merkle-hash.ts";
import { MerkleTree } from "../../libs/ct/src/merkle-proof.ts";
import { treeHeadSignatureInput } from "../../libs/ct/src/signed-tree-head.ts";
import { mutateCertificate, mutateTbs } from "./cert-mutation.ts";
import { FaultInjector, type Faults, send } from "./faults.ts";
import { digitallySign, generateLogKey, type StandInKey } from "./signing-key.ts";
import { loadRfc6962Entries, type RealRfcEntry } from "./testdata.ts";

// An RFC 6962 log serving the REAL entries of ../shared/testdata/ct-entries/rfc6962 (46 entries). Past those it
// keeps growing by re-serving them at new indexes, either as the same certificates ("same": dedup collapses
// them) or as distinct ones ("distinct": serial rewritten per index, see cert-mutation.ts). Grown entries get
// the timestamp of the moment they were "logged". The tree, STH signatures and consistency proofs are real.

export type CertMode = "same" | "distinct";

export interface Rfc6962LogOptions {
  name: string;
  /** Entries present at start (default: the 46 real ones). */
  initialSize?: number;
  /** Entries added per second (0 = static). */
  growRate?: number;
  /** Stop growing at this size. */
  maxSize?: number;
  /** get-entries page size cap. Default 32 (small, so paging is exercised). */
  pageSize?: number;
  /** Cut pages at multiples of pageSize, as Trillian-based logs do (default false: pageSize from start). */
  alignPages?: boolean;
  mode?: CertMode;
  /** Logs with the same certSeed serve the same certificates at the same indexes (dedup tests). */
  certSeed?: number;
  faults?: Faults;
  key?: StandInKey;
  operator?: string;
}

interface ServedEntry {
  leafInput: Buffer;
  extraData: Buffer;
}

let realEntries: RealRfcEntry[] | undefined;

/** Rewrite a real entry for index i: fresh timestamp, and in distinct mode a per-index serial. */
function deriveEntry(base: RealRfcEntry, variant: number | null, timestamp: number | null): ServedEntry {
  const leafInput = Buffer.from(base.leafInput);
  let extraData = base.extraData;
  if (timestamp !== null) leafInput.writeBigUInt64BE(BigInt(timestamp), 2);
  if (variant !== null) {
    const entryType = leafInput.readUInt16BE(10);
    if (entryType === 0) {
      const len = leafInput.readUIntBE(12, 3);
      mutateCertificate(leafInput.subarray(15, 15 + len), variant).copy(leafInput, 15);
    } else {
      const len = leafInput.readUIntBE(12 + 32, 3);
      mutateTbs(leafInput.subarray(47, 47 + len), variant).copy(leafInput, 47);
      const pre = Buffer.from(extraData);
      const plen = pre.readUIntBE(0, 3);
      mutateCertificate(pre.subarray(3, 3 + plen), variant).copy(pre, 3);
      extraData = pre;
    }
  }
  return { leafInput, extraData };
}

export class Rfc6962StandInLog {
  readonly name: string;
  readonly kind = "rfc6962" as const;
  readonly key: StandInKey;
  readonly faults: FaultInjector;
  readonly operator: string;
  pageSize: number;
  alignPages: boolean;
  growRate: number;
  readonly #mode: CertMode;
  readonly #seed: number;
  readonly #maxSize: number;
  readonly #entries: ServedEntry[] = [];
  readonly #tree = new MerkleTree();
  readonly #real: RealRfcEntry[];
  #growTimer: NodeJS.Timeout | undefined;
  #growCarry = 0;
  /** Requests served per endpoint (tests read this). */
  readonly requests: Record<string, number> = {};
  /** User-Agent of the last request (tests check it is the configured one). */
  lastUserAgent: string | undefined;

  constructor(opts: Rfc6962LogOptions) {
    this.name = opts.name;
    realEntries ??= loadRfc6962Entries();
    this.#real = realEntries;
    this.key = opts.key ?? generateLogKey();
    this.faults = new FaultInjector(opts.faults);
    this.operator = opts.operator ?? "Stand-in Operator";
    this.pageSize = opts.pageSize ?? 32;
    this.alignPages = opts.alignPages ?? false;
    this.growRate = opts.growRate ?? 0;
    this.#mode = opts.mode ?? "same";
    this.#seed = opts.certSeed ?? 0;
    this.#maxSize = opts.maxSize ?? Number.MAX_SAFE_INTEGER;
    this.grow(opts.initialSize ?? this.#real.length);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Append n entries (real ones first, then re-served ones). */
  grow(n: number): void {
    const now = Date.now();
    for (let k = 0; k < n && this.#entries.length < this.#maxSize; k++) {
      const i = this.#entries.length;
      const base = this.#real[i % this.#real.length];
      const reserved = i >= this.#real.length;
      const variant = reserved && this.#mode === "distinct" ? (this.#seed * 1_000_003 + i) >>> 0 : null;
      const e = reserved
        ? deriveEntry(base, variant, now)
        : { leafInput: base.leafInput, extraData: base.extraData };
      this.#entries.push(e);
      this.#tree.append(leafHash(e.leafInput));
    }
  }

  /** The served entry at i (tests compare what clients got). */
  entry(i: number): ServedEntry {
    return this.#entries[i];
  }

  rootHash(size = this.size): Uint8Array {
    return this.#tree.rootHash(size);
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

  #sth(size: number): object {
    const timestamp = Date.now();
    const root = this.#tree.rootHash(size);
    const sig = digitallySign(this.key, treeHeadSignatureInput(timestamp, size, root));
    return {
      tree_size: size,
      timestamp,
      sha256_root_hash: Buffer.from(root).toString("base64"),
      tree_head_signature: sig.toString("base64"),
    };
  }

  /** Handle a request under this log's prefix; `path` is relative (e.g. "ct/v1/get-sth"). */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    this.lastUserAgent = req.headers["user-agent"];
    const endpoint = path.replace(/^ct\/v1\//, "");
    this.requests[endpoint] = (this.requests[endpoint] ?? 0) + 1;
    if (await this.faults.before(endpoint, res)) return;
    const json = (status: number, body: unknown) =>
      this.faults.respond(endpoint, res, status, Buffer.from(JSON.stringify(body)), {
        "content-type": "application/json",
      });
    switch (endpoint) {
      case "get-sth": {
        const size = this.size;
        if (this.faults.takeRollback() && size > 1)
          return json(200, this.#sth(Math.max(1, Math.floor(size / 2))));
        return json(200, this.#sth(size));
      }
      case "get-sth-consistency": {
        const first = Number(query.get("first"));
        const second = Number(query.get("second"));
        if (
          !Number.isSafeInteger(first) ||
          !Number.isSafeInteger(second) ||
          first < 0 ||
          second > this.size ||
          first > second
        ) {
          send(res, 400, "bad first/second\n");
          return;
        }
        const proof = this.#tree
          .consistencyProof(first, second)
          .map((h) => Buffer.from(h).toString("base64"));
        return json(200, { consistency: proof });
      }
      case "get-entries": {
        const start = Number(query.get("start"));
        const end = Number(query.get("end"));
        if (
          !Number.isSafeInteger(start) ||
          !Number.isSafeInteger(end) ||
          start < 0 ||
          end < start ||
          start >= this.size
        ) {
          send(res, 400, "bad start/end\n");
          return;
        }
        if (this.faults.refuses(start, end + 1)) {
          send(res, 400, "range refused\n");
          return;
        }
        // Trillian-style logs cut pages at multiples of the page size; others serve pageSize from start.
        const pageEnd = this.alignPages
          ? (Math.floor(start / this.pageSize) + 1) * this.pageSize
          : start + this.pageSize;
        let last = Math.min(end, this.size - 1, pageEnd - 1);
        if (last > start && this.faults.shortPage(endpoint))
          last = start + Math.floor(this.faults.random() * (last - start));
        const entries = [];
        for (let i = start; i <= last; i++) {
          const e = this.#entries[i];
          const corrupt = this.faults.faults.corruptEntries?.includes(i);
          entries.push({
            leaf_input: corrupt ? "%%not base64%%" : e.leafInput.toString("base64"),
            extra_data: e.extraData.toString("base64"),
          });
        }
        return json(200, { entries });
      }
      default:
        send(res, 404, "not found\n");
    }
  }
}
