/**
 * Whether an entry is proven to be in its log's signed tree (issue 18), as the ingester knew when it published
 * the entry. Mirrors the TreeVerification record of avro/CertificateEntry.avsc.
 *  - verified: the entries ingested up to tree_size hash to the root of the log's signed head of that size
 *    (tree_timestamp: the head's timestamp, ms), and this entry is below tree_size;
 *  - pending: hashed into the log's range, not yet covered by a signed head when published (a head covers it
 *    later: the log's verified size, /api/logs);
 *  - unverifiable: no range (verification off, the log's heads are not signed with a known key, no seed yet,
 *    or the entry came from the backfill job);
 *  - mismatch: the last comparison for this log failed (tree_size: the head that did not match).
 */
export type VerificationState = "verified" | "pending" | "unverifiable" | "mismatch";

export interface EntryVerification {
  state: VerificationState;
  tree_size: number | null;
  tree_timestamp: number | null;
}

/**
 * The fields of CertificateEntry that issue 18 adds (nullable, BACKWARD compatible: records written before
 * read them as null).
 */
export interface TreeFields {
  /** RFC 6962 leaf hash, SHA-256(0x00 || MerkleTreeLeaf): the entry's leaf in its log's Merkle tree. */
  leaf_hash: Uint8Array | null;
  /** The entry's verification state when the ingester published it. */
  tree_verification: EntryVerification | null;
  /**
   * SHA-256 of the leaf's TBSCertificate with the CT poison and SCT list extensions removed: a precertificate
   * and its final certificate share it.
   */
  tbs_hash: Uint8Array | null;
}
