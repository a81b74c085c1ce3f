// The precert/final-certificate link (issue 18): the TBS hash with the poison and SCT list removed, checked on
// real entries against an independent implementation (pyca/cryptography's tbs_precertificate_bytes, the bytes an
// SCT over a certificate signs) and against what a static-ct-api log itself stores (PreCert.tbs_certificate).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NAVIGLI_DIR } from "../../../test/ct-standin/testdata.ts";
import { pythonBin } from "../../../test/stack.ts";
import { decodeRawEntry, readMerkleTreeLeaf } from "../src/leaf.ts";
import { entryTbsHash, tbsHash } from "../src/tbs-hash.ts";
import { readDataTile } from "../src/tile-leaf.ts";
import { liveSnapshots, snapshotRaw } from "./testdata.ts";

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString("hex") : null);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** SHA-256 of cryptography's tbs_precertificate_bytes for each DER (null where it refuses). */
function pythonTbsHashes(ders: Uint8Array[]): (string | null)[] {
  const script = `
import sys, json, hashlib
from cryptography import x509
out = []
for h in json.load(sys.stdin):
    try:
        c = x509.load_der_x509_certificate(bytes.fromhex(h))
        out.append(hashlib.sha256(c.tbs_precertificate_bytes).hexdigest())
    except Exception:
        out.append(None)
print(json.dumps(out))
`;
  const input = JSON.stringify(ders.map((d) => Buffer.from(d).toString("hex")));
  return JSON.parse(execFileSync(pythonBin(), ["-c", script], { input, encoding: "utf8" }));
}

describe("TBS hash", () => {
  it("navigli2025h2: every pre_certificate without its poison hashes to the TBS the log stores", () => {
    let n = 0;
    for (let t = 0; t < 4; t++)
      for (const l of readDataTile(readFileSync(join(NAVIGLI_DIR, `tile/data/00${t}`)), 256)) {
        expect(hex(tbsHash(l.leafCertificate))).toBe(sha256(l.signedEntry));
        expect(hex(entryTbsHash("PrecertLogEntry", l.merkleTreeLeaf, l.leafCertificate))).toBe(
          sha256(l.signedEntry),
        );
        n++;
      }
    expect(n).toBe(1024);
  });

  it("Argon2026h2: final certificates (SCT list) and precertificates (poison) agree with pyca/cryptography and the log", () => {
    const entries = liveSnapshots().map((s) => decodeRawEntry(snapshotRaw(s)));
    const ders = entries.map((e) => e.leafDer);
    const expected = pythonTbsHashes(ders);
    let finals = 0;
    for (let i = 0; i < entries.length; i++) {
      const raw = snapshotRaw(liveSnapshots()[i]);
      if (entries[i].entryType === "x509") {
        // cryptography reads the SCT list out of a final certificate (it refuses precertificates).
        expect(expected[i], `entry ${i}`).not.toBeNull();
        expect(hex(tbsHash(ders[i])), `entry ${i}`).toBe(expected[i]);
        expect(hex(entryTbsHash("X509LogEntry", raw.leafInput, ders[i]))).toBe(expected[i]);
        finals++;
      } else {
        // A precertificate: its pre_certificate without the poison is the TBS the log holds in PreCert.
        const logged = readMerkleTreeLeaf(raw.leafInput).timestampedEntry.precertEntry?.tbsCertificate;
        expect(logged).toBeDefined();
        expect(hex(tbsHash(ders[i])), `entry ${i}`).toBe(sha256(logged as Uint8Array));
        expect(hex(entryTbsHash("PrecertLogEntry", raw.leafInput, ders[i]))).toBe(
          sha256(logged as Uint8Array),
        );
      }
    }
    expect(finals).toBe(10);
  });

  it("a certificate without either extension hashes its TBS unchanged; garbage gives null", () => {
    const der = decodeRawEntry(snapshotRaw(liveSnapshots()[0])).leafDer;
    expect(tbsHash(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeNull();
    expect(tbsHash(Buffer.from("not a certificate"))).toBeNull();
    expect(tbsHash(der.subarray(0, 40))).toBeNull();
  });
});
