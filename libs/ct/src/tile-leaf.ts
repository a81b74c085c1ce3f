import type { DecodedEntry } from "./entry.ts";

// c2sp.org/static-ct-api data tiles are concatenations of
//
//   struct {
//     TimestampedEntry timestamped_entry;
//     select (entry_type) { case x509_entry: Empty; case precert_entry: ASN.1Cert pre_certificate; };
//     Fingerprint certificate_chain<0..2^16-1>;
//   } TileLeaf;
//
//   struct {                                       (RFC 6962 §3.4)
//     uint64 timestamp; LogEntryType entry_type;   (uint16)
//     select (entry_type) { case x509_entry: ASN.1Cert; case precert_entry: PreCert; } signed_entry;
//     CtExtensions extensions;                     (opaque <0..2^16-1>)
//   } TimestampedEntry;
//   struct { opaque issuer_key_hash[32]; TBSCertificate tbs_certificate; } PreCert;  (tbs: <1..2^24-1>)
//
// and the static-ct-api CtExtensions are Extension{uint8 type; opaque data<0..2^16-1>} with leaf_index(0) a uint40.

export class TileLeafError extends Error {
  override readonly name = "TileLeafError";
  /** truncated | unknown_entry_type | bad_extensions | bad_chain */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface TileLeaf {
  /** TimestampedEntry.timestamp, ms since the epoch. */
  timestamp: number;
  entryType: "x509" | "precert";
  /** x509_entry: the certificate; precert_entry: the TBSCertificate of the PreCert. */
  signedEntry: Uint8Array;
  /** PreCert.issuer_key_hash (precert_entry only). */
  issuerKeyHash: Uint8Array | null;
  /** The raw CtExtensions. */
  extensions: Uint8Array;
  /** The leaf_index extension, null when absent (archival leaves). */
  leafIndex: number | null;
  /** precert_entry: the pre_certificate submitted; x509_entry: the certificate again (same bytes). */
  leafCertificate: Uint8Array;
  /** SHA-256 fingerprints of the submitted issuers, leaf's issuer first. */
  chainFingerprints: Uint8Array[];
  /** The RFC 6962 MerkleTreeLeaf (v1, timestamped_entry) whose leaf hash is in the level-0 tile. */
  merkleTreeLeaf: Uint8Array;
}

class Cursor {
  readonly buf: Uint8Array;
  pos: number;
  constructor(buf: Uint8Array, pos: number) {
    this.buf = buf;
    this.pos = pos;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length)
      throw new TileLeafError("truncated", `invalid data tile: truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u24(what: string): number {
    this.need(3, what);
    const v = (this.buf[this.pos] << 16) | (this.buf[this.pos + 1] << 8) | this.buf[this.pos + 2];
    this.pos += 3;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const hi =
      (this.buf[this.pos] << 24) |
      (this.buf[this.pos + 1] << 16) |
      (this.buf[this.pos + 2] << 8) |
      this.buf[this.pos + 3];
    const lo =
      (this.buf[this.pos + 4] << 24) |
      (this.buf[this.pos + 5] << 16) |
      (this.buf[this.pos + 6] << 8) |
      this.buf[this.pos + 7];
    this.pos += 8;
    return (hi >>> 0) * 2 ** 32 + (lo >>> 0);
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** The leaf_index extension of a static-ct-api CtExtensions, null when absent. Throws on malformed lists. */
export function readLeafIndexExtension(extensions: Uint8Array): number | null {
  const c = new Cursor(extensions, 0);
  const seen = new Set<number>();
  let index: number | null = null;
  while (c.pos < extensions.length) {
    const type = c.u8("extension_type");
    const data = c.bytes(c.u16("extension_data length"), "extension_data");
    if (seen.has(type))
      throw new TileLeafError("bad_extensions", `invalid data tile: duplicate extension ${type}`);
    seen.add(type);
    if (type === 0) {
      if (data.length !== 5)
        throw new TileLeafError("bad_extensions", "invalid data tile: leaf_index is not 5 bytes");
      index = data[0] * 2 ** 32 + (((data[1] << 24) | (data[2] << 16) | (data[3] << 8) | data[4]) >>> 0);
    }
  }
  return index;
}

/** Read one TileLeaf at `offset`; returns it and the offset of the next. Throws TileLeafError. */
export function readTileLeaf(tile: Uint8Array, offset = 0): { leaf: TileLeaf; next: number } {
  const c = new Cursor(tile, offset);
  const timestamp = c.u64("timestamp");
  const type = c.u16("entry_type");
  let signedEntry: Uint8Array;
  let issuerKeyHash: Uint8Array | null = null;
  if (type === 0) {
    // x509_entry
    signedEntry = c.bytes(c.u24("ASN.1Cert length"), "x509_entry certificate");
  } else if (type === 1) {
    // precert_entry
    issuerKeyHash = c.bytes(32, "issuer_key_hash");
    signedEntry = c.bytes(c.u24("tbs_certificate length"), "precert_entry tbs_certificate");
  } else {
    throw new TileLeafError("unknown_entry_type", `invalid data tile: unknown entry_type ${type}`);
  }
  const extensions = c.bytes(c.u16("extensions length"), "extensions");
  const timestampedEnd = c.pos;
  const leafCertificate =
    type === 1 ? c.bytes(c.u24("pre_certificate length"), "pre_certificate") : signedEntry;
  const chainLen = c.u16("certificate_chain length");
  if (chainLen % 32 !== 0)
    throw new TileLeafError("bad_chain", "invalid data tile: certificate_chain not a multiple of 32 bytes");
  const chainBytes = c.bytes(chainLen, "certificate_chain");
  const chainFingerprints: Uint8Array[] = [];
  for (let i = 0; i < chainLen; i += 32) chainFingerprints.push(chainBytes.subarray(i, i + 32));
  const merkleTreeLeaf = new Uint8Array(2 + timestampedEnd - offset);
  merkleTreeLeaf[0] = 0; // version v1
  merkleTreeLeaf[1] = 0; // leaf_type timestamped_entry
  merkleTreeLeaf.set(tile.subarray(offset, timestampedEnd), 2);
  const leaf: TileLeaf = {
    timestamp,
    entryType: type === 0 ? "x509" : "precert",
    signedEntry,
    issuerKeyHash,
    extensions,
    leafIndex: readLeafIndexExtension(extensions),
    leafCertificate,
    chainFingerprints,
    merkleTreeLeaf,
  };
  return { leaf, next: c.pos };
}

/** Every TileLeaf of a data tile; throws when the tile does not hold exactly `expected` leaves (if given). */
export function readDataTile(tile: Uint8Array, expected?: number): TileLeaf[] {
  const leaves: TileLeaf[] = [];
  let pos = 0;
  while (pos < tile.length) {
    const { leaf, next } = readTileLeaf(tile, pos);
    leaves.push(leaf);
    pos = next;
  }
  if (expected !== undefined && leaves.length !== expected) {
    throw new TileLeafError("truncated", `invalid data tile: ${leaves.length} leaves, expected ${expected}`);
  }
  return leaves;
}

/** A DecodedEntry for leaf `index`, with the chain DERs supplied by the caller (resolved fingerprints). */
export function tileLeafToEntry(leaf: TileLeaf, index: number, chainDer: Uint8Array[]): DecodedEntry {
  return {
    index,
    timestamp: leaf.timestamp,
    entryType: leaf.entryType,
    leafDer: leaf.leafCertificate,
    chainDer,
  };
}

function u24(n: number): Uint8Array {
  return Uint8Array.of((n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

/** CtExtensions holding only leaf_index (8 bytes: type 0, length 5, uint40). */
export function leafIndexExtension(index: number): Uint8Array {
  const hi = Math.floor(index / 2 ** 32);
  const lo = index >>> 0;
  return Uint8Array.of(
    0,
    0,
    5,
    hi & 0xff,
    (lo >>> 24) & 0xff,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

/** The inverse of readTileLeaf (merkleTreeLeaf and leafIndex are derived, not read). */
export function encodeTileLeaf(
  leaf: Pick<
    TileLeaf,
    | "timestamp"
    | "entryType"
    | "signedEntry"
    | "issuerKeyHash"
    | "extensions"
    | "leafCertificate"
    | "chainFingerprints"
  >,
): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(leaf.timestamp));
  const parts: Uint8Array[] = [ts, u16(leaf.entryType === "x509" ? 0 : 1)];
  if (leaf.entryType === "precert") parts.push(leaf.issuerKeyHash ?? new Uint8Array(32));
  parts.push(u24(leaf.signedEntry.length), leaf.signedEntry, u16(leaf.extensions.length), leaf.extensions);
  if (leaf.entryType === "precert") parts.push(u24(leaf.leafCertificate.length), leaf.leafCertificate);
  parts.push(u16(leaf.chainFingerprints.length * 32), ...leaf.chainFingerprints);
  return Buffer.concat(parts);
}
