import { hash } from "node:crypto";
import type { Certificate } from "@certstream/schema";
import { parseCertificate } from "./x509-certificate.ts";

/**
 * Parsed issuer certificates, keyed by the SHA-256 of their DER. A handful of intermediates sign nearly every
 * certificate in CT, so chains are parsed once and shared: entries then hold the same (frozen) Certificate
 * object, which also lets renderers cache the chain's JSON. Bounded (least recently inserted goes first).
 * Not for leaves: they are unique, caching them would only cost memory.
 */
export class CertificateCache {
  readonly #capacity: number;
  readonly #byHash = new Map<string, Certificate | null>();

  constructor(capacity = 4096) {
    this.#capacity = capacity;
  }

  /** The parsed certificate, or null when it cannot be parsed (remembered too: bad issuers repeat as well). */
  get(der: Uint8Array): Certificate | null {
    const key = hash("sha256", der, "base64");
    const hit = this.#byHash.get(key);
    if (hit !== undefined) return hit;
    let cert: Certificate | null;
    try {
      cert = parseCertificate(der);
      Object.freeze(cert);
    } catch {
      cert = null;
    }
    if (this.#byHash.size >= this.#capacity) {
      const oldest = this.#byHash.keys().next().value as string;
      this.#byHash.delete(oldest);
    }
    this.#byHash.set(key, cert);
    return cert;
  }

  get size(): number {
    return this.#byHash.size;
  }
}
