import { createHash } from "node:crypto";
import type { LogKey } from "./log-key.ts";
import { type SignedTreeHead, verifySignedTreeHead } from "./signed-tree-head.ts";

// c2sp.org/tlog-checkpoint inside a c2sp.org/signed-note, signed per c2sp.org/static-ct-api:
//
//   <origin>\n<tree size>\n<base64 root hash>\n[extension lines]\n
//   \n
//   — <key name> base64(key ID || RFC6962NoteSignature)\n
//
//   struct { uint64 timestamp; TreeHeadSignature signature; } RFC6962NoteSignature;   (signature = DigitallySigned)
//   key ID = SHA-256(key name || 0x0A || 0x05 || LogID)[:4], key name = origin.

export interface Checkpoint extends SignedTreeHead {
  origin: string;
  /** Extension lines after the root hash (must be empty for an RFC 6962-signed checkpoint). */
  extensions: string[];
  /** The note text the signatures cover (ends with "\n"). */
  text: string;
}

export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  readonly reason: "malformed" | "wrong_origin" | "no_signature" | "bad_signature";
  constructor(reason: CheckpointError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

const SIG_TYPE_RFC6962 = 0x05;
const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURES = 100;

/** The note key ID of a static-ct-api log: first four bytes of SHA-256(name || "\n" || 0x05 || LogID). */
export function rfc6962NoteKeyId(keyName: string, logId: Uint8Array): number {
  const h = createHash("sha256")
    .update(keyName)
    .update(Buffer.from([0x0a, SIG_TYPE_RFC6962]))
    .update(logId)
    .digest();
  return h.readUInt32BE(0);
}

interface NoteSignature {
  keyName: string;
  bytes: Buffer;
}

function splitNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (note.length > MAX_NOTE_BYTES) throw new CheckpointError("malformed", "note too large");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the spec forbids exactly these characters
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note))
    throw new CheckpointError("malformed", "note contains control characters");
  if (!note.endsWith("\n")) throw new CheckpointError("malformed", "note does not end with a newline");
  // The text is separated from the signatures by the LAST empty line.
  const sep = note.lastIndexOf("\n\n");
  if (sep < 0) throw new CheckpointError("malformed", "note has no signature block");
  const text = note.slice(0, sep + 1);
  const lines = note.slice(sep + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new CheckpointError("malformed", "too many note signatures");
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (!m) throw new CheckpointError("malformed", "malformed note signature line");
    const bytes = Buffer.from(m[2], "base64");
    if (bytes.length < 5) throw new CheckpointError("malformed", "note signature too short");
    signatures.push({ keyName: m[1], bytes });
  }
  return { text, signatures };
}

export interface CheckpointOptions {
  /** The origin line the log must use (its submission prefix without scheme and trailing slash). */
  origin?: string;
  /** When given, the RFC6962NoteSignature by this key must be present and verify. */
  key?: LogKey;
}

/** Parse (and, with a key, verify) a static-ct-api checkpoint. Throws CheckpointError. */
export function parseCheckpoint(note: string, opts: CheckpointOptions = {}): Checkpoint {
  const { text, signatures } = splitNote(note);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new CheckpointError("malformed", "checkpoint has fewer than three lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === "") throw new CheckpointError("malformed", "checkpoint origin is empty");
  if (opts.origin !== undefined && origin !== opts.origin) {
    throw new CheckpointError(
      "wrong_origin",
      `checkpoint origin ${JSON.stringify(origin)} is not ${JSON.stringify(opts.origin)}`,
    );
  }
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine))
    throw new CheckpointError("malformed", "checkpoint tree size is not a decimal");
  const treeSize = Number(sizeLine);
  if (!Number.isSafeInteger(treeSize))
    throw new CheckpointError("malformed", "checkpoint tree size too large");
  const rootHash = Buffer.from(rootLine, "base64");
  if (rootHash.length !== 32 || rootHash.toString("base64") !== rootLine) {
    throw new CheckpointError("malformed", "checkpoint root hash is not 32 bytes of base64");
  }
  const checkpoint: Checkpoint = {
    origin,
    treeSize,
    rootHash: new Uint8Array(rootHash),
    timestamp: 0,
    signature: new Uint8Array(0),
    extensions,
    text,
  };
  // Without a key we still read the timestamp from the first signature whose name is the origin, if any.
  const keyId = opts.key ? rfc6962NoteKeyId(origin, opts.key.logId) : undefined;
  let found = false;
  for (const sig of signatures) {
    if (sig.keyName !== origin) continue; // witnesses and other keys: ignored, as the spec requires
    if (keyId !== undefined && sig.bytes.readUInt32BE(0) !== keyId) continue;
    if (sig.bytes.length < 4 + 8 + 4) {
      if (opts.key) throw new CheckpointError("bad_signature", "RFC6962NoteSignature too short");
      continue;
    }
    const timestamp = Number(sig.bytes.readBigUInt64BE(4));
    const ds = new Uint8Array(sig.bytes.subarray(12));
    if (!opts.key) {
      checkpoint.timestamp = timestamp;
      checkpoint.signature = ds;
      found = true;
      break;
    }
    if (extensions.length > 0)
      throw new CheckpointError("malformed", "RFC 6962-signed checkpoint has extension lines");
    const candidate = { treeSize, timestamp, rootHash: checkpoint.rootHash, signature: ds };
    if (!verifySignedTreeHead(candidate, opts.key)) {
      throw new CheckpointError("bad_signature", "checkpoint RFC6962NoteSignature does not verify");
    }
    checkpoint.timestamp = timestamp;
    checkpoint.signature = ds;
    found = true;
    break;
  }
  if (opts.key && !found)
    throw new CheckpointError("no_signature", "checkpoint has no signature by the log's key");
  return checkpoint;
}

/** Render a checkpoint signed with an RFC6962NoteSignature (used by the stand-in log). */
export function formatCheckpoint(
  origin: string,
  treeSize: number,
  rootHash: Uint8Array,
  timestamp: number,
  digitallySigned: Uint8Array,
  logId: Uint8Array,
): string {
  const text = `${origin}\n${treeSize}\n${Buffer.from(rootHash).toString("base64")}\n`;
  const sig = Buffer.alloc(4 + 8 + digitallySigned.length);
  sig.writeUInt32BE(rfc6962NoteKeyId(origin, logId), 0);
  sig.writeBigUInt64BE(BigInt(timestamp), 4);
  sig.set(digitallySigned, 12);
  return `${text}\n\u2014 ${origin} ${sig.toString("base64")}\n`;
}
