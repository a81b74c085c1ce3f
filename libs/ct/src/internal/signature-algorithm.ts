import { newTlv, oidToDotted, readTlv } from "./der.ts";

// signature_algorithm as certstream-server-rust (and certstream-server-go) spell it, keyed by the dotted OID of
// Certificate.signatureAlgorithm. Anything else is "unknown", like the reference.
const NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.2": "md2, rsa",
  "1.2.840.113549.1.1.4": "md5, rsa",
  "1.2.840.113549.1.1.5": "sha1, rsa",
  "1.2.840.113549.1.1.11": "sha256, rsa",
  "1.2.840.113549.1.1.12": "sha384, rsa",
  "1.2.840.113549.1.1.13": "sha512, rsa",
  "1.2.840.10040.4.3": "dsa, sha1",
  "2.16.840.1.101.3.4.3.2": "dsa, sha256",
  "1.2.840.10045.4.1": "ecdsa, sha1",
  "1.2.840.10045.4.3.2": "ecdsa, sha256",
  "1.2.840.10045.4.3.3": "ecdsa, sha384",
  "1.2.840.10045.4.3.4": "ecdsa, sha512",
  "1.3.101.112": "ed25519",
};

const RSASSA_PSS = "1.2.840.113549.1.1.10";

// The hash of an RSASSA-PSS signature, by the dotted OID of RSASSA-PSS-params.hashAlgorithm (RFC 4055 §2.1).
const PSS_HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.4": "sha224",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/*
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
 *
 * Name of the signature algorithm whose AlgorithmIdentifier content octets span buf[start, end); "unknown" when
 * the OID is not one of the table. RSASSA-PSS names its hash in the parameters (RFC 4055 §3.1):
 *   RSASSA-PSS-params ::= SEQUENCE {
 *     hashAlgorithm    [0] HashAlgorithm DEFAULT sha1,
 *     maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *     saltLength       [2] INTEGER DEFAULT 20,
 *     trailerField     [3] TrailerField DEFAULT trailerFieldBC }
 * so "sha384, rsa-pss"; absent parameters or hashAlgorithm mean sha1 (the DEFAULT); a hash this table does not
 * know is "unknown, rsa-pss".
 */
export function signatureAlgorithmName(buf: Uint8Array, start: number, end: number): string {
  const oid = newTlv();
  if (!readTlv(buf, start, end, oid) || oid.tag !== 0x06) return "unknown";
  const dotted = oidToDotted(buf, oid.start, oid.end);
  if (dotted !== RSASSA_PSS) return NAMES[dotted] ?? "unknown";
  return `${pssHash(buf, oid.next, end)}, rsa-pss`;
}

function pssHash(buf: Uint8Array, pos: number, end: number): string {
  const params = newTlv();
  // parameters absent, or NULL (seen in the wild): every field takes its DEFAULT.
  if (!readTlv(buf, pos, end, params) || params.tag !== 0x30) return "sha1";
  const field = newTlv();
  if (!readTlv(buf, params.start, params.end, field) || field.tag !== 0xa0) return "sha1"; // hashAlgorithm absent
  const hashAlg = newTlv();
  const hashOid = newTlv();
  if (
    !readTlv(buf, field.start, field.end, hashAlg) ||
    hashAlg.tag !== 0x30 ||
    !readTlv(buf, hashAlg.start, hashAlg.end, hashOid) ||
    hashOid.tag !== 0x06
  )
    return "unknown";
  return PSS_HASHES[oidToDotted(buf, hashOid.start, hashOid.end)] ?? "unknown";
}
