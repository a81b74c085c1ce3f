import { decodeBase64Strict } from "./base64.ts";
import { type LogKey, verifyDigitallySigned } from "./log-key.ts";

// RFC 6962 §3.5 / §4.3. get-sth returns
//   { "tree_size", "timestamp", "sha256_root_hash": base64, "tree_head_signature": base64 DigitallySigned }
// and the signature covers
//   struct { Version version = v1(0); SignatureType signature_type = tree_hash(1); uint64 timestamp;
//            uint64 tree_size; opaque sha256_root_hash[32]; } TreeHeadSignature;

export interface SignedTreeHead {
  treeSize: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  rootHash: Uint8Array;
  /** The DigitallySigned bytes (empty when the source carried none, e.g. a checkpoint converted later). */
  signature: Uint8Array;
}

function strictBase64(value: unknown, field: string): Uint8Array {
  const bytes = decodeBase64Strict(value);
  if (bytes === null) throw new Error(`get-sth: ${field} is not base64`);
  return bytes;
}

function safeInteger(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`get-sth: ${field} is not a non-negative integer`);
  }
  return value;
}

/** Parse a get-sth body (string or already-parsed JSON). Throws with the field that is wrong. */
export function parseSignedTreeHead(body: unknown): SignedTreeHead {
  const json = typeof body === "string" ? (JSON.parse(body) as unknown) : body;
  if (typeof json !== "object" || json === null) throw new Error("get-sth: body is not a JSON object");
  const o = json as Record<string, unknown>;
  const rootHash = strictBase64(o.sha256_root_hash, "sha256_root_hash");
  if (rootHash.length !== 32) throw new Error("get-sth: sha256_root_hash is not 32 bytes");
  return {
    treeSize: safeInteger(o.tree_size, "tree_size"),
    timestamp: safeInteger(o.timestamp, "timestamp"),
    rootHash,
    signature: strictBase64(o.tree_head_signature, "tree_head_signature"),
  };
}

/** The TreeHeadSignature bytes a log signs for (timestamp, tree_size, root). */
export function treeHeadSignatureInput(
  timestamp: number,
  treeSize: number,
  rootHash: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(2 + 8 + 8 + 32);
  const view = new DataView(out.buffer);
  out[0] = 0; // version v1
  out[1] = 1; // signature_type tree_hash
  view.setBigUint64(2, BigInt(timestamp));
  view.setBigUint64(10, BigInt(treeSize));
  out.set(rootHash, 18);
  return out;
}

/** True when the STH's signature verifies with the log's key. */
export function verifySignedTreeHead(sth: SignedTreeHead, key: LogKey): boolean {
  return verifyDigitallySigned(
    key,
    treeHeadSignatureInput(sth.timestamp, sth.treeSize, sth.rootHash),
    sth.signature,
  );
}
