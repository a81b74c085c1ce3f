import type { Certificate, DistinguishedName } from "@certstream/schema";
import { jsonNullableString, jsonString, jsonStringArray } from "./json-text.ts";

/*
 * The certificate objects of a certificate_update message, as JSON text. Key order follows
 * certstream-server-rust; every key is present, null when absent (see README "Deliberate differences").
 *
 * leaf_cert:  subject, issuer, serial_number, not_before, not_after, fingerprint, sha1, sha256,
 *             signature_algorithm, is_ca, all_domains, as_der (full only), extensions
 * chain[i]:   subject, issuer, serial_number, not_before, not_after, fingerprint, sha1, sha256,
 *             signature_algorithm, is_ca, as_der, extensions
 */

function nameJson(n: DistinguishedName): string {
  return (
    `{"C":${jsonNullableString(n.C)},"CN":${jsonNullableString(n.CN)},"L":${jsonNullableString(n.L)}` +
    `,"O":${jsonNullableString(n.O)},"OU":${jsonNullableString(n.OU)},"ST":${jsonNullableString(n.ST)}` +
    `,"aggregated":${jsonString(n.aggregated)},"email_address":${jsonNullableString(n.emailAddress)}}`
  );
}

function extensionsJson(ext: Record<string, string | boolean>): string {
  let s = "";
  for (const key in ext) {
    const v = ext[key];
    const value = typeof v === "boolean" ? (v ? "true" : "false") : jsonString(v);
    s += s === "" ? `${jsonString(key)}:${value}` : `,${jsonString(key)}:${value}`;
  }
  return `{${s}}`;
}

/** The keys every certificate object starts with, without the braces. */
export function certificateHeadJson(c: Certificate): string {
  return (
    `"subject":${nameJson(c.subject)},"issuer":${nameJson(c.issuer)}` +
    `,"serial_number":${jsonString(c.serial_number)},"not_before":${c.not_before},"not_after":${c.not_after}` +
    `,"fingerprint":${jsonString(c.fingerprint)},"sha1":${jsonString(c.sha1)},"sha256":${jsonString(c.sha256)}` +
    `,"signature_algorithm":${jsonString(c.signature_algorithm)},"is_ca":${c.is_ca ? "true" : "false"}`
  );
}

/** The leaf_cert object split around as_der, so full and lite share one rendering. */
export interface LeafCertJson {
  /** `{"subject":…,"all_domains":[…]` */
  head: string;
  /** `,"extensions":{…}}` */
  tail: string;
}

export function leafCertJson(c: Certificate): LeafCertJson {
  return {
    head: `{${certificateHeadJson(c)},"all_domains":${jsonStringArray(c.all_domains)}`,
    tail: `,"extensions":${extensionsJson(c.extensions)}}`,
  };
}

export function base64(der: Uint8Array): string {
  return (Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength)).toString(
    "base64",
  );
}

/**
 * Rendered chain certificates, keyed by SHA-256: a few intermediates sign nearly everything, so each is rendered
 * once, not once per message. Bounded; the oldest entry goes first.
 */
export class ChainJsonCache {
  readonly #capacity: number;
  readonly #bySha256 = new Map<string, string>();

  constructor(capacity = 4096) {
    this.#capacity = capacity;
  }

  get(cert: Certificate, der: Uint8Array): string {
    const hit = this.#bySha256.get(cert.sha256);
    if (hit !== undefined) return hit;
    const json = `{${certificateHeadJson(cert)},"as_der":"${base64(der)}","extensions":${extensionsJson(cert.extensions)}}`;
    if (this.#bySha256.size >= this.#capacity)
      this.#bySha256.delete(this.#bySha256.keys().next().value as string);
    this.#bySha256.set(cert.sha256, json);
    return json;
  }
}
