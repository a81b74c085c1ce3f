import { oidToDotted } from "./der.ts";

// signature_algorithm as certstream-server-rust (and certstream-server-go) spell it, keyed by the dotted OID of
// Certificate.signatureAlgorithm. Anything else is "unknown", like the reference.
const NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.2": "md2, rsa",
  "1.2.840.113549.1.1.4": "md5, rsa",
  "1.2.840.113549.1.1.5": "sha1, rsa",
  "1.2.840.113549.1.1.11": "sha256, rsa",
  "1.2.840.113549.1.1.12": "sha384, rsa",
  "1.2.840.113549.1.1.13": "sha512, rsa",
  "1.2.840.113549.1.1.10": "sha256, rsa-pss",
  "1.2.840.10040.4.3": "dsa, sha1",
  "2.16.840.1.101.3.4.3.2": "dsa, sha256",
  "1.2.840.10045.4.1": "ecdsa, sha1",
  "1.2.840.10045.4.3.2": "ecdsa, sha256",
  "1.2.840.10045.4.3.3": "ecdsa, sha384",
  "1.2.840.10045.4.3.4": "ecdsa, sha512",
  "1.3.101.112": "ed25519",
};

/** Name of the algorithm whose OID content octets span buf[start, end). */
export function signatureAlgorithmName(buf: Uint8Array, start: number, end: number): string {
  return NAMES[oidToDotted(buf, start, end)] ?? "unknown";
}
