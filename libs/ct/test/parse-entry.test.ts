import { describe, expect, it } from "vitest";
import { CertificateCache } from "../src/certificate-cache.ts";
import { decodeRawEntry } from "../src/leaf.ts";
import { fromRawEntry, toCertificateEntry } from "../src/parse-entry.ts";
import { rfc6962Entries, TEST_LOG } from "./testdata.ts";

const entries = rfc6962Entries();
const SEEN = 1_700_000_000_123_456;

describe("fromRawEntry on every real entry", () => {
  it.each(entries.map((e) => [`${e.file}[${e.position}]`, e] as const))("%s", (_name, e) => {
    const entry = fromRawEntry(TEST_LOG, e.raw, SEEN);
    const decoded = decodeRawEntry(e.raw);
    expect(entry.parse_error).toBeNull();
    expect(entry.raw).toBeNull();
    expect(entry.log).toBe(TEST_LOG);
    expect(entry.index).toBe(e.raw.index);
    expect(entry.seen).toBe(SEEN);
    expect(entry.timestamp).toBe(decoded.timestamp);
    expect(entry.update_type).toBe(decoded.entryType === "precert" ? "PrecertLogEntry" : "X509LogEntry");
    expect(entry.leaf_der).toEqual(decoded.leafDer);
    expect(entry.leaf).not.toBeNull();
    expect(entry.leaf?.all_domains.length).toBeGreaterThan(0);
    if (decoded.entryType === "precert") expect(entry.leaf?.extensions.ctlPoisonByte).toBe(true);
    expect(entry.chain.map((c) => c.der)).toEqual(decoded.chainDer);
    // Every issuer parses (a 2013 v1 root has no basicConstraints, so is_ca is not asserted).
    for (const link of entry.chain) expect(link.cert).not.toBeNull();
  });

  it("plain Uint8Array input (as clients decode it) gives the same record as Buffer input", () => {
    for (const e of entries) {
      const plain = {
        index: 1,
        leafInput: new Uint8Array(e.raw.leafInput),
        extraData: new Uint8Array(e.raw.extraData),
      };
      const a = fromRawEntry(TEST_LOG, plain, SEEN);
      const b = fromRawEntry(TEST_LOG, { ...e.raw, index: 1 }, SEEN);
      expect(a.leaf).toEqual(b.leaf);
      expect(a.chain.map((c) => c.cert)).toEqual(b.chain.map((c) => c.cert));
    }
  });

  it("shares one frozen Certificate per issuer across entries", () => {
    const cache = new CertificateCache();
    const a = fromRawEntry(TEST_LOG, entries[entries.length - 1].raw, SEEN, cache);
    const same = entries.filter((e) => {
      const other = decodeRawEntry(e.raw).chainDer[0];
      return Buffer.compare(Buffer.from(other), Buffer.from(a.chain[0].der)) === 0;
    });
    expect(same.length).toBeGreaterThan(1);
    const b = fromRawEntry(TEST_LOG, same[0].raw, SEEN, cache);
    expect(b.chain[0].cert).toBe(a.chain[0].cert);
    expect(Object.isFrozen(a.chain[0].cert)).toBe(true);
  });
});

describe("bad input still yields a record for its (log, index)", () => {
  const x509 = entries.find((e) => e.raw.leafInput[11] === 0)?.raw as (typeof entries)[0]["raw"];
  const precert = entries.find((e) => e.raw.leafInput[11] === 1)?.raw as (typeof entries)[0]["raw"];

  it("a truncated leaf: leaf_truncated, empty leaf_der, raw kept, timestamp salvaged", () => {
    const raw = { index: 42, leafInput: x509.leafInput.subarray(0, 40), extraData: x509.extraData };
    const entry = fromRawEntry(TEST_LOG, raw, SEEN);
    expect(entry.index).toBe(42);
    expect(entry.parse_error?.kind).toBe("leaf_truncated");
    expect(entry.leaf).toBeNull();
    expect(entry.leaf_der.length).toBe(0);
    expect(entry.chain).toEqual([]);
    expect(entry.raw).toEqual({ leaf_input: raw.leafInput, extra_data: raw.extraData });
    expect(entry.timestamp).toBe(decodeRawEntry(x509).timestamp);
    expect(entry.update_type).toBe("X509LogEntry");
  });

  it("an unknown entry type and garbage", () => {
    const leaf = Buffer.from(precert.leafInput);
    leaf[11] = 9;
    expect(
      fromRawEntry(TEST_LOG, { index: 1, leafInput: leaf, extraData: precert.extraData }, SEEN).parse_error
        ?.kind,
    ).toBe("unknown_entry_type");
    const garbage = fromRawEntry(
      TEST_LOG,
      { index: 2, leafInput: Buffer.from("{}"), extraData: new Uint8Array() },
      SEEN,
    );
    expect(garbage.parse_error).toEqual({
      kind: "unknown_leaf_version",
      message: "MerkleTreeLeaf.version 123 is not v1 (0)",
    });
    expect(
      fromRawEntry(TEST_LOG, { index: 2, leafInput: new Uint8Array(), extraData: new Uint8Array() }, SEEN)
        .parse_error?.kind,
    ).toBe("leaf_truncated");
    expect(garbage.timestamp).toBe(0);
  });

  it("extra_data that does not match the entry type: extra_data_invalid", () => {
    const entry = fromRawEntry(
      TEST_LOG,
      { index: 3, leafInput: precert.leafInput, extraData: x509.extraData },
      SEEN,
    );
    expect(entry.parse_error?.kind).toBe("extra_data_invalid");
    expect(entry.update_type).toBe("PrecertLogEntry");
  });

  it("a leaf certificate that does not parse: x509_invalid, leaf_der and raw kept, chain still parsed", () => {
    const decoded = decodeRawEntry(precert);
    // The PrecertChainEntry with its pre_certificate bytes overwritten (same length, so the TLS framing holds).
    const extra = Buffer.from(precert.extraData);
    extra.fill(0xff, 3, 3 + decoded.leafDer.length);
    const entry = fromRawEntry(TEST_LOG, { index: 4, leafInput: precert.leafInput, extraData: extra }, SEEN);
    expect(entry.parse_error).toEqual({ kind: "x509_invalid", message: "Certificate is not a SEQUENCE" });
    expect(entry.leaf).toBeNull();
    expect(entry.leaf_der.length).toBe(decoded.leafDer.length);
    expect(entry.raw?.extra_data).toBe(extra);
    expect(entry.chain.length).toBe(decoded.chainDer.length);
    expect(entry.chain[0].cert).not.toBeNull();
  });

  it("a chain certificate that does not parse: cert null for that link only", () => {
    const decoded = decodeRawEntry(x509);
    const chainDer = [new Uint8Array(decoded.chainDer[0].length), ...decoded.chainDer.slice(1)];
    const entry = toCertificateEntry(TEST_LOG, { ...decoded, chainDer }, SEEN);
    expect(entry.parse_error).toBeNull();
    expect(entry.leaf).not.toBeNull();
    expect(entry.chain[0].cert).toBeNull();
    expect(entry.chain[0].der).toBe(chainDer[0]);
  });
});
