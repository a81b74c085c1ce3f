import { randomBytes } from "node:crypto";
import type { CertificateEntry } from "@certstream/schema";
import { syntheticEntries } from "../libs/delta/test/fixtures/entries.ts";

/**
 * Entries with per-row entropy like real ones: the 20 real certificates cycled, but each leaf's last 300 bytes
 * (signature) random, unique fingerprints and domains. Without this the repeated DER would compress away.
 */
export function realisticEntries(n: number, start: number): CertificateEntry[] {
  return syntheticEntries(n, { start, logs: 4, days: 1 }).map((e, i) => {
    if (!e.leaf) return e;
    const der = new Uint8Array(e.leaf_der);
    der.set(randomBytes(Math.min(300, der.length - 100)), der.length - Math.min(300, der.length - 100));
    const hex = randomBytes(32).toString("hex").toUpperCase();
    const colon = (h: string) => h.match(/../g)?.join(":") ?? h;
    const host = `h${start + i}-${hex.slice(0, 8).toLowerCase()}.example.com`;
    return {
      ...e,
      leaf_der: der,
      leaf: {
        ...e.leaf,
        sha256: colon(hex),
        sha1: colon(hex.slice(0, 40)),
        fingerprint: colon(hex.slice(0, 40)),
        serial_number: hex.slice(0, 32),
        all_domains: [host, `www.${host}`],
      },
    };
  });
}
