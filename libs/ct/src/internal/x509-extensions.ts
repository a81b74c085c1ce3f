import { newTlv, oidToDotted, readTlv, type Tlv } from "./der.ts";
import { colonHexLower } from "./hex.ts";
import { decodeText } from "./x509-strings.ts";

/*
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 *
 * Rendered as certstream-server-rust names and formats them (the reference for the expected outputs):
 *   authorityInfoAccess     "URI:http://…, URI:http://…"   (URI access locations, cert order)
 *   authorityKeyIdentifier  "keyid:66:69:…"                (lower-case hex; only when keyIdentifier is present)
 *   basicConstraints        "CA:TRUE" | "CA:FALSE"
 *   certificatePolicies     "Policy: 2.23.140.1.2.1\n…"    (one line per policy OID)
 *   extendedKeyUsage        "serverAuth, clientAuth"        (fixed order of the known purposes)
 *   keyUsage                "Digital Signature, Key Encipherment"
 *   subjectAltName          "DNS:a, email:b, IP Address:c" (cert order)
 *   subjectKeyIdentifier    "keyid:51:b7:…"
 *   ctlPoisonByte           true                           (CT poison extension 1.3.6.1.4.1.11129.2.4.3)
 * An extension that does not parse is left out; a repeated one keeps its last value.
 */

export interface ParsedExtensions {
  extensions: Record<string, string | boolean>;
  isCa: boolean;
  /** SAN dNSNames in certificate order (duplicates kept: all_domains dedups). */
  dnsNames: string[];
}

const KEY_USAGE_NAMES = [
  "Digital Signature",
  "Content Commitment",
  "Key Encipherment",
  "Data Encipherment",
  "Key Agreement",
  "Certificate Signing",
  "CRL Signing",
  "Encipher Only",
  "Decipher Only",
];

// id-kp-* is 1.3.6.1.5.5.7.3.x = 2b 06 01 05 05 07 03 x
const EKU_BIT: Record<number, number> = { 1: 0, 2: 1, 3: 2, 4: 3, 8: 4, 9: 5 };
const EKU_NAMES = [
  "serverAuth",
  "clientAuth",
  "codeSigning",
  "emailProtection",
  "timeStamping",
  "OCSPSigning",
  "anyExtendedKeyUsage",
];

function isPkixOid(b: Uint8Array, s: number, e: number, arc: number): boolean {
  // 1.3.6.1.5.5.7.<arc>.x
  return (
    e - s === 8 &&
    b[s] === 0x2b &&
    b[s + 1] === 0x06 &&
    b[s + 2] === 0x01 &&
    b[s + 3] === 0x05 &&
    b[s + 4] === 0x05 &&
    b[s + 5] === 0x07 &&
    b[s + 6] === arc
  );
}

function isPoisonOid(b: Uint8Array, s: number, e: number): boolean {
  // 1.3.6.1.4.1.11129.2.4.3 = 2b 06 01 04 01 d6 79 02 04 03
  return (
    e - s === 10 &&
    b[s] === 0x2b &&
    b[s + 1] === 0x06 &&
    b[s + 2] === 0x01 &&
    b[s + 3] === 0x04 &&
    b[s + 4] === 0x01 &&
    b[s + 5] === 0xd6 &&
    b[s + 6] === 0x79 &&
    b[s + 7] === 0x02 &&
    b[s + 8] === 0x04 &&
    b[s + 9] === 0x03
  );
}

function keyUsage(b: Uint8Array, v: Tlv): string | null {
  // KeyUsage ::= BIT STRING; first content octet = unused bits.
  if (v.tag !== 0x03 || v.end - v.start < 1) return null;
  let s = "";
  for (let bit = 0; bit < 9; bit++) {
    const at = v.start + 1 + (bit >> 3);
    if (at < v.end && (b[at] >> (7 - (bit & 7))) & 1)
      s += s === "" ? KEY_USAGE_NAMES[bit] : `, ${KEY_USAGE_NAMES[bit]}`;
  }
  return s;
}

function extendedKeyUsage(b: Uint8Array, v: Tlv): string | null {
  // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
  if (v.tag !== 0x30) return null;
  let mask = 0;
  const oid = newTlv();
  let p = v.start;
  while (p < v.end && readTlv(b, p, v.end, oid)) {
    p = oid.next;
    if (oid.tag !== 0x06) continue;
    if (isPkixOid(b, oid.start, oid.end, 0x03)) {
      const bit = EKU_BIT[b[oid.start + 7]];
      if (bit !== undefined) mask |= 1 << bit;
    } else if (oid.end - oid.start === 4 && b[oid.start] === 0x55 && b[oid.start + 1] === 0x1d) {
      // anyExtendedKeyUsage 2.5.29.37.0
      if (b[oid.start + 2] === 0x25 && b[oid.start + 3] === 0x00) mask |= 1 << 6;
    }
  }
  let s = "";
  for (let i = 0; i < EKU_NAMES.length; i++)
    if (mask & (1 << i)) s += s === "" ? EKU_NAMES[i] : `, ${EKU_NAMES[i]}`;
  return s;
}

function basicConstraintsIsCa(b: Uint8Array, v: Tlv): boolean | null {
  // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
  if (v.tag !== 0x30) return null;
  const first = newTlv();
  if (v.start < v.end && readTlv(b, v.start, v.end, first) && first.tag === 0x01) {
    return first.end > first.start && b[first.start] !== 0;
  }
  return false;
}

function ipAddress(b: Uint8Array, s: number, e: number): string | null {
  if (e - s === 4) return `${b[s]}.${b[s + 1]}.${b[s + 2]}.${b[s + 3]}`;
  if (e - s !== 16) return null;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[s + i] << 8) | b[s + i + 1]);
  // IPv4-mapped ::ffff:a.b.c.d, as Rust's Ipv6Addr Display prints it.
  if (
    words[0] === 0 &&
    words[1] === 0 &&
    words[2] === 0 &&
    words[3] === 0 &&
    words[4] === 0 &&
    words[5] === 0xffff
  ) {
    return `::ffff:${b[s + 12]}.${b[s + 13]}.${b[s + 14]}.${b[s + 15]}`;
  }
  // RFC 5952: the longest run (>= 2) of zero words becomes "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(":");
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

function subjectAltName(b: Uint8Array, v: Tlv, dnsNames: string[]): string | null {
  // GeneralNames ::= SEQUENCE OF GeneralName; rfc822Name [1], dNSName [2], iPAddress [7] (IMPLICIT)
  if (v.tag !== 0x30) return null;
  let s = "";
  const gn = newTlv();
  let p = v.start;
  while (p < v.end && readTlv(b, p, v.end, gn)) {
    p = gn.next;
    let part: string | null = null;
    switch (gn.tag) {
      case 0x82: {
        const dns = decodeText(b, gn.start, gn.end);
        dnsNames.push(dns);
        part = `DNS:${dns}`;
        break;
      }
      case 0x81:
        part = `email:${decodeText(b, gn.start, gn.end)}`;
        break;
      case 0x87: {
        const ip = ipAddress(b, gn.start, gn.end);
        if (ip !== null) part = `IP Address:${ip}`;
        break;
      }
    }
    if (part !== null) s += s === "" ? part : `, ${part}`;
  }
  return s === "" ? null : s;
}

function authorityInfoAccess(b: Uint8Array, v: Tlv): string | null {
  // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod OID, accessLocation GeneralName }
  if (v.tag !== 0x30) return null;
  let s = "";
  const ad = newTlv();
  const method = newTlv();
  const location = newTlv();
  let p = v.start;
  while (p < v.end && readTlv(b, p, v.end, ad)) {
    p = ad.next;
    if (!readTlv(b, ad.start, ad.end, method) || !readTlv(b, method.next, ad.end, location)) continue;
    if (location.tag !== 0x86) continue;
    const part = `URI:${decodeText(b, location.start, location.end)}`;
    s += s === "" ? part : `, ${part}`;
  }
  return s === "" ? null : s;
}

function certificatePolicies(b: Uint8Array, v: Tlv): string | null {
  // certificatePolicies ::= SEQUENCE OF PolicyInformation { policyIdentifier OID, policyQualifiers OPTIONAL }
  if (v.tag !== 0x30) return null;
  let s = "";
  const info = newTlv();
  const oid = newTlv();
  let p = v.start;
  while (p < v.end && readTlv(b, p, v.end, info)) {
    p = info.next;
    if (!readTlv(b, info.start, info.end, oid) || oid.tag !== 0x06) continue;
    s += `Policy: ${oidToDotted(b, oid.start, oid.end)}\n`;
  }
  return s === "" ? null : s;
}

function authorityKeyIdentifier(b: Uint8Array, v: Tlv): string | null {
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
  if (v.tag !== 0x30) return null;
  const f = newTlv();
  let p = v.start;
  while (p < v.end && readTlv(b, p, v.end, f)) {
    p = f.next;
    if (f.tag === 0x80) return `keyid:${colonHexLower(b, f.start, f.end)}`;
  }
  return null;
}

/** Reads the Extensions SEQUENCE whose value spans buf[start, end). */
export function readExtensions(b: Uint8Array, start: number, end: number): ParsedExtensions {
  let aia: string | null = null;
  let aki: string | null = null;
  let bc: string | null = null;
  let cp: string | null = null;
  let eku: string | null = null;
  let ku: string | null = null;
  let san: string | null = null;
  let ski: string | null = null;
  let poison = false;
  let isCa = false;
  const dnsNames: string[] = [];

  const ext = newTlv();
  const id = newTlv();
  const field = newTlv();
  const value = newTlv();
  let p = start;
  while (p < end && readTlv(b, p, end, ext)) {
    p = ext.next;
    if (!readTlv(b, ext.start, ext.end, id) || id.tag !== 0x06) continue;
    // Skip the optional critical BOOLEAN; the extnValue OCTET STRING wraps the DER of the extension value.
    if (!readTlv(b, id.next, ext.end, field)) continue;
    if (field.tag === 0x01 && !readTlv(b, field.next, ext.end, field)) continue;
    if (field.tag !== 0x04) continue;
    const s = id.start;
    if (isPoisonOid(b, s, id.end)) {
      poison = true;
      continue;
    }
    if (!readTlv(b, field.start, field.end, value)) continue;
    if (id.end - s === 3 && b[s] === 0x55 && b[s + 1] === 0x1d) {
      switch (b[s + 2]) {
        case 0x0e: // subjectKeyIdentifier: KeyIdentifier ::= OCTET STRING
          if (value.tag === 0x04) ski = `keyid:${colonHexLower(b, value.start, value.end)}`;
          break;
        case 0x0f:
          ku = keyUsage(b, value) ?? ku;
          break;
        case 0x11:
          san = subjectAltName(b, value, dnsNames) ?? san;
          break;
        case 0x13: {
          const ca = basicConstraintsIsCa(b, value);
          if (ca !== null) {
            isCa = ca;
            bc = ca ? "CA:TRUE" : "CA:FALSE";
          }
          break;
        }
        case 0x20:
          cp = certificatePolicies(b, value) ?? cp;
          break;
        case 0x23:
          aki = authorityKeyIdentifier(b, value) ?? aki;
          break;
        case 0x25:
          eku = extendedKeyUsage(b, value) ?? eku;
          break;
      }
    } else if (isPkixOid(b, s, id.end, 0x01) && b[s + 7] === 0x01) {
      aia = authorityInfoAccess(b, value) ?? aia;
    }
  }

  // Fixed key order (the reference's): consumers diffing messages see a stable layout.
  const extensions: Record<string, string | boolean> = {};
  if (aia !== null) extensions.authorityInfoAccess = aia;
  if (aki !== null) extensions.authorityKeyIdentifier = aki;
  if (bc !== null) extensions.basicConstraints = bc;
  if (cp !== null) extensions.certificatePolicies = cp;
  if (eku !== null) extensions.extendedKeyUsage = eku;
  if (ku !== null) extensions.keyUsage = ku;
  if (san !== null) extensions.subjectAltName = san;
  if (ski !== null) extensions.subjectKeyIdentifier = ski;
  if (poison) extensions.ctlPoisonByte = true;
  return { extensions, isCa, dnsNames };
}
