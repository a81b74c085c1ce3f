import type { DistinguishedName } from "@certstream/schema";
import { newTlv, readTlv } from "./der.ts";
import { decodeStringValue } from "./x509-strings.ts";

/*
 * Name ::= SEQUENCE OF RelativeDistinguishedName
 * RelativeDistinguishedName ::= SET OF AttributeTypeAndValue
 * AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
 *
 * certstream keeps C, CN, L, O, OU, ST and emailAddress. A name may carry an attribute several times (three C,
 * two OU). The rule: the single-valued key holds the LAST value in DN order (as certstream-server-rust does, and
 * Go's crypto/x509 for the CN: the most specific one), and `aggregated` keeps EVERY value, in the fixed
 * attribute order C, CN, L, O, OU, ST and in DN order within one attribute ("/C=US/C=DE/C=FR/CN=…/O=…").
 */

export function emptyName(): DistinguishedName {
  return { C: null, CN: null, L: null, O: null, OU: null, ST: null, emailAddress: null, aggregated: "" };
}

// 2.5.4.x is 55 04 x; emailAddress 1.2.840.113549.1.9.1 is 2a 86 48 86 f7 0d 01 09 01.
function isEmailOid(b: Uint8Array, s: number, e: number): boolean {
  return (
    e - s === 9 &&
    b[s] === 0x2a &&
    b[s + 1] === 0x86 &&
    b[s + 2] === 0x48 &&
    b[s + 3] === 0x86 &&
    b[s + 4] === 0xf7 &&
    b[s + 5] === 0x0d &&
    b[s + 6] === 0x01 &&
    b[s + 7] === 0x09 &&
    b[s + 8] === 0x01
  );
}

/** Reads the Name whose value spans buf[start, end). Malformed RDNs are skipped, never fatal. */
export function readName(buf: Uint8Array, start: number, end: number): DistinguishedName {
  const name = emptyName();
  const rdn = newTlv();
  const atv = newTlv();
  const type = newTlv();
  const value = newTlv();
  // `aggregated` per attribute, every value in DN order; joined in the fixed order at the end.
  let aggC = "";
  let aggCN = "";
  let aggL = "";
  let aggO = "";
  let aggOU = "";
  let aggST = "";
  let p = start;
  while (p < end && readTlv(buf, p, end, rdn)) {
    p = rdn.next;
    let q = rdn.start;
    while (q < rdn.end && readTlv(buf, q, rdn.end, atv)) {
      q = atv.next;
      if (!readTlv(buf, atv.start, atv.end, type) || type.tag !== 0x06) continue;
      if (!readTlv(buf, type.next, atv.end, value)) continue;
      const s = type.start;
      const len = type.end - s;
      if (len === 3 && buf[s] === 0x55 && buf[s + 1] === 0x04) {
        switch (buf[s + 2]) {
          case 0x03: // id-at-commonName
            name.CN = decodeStringValue(buf, value.tag, value.start, value.end);
            aggCN += `/CN=${name.CN}`;
            break;
          case 0x06: // id-at-countryName
            name.C = decodeStringValue(buf, value.tag, value.start, value.end);
            aggC += `/C=${name.C}`;
            break;
          case 0x07: // id-at-localityName
            name.L = decodeStringValue(buf, value.tag, value.start, value.end);
            aggL += `/L=${name.L}`;
            break;
          case 0x08: // id-at-stateOrProvinceName
            name.ST = decodeStringValue(buf, value.tag, value.start, value.end);
            aggST += `/ST=${name.ST}`;
            break;
          case 0x0a: // id-at-organizationName
            name.O = decodeStringValue(buf, value.tag, value.start, value.end);
            aggO += `/O=${name.O}`;
            break;
          case 0x0b: // id-at-organizationalUnitName
            name.OU = decodeStringValue(buf, value.tag, value.start, value.end);
            aggOU += `/OU=${name.OU}`;
            break;
        }
      } else if (isEmailOid(buf, s, type.end)) {
        name.emailAddress = decodeStringValue(buf, value.tag, value.start, value.end);
      }
    }
  }
  name.aggregated = aggC + aggCN + aggL + aggO + aggOU + aggST;
  return name;
}
