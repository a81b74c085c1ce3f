import { createHash } from "node:crypto";
import type { CertificateEntry } from "@certstream/schema";

/** `Certificate.sha256` as libs/ct writes it: 32 bytes as colon-separated upper-case hex ("AB:CD:…"). */
const COLON_HEX_SHA256 = /^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/;

/**
 * The Kafka key of every CertificateEntry: SHA-256 of the leaf DER (32 bytes). The same certificate lands in
 * the same partition of entries and certs, which the dedup stage relies on (co-partitioning).
 *
 * - When the leaf was parsed, its `sha256` (the SHA-256 of that same DER, computed by the parser) is reused
 *   instead of hashing the DER again.
 * - When the leaf could not be decoded (`leaf_der` empty), the key is SHA-256 of `raw.leaf_input` (the entry's
 *   bytes as served): hashing the empty DER would give every such entry the same key and pile them all into
 *   one partition. They are never forwarded to `certs`, so this key only spreads them; it names no certificate.
 */
export function entryKey(
  entry: Pick<CertificateEntry, "leaf_der"> & Partial<Pick<CertificateEntry, "leaf" | "raw">>,
): Buffer {
  const fromParser = entry.leaf?.sha256;
  if (fromParser !== undefined && entry.leaf_der.length > 0 && COLON_HEX_SHA256.test(fromParser)) {
    return Buffer.from(fromParser.replaceAll(":", ""), "hex");
  }
  if (entry.leaf_der.length === 0 && entry.raw && entry.raw.leaf_input.length > 0) {
    return createHash("sha256").update(entry.raw.leaf_input).digest();
  }
  return createHash("sha256").update(entry.leaf_der).digest();
}

/** Compacted-topic key of a log's state. */
export function stateKey(logId: string): Buffer {
  return Buffer.from(logId, "utf8");
}

/**
 * Key of a watcher's barrier records (empty values, see StateView): never a log id (those are base64), so
 * never a log's state, and compaction keeps one per log.
 */
export function barrierKey(logId: string): Buffer {
  return Buffer.from(`barrier:${logId}`, "utf8");
}
