import { createHash } from "node:crypto";

// RFC 6962 §2.1: leaf and interior hashes are domain-separated by a one-byte prefix so a leaf can never be
// confused with an interior node (second-preimage protection).
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** MTH({d}) = SHA-256(0x00 || d), d being the serialized MerkleTreeLeaf. */
export function leafHash(merkleTreeLeaf: Uint8Array): Uint8Array {
  return createHash("sha256").update(LEAF_PREFIX).update(merkleTreeLeaf).digest();
}

/** Interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
}
