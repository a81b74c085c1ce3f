import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { formatCheckpoint } from "../../libs/ct/src/checkpoint.ts";
import { leafHash } from "../../libs/ct/src/merkle-hash.ts";
import {
  encodeTileLeaf,
  leafIndexExtension,
  readDataTile,
  type TileLeaf,
} from "../../libs/ct/src/tile-leaf.ts";
import { parseTilePath, TILE_WIDTH } from "../../libs/ct/src/tile-path.ts";
import { mutateCertificate, mutateTbs } from "./cert-mutation.ts";
import { send } from "./faults.ts";
import { type GrowingLogOptions, GrowingStandInLog } from "./growing-log.ts";
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

export interface StaticLogOptions extends GrowingLogOptions {
  /** Checkpoint origin; default "standin.example/<name>". */
  origin?: string;
  /** Serve data tiles with Content-Encoding: gzip. Default true (as live Sunlight logs do). */
  gzip?: boolean;
  issuers?: "rewrite" | "original";
}

let baseLeaves: TileLeaf[] | undefined;

export class StaticStandInLog extends GrowingStandInLog {
  readonly kind = "static" as const;
  readonly origin: string;
  gzip: boolean;
  readonly #leaves: Buffer[] = [];
  readonly #issuers = new Map<string, Buffer>();
  readonly #chainMap = new Map<string, Uint8Array>();
  readonly #rewriteIssuers: boolean;

  constructor(opts: StaticLogOptions) {
    super(opts);
    this.origin = opts.origin ?? `standin.example/${opts.name}`;
    this.gzip = opts.gzip ?? true;
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

  protected get realCount(): number {
    return (baseLeaves as TileLeaf[]).length;
  }

  protected append(i: number, reserved: boolean, variant: number | null, now: number): void {
    const base = baseLeaves as TileLeaf[];
    const b = base[i % base.length];
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
    this.tree.append(leafHash(merkleTreeLeafOf(leaf, b.entryType)));
  }

  leafBytes(i: number): Buffer {
    return this.#leaves[i];
  }

  checkpoint(size = this.size): string {
    const { timestamp, root, signature } = this.signedTreeHead(size);
    return formatCheckpoint(this.origin, size, root, timestamp, signature, this.key.logId);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
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
    this.countRequest(req, endpoint);
    if (await this.faults.before(endpoint, res)) return;
    if (endpoint === "checkpoint") {
      const size = this.size;
      const rollback = this.faults.takeRollback() && size > 1;
      const note = rollback ? this.checkpoint(Math.floor(size / 2)) : this.checkpoint(size);
      if (!rollback) this.published(size);
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
          .map((l, k) => (swap.includes(first + k) ? (this.#leaves[first + k + 1] ?? l) : l))
          // A TileLeaf begins with the TimestampedEntry, so with its timestamp.
          .map((l, k) => this.faults.served(first + k, l, 0)),
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
    for (let i = first; i < first + t.width; i++) hashes.push(this.tree.hash(i * span, (i + 1) * span));
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
