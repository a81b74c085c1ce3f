import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { entryKey } from "../src/index.ts";
import { sampleEntry, unparsedEntry } from "./fixture.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

describe("entryKey", () => {
  it("is the SHA-256 of leaf_der when the leaf was decoded", () => {
    const e = sampleEntry();
    expect(entryKey(e).equals(sha256(e.leaf_der))).toBe(true);
  });

  it("reuses the parser's leaf.sha256 (colon hex) instead of hashing again, with the same bytes", () => {
    const e = sampleEntry();
    const hex = sha256(e.leaf_der).toString("hex").toUpperCase();
    const leaf = { ...(e.leaf as NonNullable<typeof e.leaf>), sha256: hex.match(/../g)?.join(":") ?? "" };
    const key = entryKey({ ...e, leaf });
    expect(key.length).toBe(32);
    expect(key.equals(sha256(e.leaf_der))).toBe(true);
  });

  it("ignores a leaf.sha256 that is not 32 bytes of colon hex (hashes the DER)", () => {
    const e = sampleEntry();
    const leaf = { ...(e.leaf as NonNullable<typeof e.leaf>), sha256: "not-a-hash" };
    expect(entryKey({ ...e, leaf }).equals(sha256(e.leaf_der))).toBe(true);
  });

  it("uses SHA-256 of raw.leaf_input when the leaf could not be decoded (no single hot key)", () => {
    const a = unparsedEntry();
    const b = { ...a, raw: { leaf_input: new Uint8Array([9, 9, 9]), extra_data: new Uint8Array(0) } };
    expect(a.leaf_der.length).toBe(0);
    expect(entryKey(a).equals(sha256(a.raw?.leaf_input ?? new Uint8Array(0)))).toBe(true);
    expect(entryKey(b).equals(sha256(new Uint8Array([9, 9, 9])))).toBe(true);
    expect(entryKey(a).equals(entryKey(b))).toBe(false);
    expect(entryKey(a).equals(sha256(new Uint8Array(0)))).toBe(false);
  });

  it("falls back to SHA-256 of the empty DER only when there are no raw bytes either", () => {
    expect(entryKey({ leaf_der: new Uint8Array(0) }).equals(sha256(new Uint8Array(0)))).toBe(true);
  });
});
