import { describe, expect, it } from "vitest";
import { CtParseError } from "../src/errors.ts";
import { decodeRawEntry, readExtraData, readMerkleTreeLeaf, readPrecertChainEntry } from "../src/leaf.ts";
import { rfc6962Entries } from "./testdata.ts";

const entries = rfc6962Entries();

function parseErrorOf(fn: () => unknown): CtParseError {
  try {
    fn();
  } catch (err) {
    if (CtParseError.isCtParseError(err)) return err;
    throw err;
  }
  throw new Error("expected a CtParseError");
}

describe("readMerkleTreeLeaf / readExtraData on every real get-entries item", () => {
  it("covers the whole rfc6962 folder", () => {
    expect(entries.length).toBe(27);
    expect(new Set(entries.map((e) => e.file)).size).toBe(5);
  });

  it.each(entries.map((e) => [`${e.file}[${e.position}]`, e] as const))(
    "%s decodes completely",
    (_name, e) => {
      const leaf = readMerkleTreeLeaf(e.raw.leafInput);
      const te = leaf.timestampedEntry;
      expect(leaf.version).toBe(0);
      expect(te.timestamp).toBeGreaterThan(Date.UTC(2013, 0, 1));
      expect(te.timestamp).toBeLessThan(Date.UTC(2027, 0, 1));
      const extra = readExtraData(te.entryType, e.raw.extraData);
      const decoded = decodeRawEntry(e.raw);
      if (te.entryType === "x509") {
        expect(te.x509Entry?.length).toBeGreaterThan(100);
        expect(te.precertEntry).toBeNull();
        expect(decoded.leafDer).toEqual(te.x509Entry);
      } else {
        expect(te.precertEntry?.issuerKeyHash.length).toBe(32);
        expect(te.precertEntry?.tbsCertificate[0]).toBe(0x30);
        expect(extra.preCertificate?.[0]).toBe(0x30);
        expect(decoded.leafDer).toEqual(extra.preCertificate);
      }
      // Every chain element is a DER SEQUENCE; the leaf's issuer comes first.
      expect(extra.chain.length).toBeGreaterThan(0);
      for (const der of extra.chain) expect(der[0]).toBe(0x30);
      expect(decoded.chainDer).toEqual(extra.chain);
      expect(decoded.timestamp).toBe(te.timestamp);
    },
  );

  it("holds both entry types", () => {
    const types = entries.map((e) => readMerkleTreeLeaf(e.raw.leafInput).timestampedEntry.entryType);
    expect(types.filter((t) => t === "x509").length).toBe(16);
    expect(types.filter((t) => t === "precert").length).toBe(11);
  });
});

describe("malformed leaves and extra_data (real entries, altered) give the exact reason", () => {
  const x509 = entries.find((e) => e.raw.leafInput[11] === 0)?.raw as (typeof entries)[0]["raw"];
  const precert = entries.find((e) => e.raw.leafInput[11] === 1)?.raw as (typeof entries)[0]["raw"];

  it("unknown version", () => {
    const leaf = Buffer.from(x509.leafInput);
    leaf[0] = 1;
    const err = parseErrorOf(() => readMerkleTreeLeaf(leaf));
    expect(err.kind).toBe("unknown_leaf_version");
    expect(err.code).toBe("CT_ERR_UNKNOWN_LEAF_VERSION");
    expect(err.message).toBe("MerkleTreeLeaf.version 1 is not v1 (0)");
  });

  it("unknown leaf type", () => {
    const leaf = Buffer.from(x509.leafInput);
    leaf[1] = 7;
    expect(parseErrorOf(() => readMerkleTreeLeaf(leaf)).kind).toBe("unknown_leaf_type");
  });

  it("unknown entry type", () => {
    const leaf = Buffer.from(x509.leafInput);
    leaf[11] = 2;
    const err = parseErrorOf(() => readMerkleTreeLeaf(leaf));
    expect(err.kind).toBe("unknown_entry_type");
    expect(err.message).toBe("TimestampedEntry.entry_type 2 is neither x509_entry (0) nor precert_entry (1)");
  });

  it("truncation anywhere names the field that was cut", () => {
    expect(parseErrorOf(() => readMerkleTreeLeaf(x509.leafInput.subarray(0, 5))).message).toBe(
      "MerkleTreeLeaf.timestamp truncated: needs 8 bytes at offset 2, 3 left",
    );
    expect(parseErrorOf(() => readMerkleTreeLeaf(x509.leafInput.subarray(0, 13))).message).toMatch(
      /^MerkleTreeLeaf\.signed_entry\.x509_entry length truncated/,
    );
    expect(parseErrorOf(() => readMerkleTreeLeaf(x509.leafInput.subarray(0, 400))).message).toMatch(
      /^MerkleTreeLeaf\.signed_entry\.x509_entry truncated/,
    );
    expect(parseErrorOf(() => readMerkleTreeLeaf(precert.leafInput.subarray(0, 30))).message).toMatch(
      /^MerkleTreeLeaf\.signed_entry\.precert_entry\.issuer_key_hash truncated/,
    );
    const cut = x509.leafInput.subarray(0, x509.leafInput.length - 1);
    const err = parseErrorOf(() => readMerkleTreeLeaf(cut));
    expect(err.kind).toBe("leaf_truncated");
    expect(err.message).toMatch(/^MerkleTreeLeaf\.extensions/);
    for (let n = 0; n < x509.leafInput.length; n++) {
      expect(parseErrorOf(() => readMerkleTreeLeaf(x509.leafInput.subarray(0, n))).kind).toBe(
        "leaf_truncated",
      );
    }
  });

  it("trailing bytes after a complete leaf or extra_data", () => {
    const leaf = Buffer.concat([x509.leafInput, Buffer.from([0])]);
    expect(parseErrorOf(() => readMerkleTreeLeaf(leaf)).message).toBe(
      "MerkleTreeLeaf has 1 trailing bytes after extensions",
    );
    const extra = Buffer.concat([precert.extraData, Buffer.from([1, 2])]);
    const err = parseErrorOf(() => readPrecertChainEntry(extra));
    expect(err.kind).toBe("trailing_bytes");
    expect(err.message).toBe("PrecertChainEntry has 2 trailing bytes after precertificate_chain");
  });

  it("truncated extra_data is extra_data_invalid, naming the structure", () => {
    const err = parseErrorOf(() => readExtraData("precert", precert.extraData.subarray(0, 100)));
    expect(err.kind).toBe("extra_data_invalid");
    expect(err.message).toMatch(/^PrecertChainEntry\.pre_certificate truncated/);
    const chainErr = parseErrorOf(() =>
      readExtraData("x509", x509.extraData.subarray(0, x509.extraData.length - 1)),
    );
    expect(chainErr.kind).toBe("extra_data_invalid");
    expect(chainErr.message).toMatch(/^X509ChainEntry\.certificate_chain truncated/);
    // A certificate_chain whose declared length cuts an ASN.1Cert in half.
    const inner = Buffer.from(x509.extraData);
    const declared = inner.readUIntBE(0, 3) - 10;
    inner.writeUIntBE(declared, 0, 3);
    const innerErr = parseErrorOf(() => readExtraData("x509", inner.subarray(0, 3 + declared)));
    expect(innerErr.message).toMatch(/^X509ChainEntry\.certificate_chain\.ASN\.1Cert truncated/);
  });

  it("an x509_entry's extra_data read as a PrecertChainEntry is refused", () => {
    expect(() => readExtraData("precert", x509.extraData)).toThrow(CtParseError);
  });
});
