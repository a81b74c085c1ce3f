import { HASH_SIZE, TILE_WIDTH } from "./tile-path.ts";

// What one response of a CT log can legitimately hold, in decompressed bytes. LogFetcher enforces the bound while
// it reads (and inflates) the body, so a compression bomb (32 KB of gzip inflating to 32 MiB) is refused after at
// most this many bytes, not after it has been held in memory; `ct_log.max_response_bytes` stays the ceiling.
// Entry allowances bound a whole response, not each entry: a few outsized certificates among ordinary ones fit.

/**
 * Average bytes per static-ct-api TileLeaf. Real data tiles average 1.5–3 KB per entry (navigli2025h2: 400 KB for
 * 256); a precert leaf carries the certificate about twice (TBSCertificate and pre_certificate), so 32 KiB on
 * average is a tile of certificates with thousands of SANs each.
 */
export const TILE_LEAF_ALLOWANCE_BYTES = 32 * 1024;

/**
 * Average bytes per get-entries entry: base64 (4/3) of the MerkleTreeLeaf and of extra_data, which also carries
 * the issuing chain. Real pages average about 5 KB per entry (argon2026h2).
 */
export const GET_ENTRIES_ENTRY_ALLOWANCE_BYTES = 64 * 1024;

/** A checkpoint note: four lines, extension lines and a signature line per cosigner; real ones are < 1 KB. */
export const CHECKPOINT_MAX_BYTES = 64 * 1024;

/** get-sth JSON (RFC 6962 §4.3): five short fields, about 300 bytes. */
export const STH_MAX_BYTES = 16 * 1024;

/** get-sth-consistency JSON: at most ~2·log2(tree size) base64 hashes, a few KB. */
export const CONSISTENCY_PROOF_MAX_BYTES = 16 * 1024;

/** get-proof-by-hash JSON: a leaf index and at most ~log2(tree size) base64 hashes, a few KB. */
export const AUDIT_PATH_MAX_BYTES = 16 * 1024;

/** issuer/<fingerprint>: one CA certificate (DER), a few KB; OpenSSL refuses whole chains above 100 KiB. */
export const ISSUER_MAX_BYTES = 128 * 1024;

/** The Chrome v3 log list (or its signature): every log ever listed is ~150 KB today. */
export const LOG_LIST_MAX_BYTES = 4 * 1024 * 1024;

/** A data tile of `width` leaves (at most 256). */
export function dataTileMaxBytes(width: number = TILE_WIDTH): number {
  return Math.min(width, TILE_WIDTH) * TILE_LEAF_ALLOWANCE_BYTES;
}

/** A get-entries page for `count` requested entries (a log may serve fewer, never more). */
export function getEntriesMaxBytes(count: number): number {
  return Math.max(1, count) * GET_ENTRIES_ENTRY_ALLOWANCE_BYTES;
}

/** A hash tile of `width` hashes: exactly 32 bytes each. */
export function hashTileMaxBytes(width: number = TILE_WIDTH): number {
  return Math.min(width, TILE_WIDTH) * HASH_SIZE;
}
