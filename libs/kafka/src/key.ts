import { createHash } from "node:crypto";
import type { CertificateEntry } from "@certstream/schema";

/**
 * The Kafka key of every CertificateEntry: SHA-256 of the leaf DER (32 bytes). The same certificate lands in
 * the same partition of entries and certs, which the dedup stage relies on (co-partitioning).
 */
export function entryKey(entry: Pick<CertificateEntry, "leaf_der">): Buffer {
  return createHash("sha256").update(entry.leaf_der).digest();
}
