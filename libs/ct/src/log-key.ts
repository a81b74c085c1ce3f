import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";

// RFC 6962 §3.2: a log is identified by LogID = SHA-256 of its public key (DER SubjectPublicKeyInfo). Its
// signatures are TLS `digitally-signed` structs (RFC 5246 §4.7):
//   struct { HashAlgorithm hash; SignatureAlgorithm signature; opaque signature<0..2^16-1>; } DigitallySigned;
// with hash = sha256(4) and signature = rsa(1) or ecdsa(3).

export interface LogKey {
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** SHA-256 of `spki` (RFC 6962 LogID). */
  logId: Uint8Array;
  /** `logId` in standard base64, as log lists spell it. */
  logIdBase64: string;
  keyObject: KeyObject;
  /** "ec" (P-256) or "rsa". */
  type: "ec" | "rsa";
}

/** A log key from base64 DER SPKI (log list `key`), raw DER, or PEM. Throws on anything else. */
export function parseLogKey(key: string | Uint8Array): LogKey {
  let spki: Buffer;
  if (typeof key === "string") {
    spki = key.includes("-----BEGIN")
      ? (createPublicKey(key).export({ format: "der", type: "spki" }) as Buffer)
      : Buffer.from(key.trim(), "base64");
  } else {
    spki = Buffer.from(key);
  }
  const keyObject = createPublicKey({ key: spki, format: "der", type: "spki" });
  const type = keyObject.asymmetricKeyType;
  if (type !== "ec" && type !== "rsa") throw new Error(`unsupported log key type ${type}`);
  const logId = createHash("sha256").update(spki).digest();
  return {
    spki: new Uint8Array(spki),
    logId: new Uint8Array(logId),
    logIdBase64: logId.toString("base64"),
    keyObject,
    type,
  };
}

const HASH_SHA256 = 4;
const SIG_RSA = 1;
const SIG_ECDSA = 3;

/** The `signature` bytes of a DigitallySigned, checked against the key type; null when malformed. */
export function readDigitallySigned(ds: Uint8Array, key: LogKey): Uint8Array | null {
  if (ds.length < 4) return null;
  const hash = ds[0];
  const sig = ds[1];
  const len = (ds[2] << 8) | ds[3];
  if (ds.length !== 4 + len || hash !== HASH_SHA256) return null;
  if ((key.type === "ec" && sig !== SIG_ECDSA) || (key.type === "rsa" && sig !== SIG_RSA)) return null;
  return ds.subarray(4);
}

/** Verify a DigitallySigned over `message` with the log key (ECDSA P-256/SHA-256 or RSA PKCS#1 v1.5/SHA-256). */
export function verifyDigitallySigned(key: LogKey, message: Uint8Array, ds: Uint8Array): boolean {
  const signature = readDigitallySigned(ds, key);
  if (signature === null) return false;
  try {
    return verify("sha256", message, key.keyObject, signature);
  } catch {
    // A malformed DER signature throws in OpenSSL; for us it is simply a signature that does not verify.
    return false;
  }
}
