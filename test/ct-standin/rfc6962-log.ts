import type { IncomingMessage, ServerResponse } from "node:http";
import { leafHash } from "../../libs/ct/src/merkle-hash.ts";
import { mutateCertificate, mutateTbs } from "./cert-mutation.ts";
import { send } from "./faults.ts";
import { type GrowingLogOptions, GrowingStandInLog } from "./growing-log.ts";
import { loadRfc6962Entries, type RealRfcEntry } from "./testdata.ts";

// An RFC 6962 log serving the REAL entries of ../shared/testdata/ct-entries/rfc6962 (46 entries). Past those it
// keeps growing by re-serving them at new indexes, either as the same certificates ("same": dedup collapses
// them) or as distinct ones ("distinct": serial rewritten per index, see cert-mutation.ts). Grown entries get
// the timestamp of the moment they were "logged". The tree, STH signatures and consistency proofs are real.

export interface Rfc6962LogOptions extends GrowingLogOptions {
  /** get-entries page size cap. Default 32 (small, so paging is exercised). */
  pageSize?: number;
  /** Cut pages at multiples of pageSize, as Trillian-based logs do (default false: pageSize from start). */
  alignPages?: boolean;
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

export class Rfc6962StandInLog extends GrowingStandInLog {
  readonly kind = "rfc6962" as const;
  pageSize: number;
  alignPages: boolean;
  readonly #entries: ServedEntry[] = [];
  readonly #real: RealRfcEntry[];

  constructor(opts: Rfc6962LogOptions) {
    super(opts);
    realEntries ??= loadRfc6962Entries();
    this.#real = realEntries;
    this.pageSize = opts.pageSize ?? 32;
    this.alignPages = opts.alignPages ?? false;
    this.grow(opts.initialSize ?? this.#real.length);
  }

  get size(): number {
    return this.#entries.length;
  }

  protected get realCount(): number {
    return this.#real.length;
  }

  protected append(i: number, reserved: boolean, variant: number | null, now: number): void {
    const base = this.#real[i % this.#real.length];
    const e = reserved
      ? deriveEntry(base, variant, now)
      : { leafInput: base.leafInput, extraData: base.extraData };
    this.#entries.push(e);
    this.tree.append(leafHash(e.leafInput));
  }

  /** The served entry at i (tests compare what clients got). */
  entry(i: number): ServedEntry {
    return this.#entries[i];
  }

  #sth(size: number): object {
    const { timestamp, root, signature } = this.signedTreeHead(size);
    return {
      tree_size: size,
      timestamp,
      sha256_root_hash: Buffer.from(root).toString("base64"),
      tree_head_signature: signature.toString("base64"),
    };
  }

  /** Handle a request under this log's prefix; `path` is relative (e.g. "ct/v1/get-sth"). */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const endpoint = path.replace(/^ct\/v1\//, "");
    this.countRequest(req, endpoint);
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
        this.published(size);
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
        const proof = this.tree.consistencyProof(first, second).map((h) => Buffer.from(h).toString("base64"));
        return json(200, { consistency: proof });
      }
      case "get-proof-by-hash": {
        // RFC 6962 §4.5: the first leaf with this hash, and its audit path in the tree of tree_size.
        const hash = Buffer.from(query.get("hash") ?? "", "base64");
        const treeSize = Number(query.get("tree_size"));
        if (hash.length !== 32 || !Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > this.size) {
          send(res, 400, "bad hash/tree_size\n");
          return;
        }
        let index = -1;
        for (let i = 0; i < treeSize && index < 0; i++) if (hash.equals(this.tree.leaf(i))) index = i;
        if (index < 0) {
          send(res, 404, "no such leaf in that tree\n");
          return;
        }
        const path = this.tree.inclusionProof(index, treeSize).map((h) => Buffer.from(h).toString("base64"));
        return json(200, { leaf_index: index, audit_path: path });
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
        const reordered = this.faults.faults.reorderedEntries ?? [];
        for (let i = start; i <= last; i++) {
          const from = reordered.includes(i) ? i + 1 : reordered.includes(i - 1) ? i - 1 : i;
          const e = this.#entries[from] ?? this.#entries[i];
          const corrupt = this.faults.faults.corruptEntries?.includes(i);
          entries.push({
            // The MerkleTreeLeaf's timestamp is at byte 2 (after version and leaf_type).
            leaf_input: corrupt ? "%%not base64%%" : this.faults.served(i, e.leafInput, 2).toString("base64"),
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
