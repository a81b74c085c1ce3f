import { newTlv, oidToDotted, readTlv, type Tlv } from "./der.ts";

/*
 * SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }   (RFC 5280)
 * AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY DEFINED BY algorithm OPTIONAL }
 * RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }                             (RFC 8017)
 * ECParameters ::= CHOICE { namedCurve OBJECT IDENTIFIER, ... }                                      (RFC 5480)
 * Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }                                         (RFC 3279)
 *
 * Read separately from parseCertificate (a second walk down to the SPKI, ~1 µs): the key is needed only for the
 * archive's key_algorithm / key_bits, and keeping it apart leaves the certstream field parser as it is.
 */

/** The subject's key: algorithm name ("RSA", "ECDSA", "Ed25519", ...; the dotted OID when unknown) and size. */
export interface PublicKeyInfo {
  algorithm: string;
  /** RSA/DSA: modulus / p bits; EC: the curve's field size; EdDSA: 256 / 448; null when unknown. */
  bits: number | null;
}

const ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.1": "RSA",
  "1.2.840.113549.1.1.10": "RSA-PSS",
  "1.2.840.10045.2.1": "ECDSA",
  "1.2.840.10040.4.1": "DSA",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  "1.2.156.10197.1.301": "SM2",
  "2.16.840.1.101.3.4.3.17": "ML-DSA-44",
  "2.16.840.1.101.3.4.3.18": "ML-DSA-65",
  "2.16.840.1.101.3.4.3.19": "ML-DSA-87",
};

const FIXED_BITS: Record<string, number> = { Ed25519: 256, Ed448: 448 };

/** Named curves by OID → field size in bits (SEC 2, RFC 5639 brainpool). */
const CURVE_BITS: Record<string, number> = {
  "1.2.840.10045.3.1.1": 192, // P-192
  "1.3.132.0.33": 224, // P-224
  "1.2.840.10045.3.1.7": 256, // P-256
  "1.3.132.0.34": 384, // P-384
  "1.3.132.0.35": 521, // P-521
  "1.3.132.0.10": 256, // secp256k1
  "1.3.36.3.3.2.8.1.1.7": 256, // brainpoolP256r1
  "1.3.36.3.3.2.8.1.1.11": 384, // brainpoolP384r1
  "1.3.36.3.3.2.8.1.1.13": 512, // brainpoolP512r1
  "1.2.156.10197.1.301": 256, // SM2
};

/** Bits of an unsigned big-endian INTEGER's value (leading zero octets and bits not counted). */
function integerBits(b: Uint8Array, start: number, end: number): number | null {
  let s = start;
  while (s < end && b[s] === 0) s++;
  if (s >= end) return null;
  return (end - s - 1) * 8 + (32 - Math.clz32(b[s]));
}

/** First INTEGER inside the SEQUENCE at t (RSAPublicKey.modulus, Dss-Parms.p). */
function firstIntegerBits(b: Uint8Array, t: Tlv): number | null {
  if (t.tag !== 0x30) return null;
  const i = newTlv();
  if (!readTlv(b, t.start, t.end, i) || i.tag !== 0x02) return null;
  return integerBits(b, i.start, i.end);
}

/** The subject public key of a DER certificate, or null when the TBSCertificate cannot be walked to it. */
export function readPublicKey(der: Uint8Array): PublicKeyInfo | null {
  const b = der;
  const t = newTlv();
  if (!readTlv(b, 0, b.length, t, true) || t.tag !== 0x30) return null;
  if (!readTlv(b, t.start, t.end, t, true) || t.tag !== 0x30) return null;
  const tbsEnd = t.end;
  let p = t.start;
  // version [0] (optional), serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo.
  if (!readTlv(b, p, tbsEnd, t)) return null;
  let skip = (t.tag as number) === 0xa0 ? 6 : 5; // (the checks above narrowed tag to 0x30)
  p = t.next;
  while (--skip > 0) {
    if (!readTlv(b, p, tbsEnd, t)) return null;
    p = t.next;
  }
  const spki = newTlv();
  if (!readTlv(b, p, tbsEnd, spki) || spki.tag !== 0x30) return null;
  const algId = newTlv();
  const oid = newTlv();
  if (!readTlv(b, spki.start, spki.end, algId) || algId.tag !== 0x30) return null;
  if (!readTlv(b, algId.start, algId.end, oid) || oid.tag !== 0x06) return null;
  const dotted = oidToDotted(b, oid.start, oid.end);
  const algorithm = ALGORITHMS[dotted] ?? dotted;
  const params = newTlv();
  const hasParams = readTlv(b, oid.next, algId.end, params);
  let bits: number | null = FIXED_BITS[algorithm] ?? null;
  if (algorithm === "ECDSA" || algorithm === "SM2") {
    if (hasParams && params.tag === 0x06) bits = CURVE_BITS[oidToDotted(b, params.start, params.end)] ?? null;
  } else if (algorithm === "DSA") {
    if (hasParams) bits = firstIntegerBits(b, params);
  } else if (algorithm === "RSA" || algorithm === "RSA-PSS") {
    // subjectPublicKey BIT STRING: one octet of unused bits, then the DER of RSAPublicKey.
    const key = newTlv();
    const rsa = newTlv();
    if (
      readTlv(b, algId.next, spki.end, key) &&
      key.tag === 0x03 &&
      key.end > key.start &&
      readTlv(b, key.start + 1, key.end, rsa)
    ) {
      bits = firstIntegerBits(b, rsa);
    }
  }
  return { algorithm, bits };
}
