import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TESTDATA } from "../../../test/ct-standin/testdata.ts";
import { formatCheckpoint, parseCheckpoint, rfc6962NoteKeyId } from "../src/checkpoint.ts";
import { parseLogKey } from "../src/log-key.ts";
import { leafHash } from "../src/merkle-hash.ts";
import { MerkleTree, verifyConsistencyProof, verifyInclusionProof } from "../src/merkle-proof.ts";
import { parseSignedTreeHead, verifySignedTreeHead } from "../src/signed-tree-head.ts";

const STH = join(TESTDATA, "ct-entries/sth");
const keys = {
  pilot: parseLogKey(readFileSync(join(STH, "log-keys/google-pilot-pubkey.pem"), "utf8")),
  aviator: parseLogKey(readFileSync(join(STH, "log-keys/google-aviator-pubkey.pem"), "utf8")),
};

describe("RFC 6962 signed tree heads (real)", () => {
  const files = readdirSync(STH).filter((f) => f.endsWith(".json"));
  it("log ids are SHA-256 of the keys", () => {
    expect(keys.pilot.logIdBase64).toBe("pLkJkLQYWBSHuxOizGdwCjw1mAT5G9+443fNDsgN3BA=");
    expect(keys.aviator.logIdBase64).toBe("aPaY+B9kgr46jO65KB1M/HFRXWeT1ETRCmesu09P+8Q=");
  });
  for (const f of files.filter((f) => !f.includes("INVALID"))) {
    it(`${f} verifies`, () => {
      const sth = parseSignedTreeHead(readFileSync(join(STH, f), "utf8"));
      expect(verifySignedTreeHead(sth, f.includes("pilot") ? keys.pilot : keys.aviator)).toBe(true);
      // Any change to a signed field breaks it.
      expect(verifySignedTreeHead({ ...sth, treeSize: sth.treeSize + 1 }, keys.aviator)).toBe(false);
    });
  }
  it("the INVALID STH is refused with every key", () => {
    const f = files.find((f) => f.includes("INVALID")) as string;
    const sth = parseSignedTreeHead(readFileSync(join(STH, f), "utf8"));
    expect(verifySignedTreeHead(sth, keys.pilot)).toBe(false);
    expect(verifySignedTreeHead(sth, keys.aviator)).toBe(false);
  });
  it("its root is not the RFC 6962 root of the 4 ct-go entries (which we compute)", () => {
    const json = JSON.parse(
      readFileSync(
        join(TESTDATA, "ct-entries/rfc6962/ct-go-scanner-4-x509-entries-2013.get-entries.json"),
        "utf8",
      ),
    );
    const t = new MerkleTree();
    for (const e of json.entries) t.append(leafHash(Buffer.from(e.leaf_input, "base64")));
    expect(Buffer.from(t.rootHash()).toString("base64")).toBe("A26tmgcaUJpkFXFpkzCS8bJ29cQBEgExKAYFL8hiJ5E=");
  });
  it("malformed get-sth bodies are refused with the field named", () => {
    expect(() => parseSignedTreeHead("{")).toThrow();
    expect(() =>
      parseSignedTreeHead({
        tree_size: -1,
        timestamp: 1,
        sha256_root_hash: Buffer.alloc(32).toString("base64"),
        tree_head_signature: "",
      }),
    ).toThrow(/tree_size/);
    expect(() =>
      parseSignedTreeHead({ tree_size: 1, timestamp: 1, sha256_root_hash: "AAAA", tree_head_signature: "" }),
    ).toThrow(/32 bytes/);
    expect(() =>
      parseSignedTreeHead({ tree_size: 1, timestamp: 1, sha256_root_hash: "!!", tree_head_signature: "" }),
    ).toThrow(/base64/);
  });
});

describe("static-ct-api checkpoints", () => {
  const dir = join(TESTDATA, "static-ct/sunlight-skylight-testlog");
  const note = readFileSync(join(dir, "checkpoint"), "utf8");
  const key = parseLogKey(JSON.parse(readFileSync(join(dir, "log.v3.json"), "utf8")).key);

  it("the Sunlight test log checkpoint verifies (origin, key ID, RFC6962NoteSignature)", () => {
    const cp = parseCheckpoint(note, { origin: "rome2026h1.example.org", key });
    expect(cp.treeSize).toBe(300);
    expect(Buffer.from(cp.rootHash).toString("base64")).toBe("lCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0=");
    expect(cp.timestamp).toBe(1767139200000);
    expect(key.logIdBase64).toBe("CKIDXIl+znJaHUyhzhNVaSxIUov59RCXLh3fJXJExnk=");
  });
  it("refuses a tampered size, a wrong origin, a foreign key and malformed notes", () => {
    expect(() => parseCheckpoint(note.replace("\n300\n", "\n301\n"), { key })).toThrow(/does not verify/);
    expect(() => parseCheckpoint(note, { origin: "other.example", key })).toThrow(/origin/);
    const other = parseLogKey(readFileSync(join(STH, "log-keys/google-pilot-pubkey.pem"), "utf8"));
    expect(() => parseCheckpoint(note, { key: other })).toThrow(/no signature by the log's key/);
    expect(() => parseCheckpoint("rome\n300\n", { key })).toThrow();
    expect(() => parseCheckpoint(note.replace("\u2014", "-"), { key })).toThrow(/signature line/);
  });
  it("ignores signatures by other keys (witnesses) next to the log's", () => {
    const witnessed = `${note}\u2014 witness.example/w ${Buffer.alloc(68, 7).toString("base64")}\n`;
    expect(parseCheckpoint(witnessed, { key }).treeSize).toBe(300);
  });
  it("key ID is SHA-256(origin || 0x0A || 0x05 || log id)[:4]", () => {
    const sig = Buffer.from(note.trim().split(" ").pop() as string, "base64");
    expect(sig.readUInt32BE(0)).toBe(rfc6962NoteKeyId("rome2026h1.example.org", key.logId));
  });
  it("formatCheckpoint round-trips the signature bytes", () => {
    const cp = parseCheckpoint(note, { key });
    const again = formatCheckpoint(
      cp.origin,
      cp.treeSize,
      cp.rootHash,
      cp.timestamp,
      cp.signature,
      key.logId,
    );
    expect(again).toBe(note);
  });
});

describe("Merkle proofs", () => {
  const t = new MerkleTree();
  for (let i = 0; i < 300; i++) t.append(leafHash(Buffer.from(`leaf ${i}`)));
  it("consistency proofs verify for every pair of sizes, and fail when tampered", () => {
    for (const m of [1, 2, 3, 4, 7, 8, 100, 128, 255, 256, 299]) {
      for (const n of [m, m + 1, 129, 256, 300]) {
        if (n < m) continue;
        const proof = t.consistencyProof(m, n);
        expect(verifyConsistencyProof(m, n, t.rootHash(m), t.rootHash(n), proof)).toBe(true);
        if (m < n) {
          expect(verifyConsistencyProof(m, n, t.rootHash(m), t.rootHash(n - 1), proof)).toBe(false);
          if (proof.length > 0) {
            const bad = proof.map((p, i) => (i === 0 ? leafHash(Buffer.from("x")) : p));
            expect(verifyConsistencyProof(m, n, t.rootHash(m), t.rootHash(n), bad)).toBe(false);
          }
        }
      }
    }
  });
  it("inclusion proofs verify", () => {
    for (const size of [1, 5, 256, 300]) {
      for (const i of [0, Math.floor(size / 2), size - 1]) {
        expect(verifyInclusionProof(i, size, t.leaf(i), t.inclusionProof(i, size), t.rootHash(size))).toBe(
          true,
        );
        expect(
          verifyInclusionProof(i, size, t.leaf((i + 1) % size), t.inclusionProof(i, size), t.rootHash(size)),
        ).toBe(size === 1);
      }
    }
  });
});
