import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { readPublicKey } from "../src/internal/subject-public-key.ts";
import { fromRawEntry } from "../src/parse-entry.ts";
import { logShortName, registeredDomains, validationLevel } from "../src/query-fields.ts";
import { corpusCertificates, rfc6962Entries, TESTDATA } from "./testdata.ts";

const ARGON: LogSource = {
  id: "DleUvPOuqT4zGyyZB7P3kN+bwj1xMiXdIaklrGHFTiE=",
  name: "Google 'Argon2026h2'",
  url: "https://ct.googleapis.com/logs/us1/argon2026h2/",
  operator: "Google",
  kind: "rfc6962",
};

const CURVE_BITS: Record<string, number> = {
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  prime192v1: 192,
};

/** What OpenSSL (node's X509Certificate) says about the key, or null where it does not parse the certificate. */
function opensslKey(der: Uint8Array): { algorithm: string; bits: number | null } | null {
  let key: import("node:crypto").KeyObject;
  try {
    key = new X509Certificate(der).publicKey;
  } catch {
    return null;
  }
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
      return { algorithm: "RSA", bits: d.modulusLength ?? null };
    case "rsa-pss":
      return { algorithm: "RSA-PSS", bits: d.modulusLength ?? null };
    case "ec":
      return { algorithm: "ECDSA", bits: CURVE_BITS[d.namedCurve ?? ""] ?? null };
    case "dsa":
      return { algorithm: "DSA", bits: d.modulusLength ?? null };
    case "ed25519":
      return { algorithm: "Ed25519", bits: 256 };
    default:
      return null;
  }
}

describe("query fields", () => {
  it("key algorithm and size agree with OpenSSL on every corpus certificate it reads", () => {
    let compared = 0;
    for (const c of corpusCertificates()) {
      const ours = readPublicKey(c.der);
      expect(ours, c.name).not.toBeNull();
      const theirs = opensslKey(c.der);
      if (theirs === null) continue;
      expect(ours, c.name).toEqual(theirs);
      compared++;
    }
    expect(compared).toBeGreaterThan(150);
  });

  it("derives every field of the real Argon2026h2 entries", () => {
    const entries = rfc6962Entries().filter((e) => e.file.startsWith("google-argon2026h2"));
    expect(entries).toHaveLength(20);
    const rows = entries.map((e) => fromRawEntry(ARGON, e.raw, 1));
    for (const r of rows) {
      const leaf = r.leaf;
      if (leaf === null) throw new Error("every Argon entry parses");
      expect(r.subject_cn).toBe(leaf.subject.CN);
      expect(r.issuer_cn).toBe(leaf.issuer.CN);
      expect(r.issuer_o).toBe(leaf.issuer.O);
      expect(r.log_name).toBe("argon2026h2");
      expect(r.not_before_ts).toBe(Date.parse(new X509Certificate(r.leaf_der).validFrom));
      expect(r.not_after_ts).toBe(Date.parse(new X509Certificate(r.leaf_der).validTo));
      expect({ algorithm: r.key_algorithm, bits: r.key_bits }).toEqual(opensslKey(r.leaf_der));
    }
    const byIssuer = (o: string) => rows.filter((r) => r.issuer_o === o).map((r) => r.validation_level);
    expect(new Set(byIssuer("Let's Encrypt"))).toEqual(new Set(["DV"]));
    expect(byIssuer("Microsoft Corporation")).toEqual(["OV"]);
    const domains = new Set(rows.flatMap((r) => r.registered_domains ?? []));
    // A wildcard counts as its base name; myfritz.net is a private public suffix, sslip.io is not.
    expect(domains).toContain("pgoption.com");
    expect(domains).toContain("sslip.io");
    expect(domains).toContain("i5jvk6jku8pyorbl.myfritz.net");
    expect(domains).toContain("azure.com");
  });

  it("registered domains: PSL eTLD+1, lower case, no repeats, hostnames only", () => {
    expect(
      registeredDomains([
        "WWW.Example.CO.UK",
        "*.example.co.uk",
        "a.b.example.com",
        "example.com.",
        "foo.github.io",
        "192.0.2.1",
        "localhost",
        "co.uk",
        "Example Org",
        "xn--bcher-kva.example",
        "shop.xn--p1ai",
      ]),
    ).toEqual(["example.co.uk", "example.com", "foo.github.io", "xn--bcher-kva.example", "shop.xn--p1ai"]);
  });

  it("validation level from the CA/B Forum policy OIDs, the strongest when several", () => {
    expect(validationLevel("Policy: 2.23.140.1.2.1\n")).toBe("DV");
    expect(validationLevel("Policy: 1.3.6.1.4.1.44947.1.1.1\nPolicy: 2.23.140.1.2.2\n")).toBe("OV");
    expect(validationLevel("Policy: 2.23.140.1.2.3\n")).toBe("IV");
    expect(validationLevel("Policy: 2.23.140.1.1\nPolicy: 2.23.140.1.2.1\n")).toBe("EV");
    expect(validationLevel("Policy: 2.23.140.1.2.10\n")).toBeNull();
    expect(validationLevel("Policy: 1.3.6.1.4.1.6449.1.2.1.5.1\n")).toBeNull();
    expect(validationLevel(undefined)).toBeNull();
  });

  it("log short names from the real log list's descriptions", () => {
    const list = JSON.parse(
      readFileSync(new URL("log-list/google-v3-log_list-v85.92-2026-05-29.json", TESTDATA), "utf8"),
    ) as { operators: { logs?: { description: string }[]; tiled_logs?: { description: string }[] }[] };
    const names = list.operators.flatMap((o) => [...(o.logs ?? []), ...(o.tiled_logs ?? [])]);
    for (const l of names)
      expect(logShortName(l.description.replace(/\s+log$/i, ""))).toMatch(/^[a-z0-9.]+$/);
    expect(logShortName("Google 'Argon2026h2'")).toBe("argon2026h2");
    expect(logShortName("Let's Encrypt 'Oak2026h1'")).toBe("oak2026h1");
    expect(logShortName("TrustAsia Luoshu2027")).toBe("luoshu2027");
  });

  it("an entry that does not decode has only log_name", () => {
    const r = fromRawEntry(ARGON, { index: 1, leafInput: new Uint8Array(3), extraData: new Uint8Array() }, 1);
    expect(r.leaf).toBeNull();
    expect(r.log_name).toBe("argon2026h2");
    expect([r.subject_cn, r.registered_domains, r.key_algorithm, r.key_bits, r.validation_level]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});
