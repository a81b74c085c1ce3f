import { hash } from "node:crypto";
import { bytesEqual, newTlv, readTlv } from "./internal/der.ts";
import { readMerkleTreeLeaf } from "./leaf.ts";

// The link between a precertificate and its final certificate (RFC 6962 §3.1, RFC 9162 §3.2): the CA issues
// the final certificate from the same TBSCertificate, with the CT poison extension (1.3.6.1.4.1.11129.2.4.3)
// removed and the SCT list (1.3.6.1.4.1.11129.2.4.2) added. Remove both and the two TBSCertificates are the
// same bytes, so their SHA-256 identifies the pair.
//
// A precertificate issued by a Precertificate Signing Certificate names that certificate as its issuer (and its
// key id), so tbsHash of its DER differs from the final certificate's; entryTbsHash hashes the log's
// PreCert.tbs_certificate instead, where the log has already put the final issuer in.

/** Content octets of the OIDs removed. */
const POISON_OID = Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03]);
const SCT_LIST_OID = Uint8Array.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02]);

/** A DER header (tag, definite length) for `len` content bytes. */
function header(tag: number, len: number): Buffer {
  if (len < 0x80) return Buffer.from([tag, len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

/**
 * SHA-256 of the certificate's TBSCertificate with the CT poison and SCT list extensions removed (an empty
 * extensions field is left out, as in a certificate without extensions). Null when the DER cannot be walked
 * that far (the caller leaves the link out).
 */
export function tbsHash(der: Uint8Array): Uint8Array | null {
  const cert = newTlv();
  if (!readTlv(der, 0, der.length, cert, true) || cert.tag !== 0x30) return null;
  const tbs = newTlv();
  if (!readTlv(der, cert.start, cert.end, tbs) || tbs.tag !== 0x30) return null;
  // TBSCertificate ::= SEQUENCE { ..., extensions [3] EXPLICIT Extensions OPTIONAL } : the last field.
  const field = newTlv();
  let extField = -1;
  for (let p = tbs.start; p < tbs.end; p = field.next) {
    if (!readTlv(der, p, tbs.end, field)) return null;
    if (field.tag === 0xa3) {
      extField = p;
      break;
    }
  }
  const tbsBytes = der.subarray(cert.start, tbs.next);
  if (extField < 0) return hash("sha256", tbsBytes, "buffer");
  const extTag = { ...field };
  const seq = newTlv();
  if (!readTlv(der, extTag.start, extTag.end, seq) || seq.tag !== 0x30) return null;
  // Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
  const kept: Uint8Array[] = [];
  let removed = false;
  const ext = newTlv();
  const oid = newTlv();
  for (let p = seq.start; p < seq.end; p = ext.next) {
    if (!readTlv(der, p, seq.end, ext) || ext.tag !== 0x30) return null;
    if (!readTlv(der, ext.start, ext.end, oid) || oid.tag !== 0x06) return null;
    if (bytesEqual(der, oid.start, oid.end, POISON_OID) || bytesEqual(der, oid.start, oid.end, SCT_LIST_OID))
      removed = true;
    else kept.push(der.subarray(p, ext.next));
  }
  if (!removed) return hash("sha256", tbsBytes, "buffer");
  const before = der.subarray(tbs.start, extField);
  const after = der.subarray(extTag.next, tbs.end);
  let extensions: Buffer = Buffer.alloc(0);
  if (kept.length > 0) {
    const body = Buffer.concat(kept);
    const inner = Buffer.concat([header(0x30, body.length), body]);
    extensions = Buffer.concat([header(0xa3, inner.length), inner]);
  }
  const content = Buffer.concat([before, extensions, after]);
  return hash("sha256", Buffer.concat([header(0x30, content.length), content]), "buffer");
}

/**
 * The TBS hash of a log entry: for a precert_entry, SHA-256 of the PreCert.tbs_certificate the log holds (the
 * TBS with the poison removed and, for a Precertificate Signing Certificate, the final issuer already put in);
 * for an x509_entry, tbsHash of the certificate. Null when neither can be read.
 */
export function entryTbsHash(
  entryType: "X509LogEntry" | "PrecertLogEntry",
  merkleTreeLeaf: Uint8Array,
  leafDer: Uint8Array,
): Uint8Array | null {
  if (entryType === "X509LogEntry") return leafDer.length > 0 ? tbsHash(leafDer) : null;
  try {
    const pre = readMerkleTreeLeaf(merkleTreeLeaf).timestampedEntry.precertEntry;
    return pre ? hash("sha256", pre.tbsCertificate, "buffer") : null;
  } catch {
    return null;
  }
}
