import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

// A throwaway P-256 log key per stand-in log: tree heads are really signed, so clients really verify.

export interface StandInKey {
  privateKey: KeyObject;
  /** DER SPKI, base64: what a log list's `key` holds. */
  publicKeyBase64: string;
  /** SHA-256 of the SPKI: the RFC 6962 LogID. */
  logId: Buffer;
  logIdBase64: string;
}

export function generateLogKey(): StandInKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ format: "der", type: "spki" });
  const logId = createHash("sha256").update(spki).digest();
  return {
    privateKey,
    publicKeyBase64: spki.toString("base64"),
    logId,
    logIdBase64: logId.toString("base64"),
  };
}

/** DigitallySigned{sha256(4), ecdsa(3), DER signature} over `message`. */
export function digitallySign(key: StandInKey, message: Uint8Array): Buffer {
  const sig = sign("sha256", message, key.privateKey);
  const out = Buffer.alloc(4 + sig.length);
  out[0] = 4;
  out[1] = 3;
  out.writeUInt16BE(sig.length, 2);
  sig.copy(out, 4);
  return out;
}
