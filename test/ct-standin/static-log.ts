import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { formatCheckpoint } from "../../libs/ct/src/checkpoint.ts";
import { leafHash } from "../../libs/ct/src/merkle-hash.ts";
import { MerkleTree } from "../../libs/ct/src/merkle-proof.ts";
import { treeHeadSignatureInput } from "../../libs/ct/src/signed-tree-head.ts";
import {
  encodeTileLeaf,
  leafIndexExtension,
  readDataTile,
  type TileLeaf,
} from "../../libs/ct/src/tile-leaf.ts";
import { parseTilePath, TILE_WIDTH } from "../../libs/ct/src/tile-path.ts";
import { mutateCertificate, mutateTbs } from "./cert-mutation.ts";
import { FaultInjector, type Faults, send } from "./faults.ts";
import type { CertMode } from "./rfc6962-log.ts";
import { digitallySign, generateLogKey, type StandInKey } from "./signing-key.ts";
import { loadIssuerCerts, loadNavigliDataTiles } from "./testdata.ts";

// A static-ct-api log serving the REAL navigli2025h2 TileLeaf entries (1024 Let's Encrypt staging precerts),
// growing past them by re-serving them at new indexes (leaf_index extension and timestamp rewritten, so every
// leaf is valid for its position). Checkpoints are signed (RFC6962NoteSignature), hash tiles of every level are
// computed from the leaves, data tiles may be gzip-encoded.
//
// Issuers: the navigli issuers (Let's Encrypt staging CAs) are not in the test data. With issuers "rewrite"
// (default) each original chain fingerprint is mapped to a real CA certificate from certs/live-2026, which is
// served at issuer/<sha256>; the chain is not part of the Merkle leaf, so the tree is unchanged. With
// "original" the real fingerprints are kept and issuer/ answers 404 (the client's missing-issuer path).

export interface StaticLogOptions {
  name: string;
  /** Checkpoint origin; default "standin.example/<name>". */
  origin?: string;
  initialSize?: number;
  growRate?: number;
  maxSize?: number;
  mode?: CertMode;
  certSeed?: number;
  /** Serve data tiles with Content-Encoding: gzip. Default true (as live Sunlight logs do). */
  gzip?: boolean;
  issuers?: "rewrite" | "original";
  faults?: Faults;
  key?: StandInKey;
  operator?: string;
}

let baseLeaves: TileLeaf[] | undefined;

export class StaticStandInLog {
  readonly name: string;
  readonly kind = "static" as const;
  readonly origin: string;
  readonly key: StandInKey;
  readonly faults: FaultInjector;
  readonly operator: string;
  growRate: number;
  gzip: boolean;
  readonly #mode: CertMode;
  readonly #seed: number;
  readonly #maxSize: number;
  readonly #leaves: Buffer[] = [];
  readonly #tree = new MerkleTree();
  readonly #issuers = new Map<string, Buffer>();
  readonly #chainMap = new Map<string, Uint8Array>();
  readonly #rewriteIssuers: boolean;
  #growTimer: NodeJS.Timeout | undefined;
  #growCarry = 0;
  readonly requests: Record<string, number> = {};
  /** User-Agent of the last request (tests check it is the configured one). */
  lastUserAgent: string | undefined;

  constructor(opts: StaticLogOptions) {
    this.name = opts.name;
    this.origin = opts.origin ?? `standin.example/${opts.name}`;
    this.key = opts.key ?? generateLogKey();
    this.faults = new FaultInjector(opts.faults);
    this.operator = opts.operator ?? "Stand-in Operator";
    this.growRate = opts.growRate ?? 0;
    this.gzip = opts.gzip ?? true;
    this.#mode = opts.mode ?? "same";
    this.#seed = opts.certSeed ?? 0;
    this.#maxSize = opts.maxSize ?? Number.MAX_SAFE_INTEGER;
    this.#rewriteIssuers = (opts.issuers ?? "rewrite") === "rewrite";
    baseLeaves ??= loadNavigliDataTiles().flatMap((t) => readDataTile(t, TILE_WIDTH));
    if (this.#rewriteIssuers) {
      const cas = loadIssuerCerts();
      for (const ca of cas) this.#issuers.set(createHash("sha256").update(ca).digest("hex"), ca);
      const fps = cas.map((ca) => createHash("sha256").update(ca).digest());
      let next = 0;
      for (const leaf of baseLeaves) {
        const k = Buffer.from(leaf.chainFingerprints[0] ?? new Uint8Array(32)).toString("hex");
        if (!this.#chainMap.has(k)) this.#chainMap.set(k, fps[next++ % fps.length]);
      }
    }
    this.grow(opts.initialSize ?? baseLeaves.length);
  }

  get size(): number {
    return this.#leaves.length;
  }

  /** The issuer certificates served (hex SHA-256 → DER). */
  get issuers(): ReadonlyMap<string, Buffer> {
    return this.#issuers;
  }

  grow(n: number): void {
    const base = baseLeaves as TileLeaf[];
    const now = Date.now();
    for (let k = 0; k < n && this.#leaves.length < this.#maxSize; k++) {
      const i = this.#leaves.length;
      const b = base[i % base.length];
      const reserved = i >= base.length;
      const variant = reserved && this.#mode === "distinct" ? (this.#seed * 1_000_003 + i) >>> 0 : null;
      const chain = this.#rewriteIssuers
        ? [
            this.#chainMap.get(
              Buffer.from(b.chainFingerprints[0] ?? new Uint8Array(32)).toString("hex"),
            ) as Uint8Array,
          ]
        : b.chainFingerprints;
      const leaf = encodeTileLeaf({
        timestamp: reserved ? now : b.timestamp,
        entryType: b.entryType,
        signedEntry:
          variant === null
            ? b.signedEntry
            : b.entryType === "precert"
              ? mutateTbs(b.signedEntry, variant)
              : mutateCertificate(b.signedEntry, variant),
        issuerKeyHash: b.issuerKeyHash,
        extensions: leafIndexExtension(i),
        leafCertificate: variant === null ? b.leafCertificate : mutateCertificate(b.leafCertificate, variant),
        chainFingerprints: chain,
      });
      this.#leaves.push(leaf);
      // MerkleTreeLeaf = 0x00 0x00 || TimestampedEntry; the TimestampedEntry is the TileLeaf's prefix.
      this.#tree.append(leafHash(merkleTreeLeafOf(leaf, b.entryType)));
    }
  }

  leafBytes(i: number): Buffer {
    return this.#leaves[i];
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

  checkpoint(size = this.size): string {
    const timestamp = Date.now();
    const root = this.#tree.rootHash(size);
    const ds = digitallySign(this.key, treeHeadSignatureInput(timestamp, size, root));
    return formatCheckpoint(this.origin, size, root, timestamp, ds, this.key.logId);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    this.lastUserAgent = req.headers["user-agent"];
    const endpoint =
      path === "checkpoint"
        ? "checkpoint"
        : path.startsWith("tile/data/")
          ? "data-tile"
          : path.startsWith("tile/")
            ? "tile"
            : path.startsWith("issuer/")
              ? "issuer"
              : "other";
    this.requests[endpoint] = (this.requests[endpoint] ?? 0) + 1;
    if (await this.faults.before(endpoint, res)) return;
    if (endpoint === "checkpoint") {
      const size = this.size;
      const note =
        this.faults.takeRollback() && size > 1
          ? this.checkpoint(Math.floor(size / 2))
          : this.checkpoint(size);
      return this.faults.respond(endpoint, res, 200, Buffer.from(note), {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
      });
    }
    if (endpoint === "issuer") {
      const der = this.#issuers.get(path.slice("issuer/".length));
      if (!der) return void send(res, 404, "no such issuer\n");
      return this.faults.respond(endpoint, res, 200, der, { "content-type": "application/pkix-cert" });
    }
    const t = parseTilePath(path);
    if (!t) return void send(res, 404, "not found\n");
    const first = t.n * TILE_WIDTH;
    if (t.level === "data") {
      if (first + t.width > this.size) return void send(res, 404, "tile not (yet) available\n");
      if (this.faults.refuses(first, first + t.width)) return void send(res, 404, "tile refused\n");
      if (this.faults.faults.noPartialTiles && t.width < TILE_WIDTH)
        return void send(res, 404, "partial tile gone\n");
      const swap = this.faults.faults.swapLeaves ?? [];
      const body = Buffer.concat(
        this.#leaves
          .slice(first, first + t.width)
          .map((l, k) => (swap.includes(first + k) ? (this.#leaves[first + k + 1] ?? l) : l)),
      );
      if (this.gzip) {
        return this.faults.respond(endpoint, res, 200, gzipSync(body), {
          "content-type": "application/octet-stream",
          "content-encoding": "gzip",
        });
      }
      return this.faults.respond(endpoint, res, 200, body, { "content-type": "application/octet-stream" });
    }
    // Level L hash i covers leaves [i * 256^L, (i+1) * 256^L).
    const span = TILE_WIDTH ** t.level;
    const available = Math.floor(this.size / span);
    if (first + t.width > available) return void send(res, 404, "tile not (yet) available\n");
    const hashes: Uint8Array[] = [];
    for (let i = first; i < first + t.width; i++) hashes.push(this.#tree.hash(i * span, (i + 1) * span));
    return this.faults.respond(endpoint, res, 200, Buffer.concat(hashes), {
      "content-type": "application/octet-stream",
    });
  }
}

/** MerkleTreeLeaf bytes of an encoded TileLeaf (the TimestampedEntry is its prefix). */
function merkleTreeLeafOf(tileLeaf: Buffer, entryType: "x509" | "precert"): Buffer {
  let p = 10;
  if (entryType === "precert") p += 32;
  p += 3 + tileLeaf.readUIntBE(p, 3);
  p += 2 + tileLeaf.readUInt16BE(p);
  return Buffer.concat([Buffer.from([0, 0]), tileLeaf.subarray(0, p)]);
}
