import { hash } from "node:crypto";
import type { Certificate } from "@certstream/schema";
import { CtParseError } from "./errors.ts";
import { newTlv, readTlv } from "./internal/der.ts";
import { colonHexUpperLatin1, hexUpper } from "./internal/hex.ts";
import { signatureAlgorithmName } from "./internal/signature-algorithm.ts";
import { readExtensions } from "./internal/x509-extensions.ts";
import { emptyName, readName } from "./internal/x509-name.ts";
import { readTime } from "./internal/x509-time.ts";

/*
 * Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier,
 *                            signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE {
 *   version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER, signature AlgorithmIdentifier,
 *   issuer Name, validity Validity, subject Name, subjectPublicKeyInfo SubjectPublicKeyInfo,
 *   issuerUniqueID [1] IMPLICIT OPTIONAL, subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT OPTIONAL }
 * Validity ::= SEQUENCE { notBefore Time, notAfter Time }
 *
 * Hand-written rather than @peculiar/asn1-x509 or node's X509Certificate: bench/x509-parser-choice.bench.ts
 * measures ~300 µs per certificate for @peculiar and ~50 µs for X509Certificate reading only part of the fields
 * certstream needs (no key identifiers, policies or key usage), against a budget of ~15 µs per certificate
 * (20,000 entries/s with a 2-3 certificate chain). Both are also strict where CT needs leniency.
 *
 * Lenient: only the TBSCertificate's serialNumber, issuer, validity and subject must be walkable; a bad time
 * reads as 0, unknown string types decode as text, broken extensions are left out, a truncated signature or a
 * truncated outer SEQUENCE is tolerated when the TBSCertificate is whole.
 */

/** Parses a DER (or BER) certificate into certstream's fields. Throws CtParseError("x509_invalid"). */
export function parseCertificate(der: Uint8Array): Certificate {
  const b = der;
  const cert = newTlv();
  if (!readTlv(b, 0, b.length, cert, true) || cert.tag !== 0x30) {
    throw new CtParseError("x509_invalid", "Certificate is not a SEQUENCE");
  }
  const tbs = newTlv();
  if (!readTlv(b, cert.start, cert.end, tbs, true) || tbs.tag !== 0x30) {
    throw new CtParseError("x509_invalid", "Certificate.tbsCertificate is not a SEQUENCE");
  }

  const f = newTlv();
  let p = tbs.start;
  // Reads the next TBSCertificate field into f and returns its tag.
  const next = (field: string): number => {
    if (!readTlv(b, p, tbs.end, f))
      throw new CtParseError("x509_invalid", `TBSCertificate.${field} missing or truncated`);
    p = f.next;
    return f.tag;
  };

  let tag = next("version");
  if (tag === 0xa0) tag = next("serialNumber");
  if (tag !== 0x02) throw new CtParseError("x509_invalid", "TBSCertificate.serialNumber is not an INTEGER");
  // Unsigned big-endian bytes without leading zeros, as the reference renders serials (zero is "00").
  let s = f.start;
  while (s < f.end - 1 && b[s] === 0) s++;
  const serialNumber = f.end > f.start ? hexUpper(b, s, f.end) : "00";

  tag = next("signature");
  const tbsSignatureAlg = tag === 0x30 ? f.start : -1;
  const tbsSignatureAlgEnd = f.end;

  tag = next("issuer");
  if (tag !== 0x30) throw new CtParseError("x509_invalid", "TBSCertificate.issuer is not a SEQUENCE");
  const issuer = readName(b, f.start, f.end);

  tag = next("validity");
  if (tag !== 0x30) throw new CtParseError("x509_invalid", "TBSCertificate.validity is not a SEQUENCE");
  const t = newTlv();
  let notBefore = 0;
  let notAfter = 0;
  if (readTlv(b, f.start, f.end, t)) {
    notBefore = readTime(b, t.tag, t.start, t.end) ?? 0;
    if (readTlv(b, t.next, f.end, t)) notAfter = readTime(b, t.tag, t.start, t.end) ?? 0;
  }

  tag = next("subject");
  const subject = tag === 0x30 ? readName(b, f.start, f.end) : emptyName();

  // subjectPublicKeyInfo, then the optional fields: only [3] extensions matters here.
  let parsed = { extensions: {} as Record<string, string | boolean>, isCa: false, dnsNames: [] as string[] };
  while (p < tbs.end && readTlv(b, p, tbs.end, f)) {
    p = f.next;
    if (f.tag === (0xa3 as number) && readTlv(b, f.start, f.end, t) && t.tag === 0x30) {
      parsed = readExtensions(b, t.start, t.end);
    }
  }

  // Certificate.signatureAlgorithm (falling back to TBSCertificate.signature when the outer one is cut off).
  let signatureAlgorithm = "unknown";
  if (readTlv(b, tbs.next, cert.end, f) && f.tag === 0x30) {
    signatureAlgorithm = signatureAlgorithmName(b, f.start, f.end);
  } else if (tbsSignatureAlg >= 0) {
    signatureAlgorithm = signatureAlgorithmName(b, tbsSignatureAlg, tbsSignatureAlgEnd);
  }

  // all_domains = CN ∪ SAN dNSNames, CN first, no repeats, empty names left out. A CA certificate's CN names
  // the CA, not a host: like certstream-server-rust and -go, its all_domains is the SAN dNSNames alone, in SAN order.
  const allDomains: string[] = [];
  if (!parsed.isCa && subject.CN !== null && subject.CN !== "") allDomains.push(subject.CN);
  const dns = parsed.dnsNames;
  for (let i = 0; i < dns.length; i++) {
    if (dns[i] !== "" && !allDomains.includes(dns[i])) allDomains.push(dns[i]);
  }

  const sha1 = fingerprint("sha1", der);
  return {
    subject,
    issuer,
    serial_number: serialNumber,
    not_before: notBefore,
    not_after: notAfter,
    fingerprint: sha1,
    sha1,
    sha256: fingerprint("sha256", der),
    signature_algorithm: signatureAlgorithm,
    is_ca: parsed.isCa,
    all_domains: allDomains,
    extensions: parsed.extensions,
  };
}

/**
 * "30:AF:…": the digest is asked for as a latin1 ("binary") string, one char per byte; a Buffer result costs
 * ~0.5 µs more per call (a backing store of its own), twice per certificate.
 */
function fingerprint(algorithm: "sha1" | "sha256", der: Uint8Array): string {
  return colonHexUpperLatin1(hash(algorithm, der, "binary"));
}
