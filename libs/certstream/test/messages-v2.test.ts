// The opt-in v2 message (issue 18) on the 20 real Argon2026h2 entries: every stream validates against the JSON
// Schema that documents it (ajv, an independent validator), carries the log, index, leaf hash, verification
// state, TBS hash and enrichment fields; the precert/final link follows the sightings; v1 stays byte for byte.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { entryTbsHash, fromRawEntry, leafHash } from "@certstream/ct";
import type { CertificateEntry } from "@certstream/schema";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { liveSnapshots, snapshotLog, snapshotRaw } from "../../ct/test/testdata.ts";
import { PrecertIndex, renderMessages, renderV2 } from "../src/index.ts";

const SEEN_MICROS = 1_700_000_000 * 1_000_000;
const schema = JSON.parse(
  readFileSync(new URL("../schema/certstream-v2.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** An entry as the ingester publishes it: parsed, with leaf hash, TBS hash and a verification state. */
function entries(): CertificateEntry[] {
  return liveSnapshots().map((s, i) => {
    const raw = snapshotRaw(s);
    const e = fromRawEntry(snapshotLog(s), raw, SEEN_MICROS + i);
    e.leaf_hash = leafHash(raw.leafInput);
    e.tbs_hash = entryTbsHash(e.update_type, raw.leafInput, e.leaf_der);
    e.tree_verification =
      i % 2 === 0
        ? { state: "verified", tree_size: 1_111_014_110, tree_timestamp: 1_747_700_000_123 }
        : { state: "pending", tree_size: null, tree_timestamp: null };
    return e;
  });
}

type Json = Record<string, unknown>;

describe("certstream v2 messages", () => {
  it("every stream of every real entry validates against the JSON Schema and says what it should", () => {
    for (const e of entries()) {
      for (const stream of ["full", "lite", "domains"] as const) {
        const text = renderV2(e, stream) as string;
        const msg = JSON.parse(text) as Json;
        expect(validate(msg), `${stream} ${e.index}: ${JSON.stringify(validate.errors)}`).toBe(true);
        expect(msg.format).toBe("v2");
        if (stream === "domains") {
          expect(msg.data).toEqual(e.leaf?.all_domains);
          expect(msg.leaf_index).toBe(e.index);
          continue;
        }
        const d = msg.data as Json;
        expect(d.log).toEqual({
          id: e.log.id,
          name: e.log.name,
          url: e.log.url,
          operator: e.log.operator,
          kind: "rfc6962",
        });
        expect(d.leaf_index).toBe(e.index);
        expect(d.leaf_hash).toBe(Buffer.from(e.leaf_hash as Uint8Array).toString("base64"));
        expect(d.tbs_hash).toBe(Buffer.from(e.tbs_hash as Uint8Array).toString("base64"));
        expect(d.verification).toEqual(
          e.tree_verification?.state === "verified"
            ? { state: "verified", tree_size: 1_111_014_110, tree_timestamp: 1_747_700_000.123 }
            : { state: "pending", tree_size: null, tree_timestamp: null },
        );
        expect(d.registered_domains).toEqual(e.registered_domains);
        expect(d.key_algorithm).toBe(e.key_algorithm);
        expect(d.key_bits).toBe(e.key_bits);
        expect(d.validation_level).toBe(e.validation_level ?? null);
        expect(d.issuer_organization).toBe(e.issuer_o);
        expect(d.precert).toBeNull();
        const leafCert = d.leaf_cert as Json;
        expect(leafCert.sha256).toBe(e.leaf?.sha256);
        expect("as_der" in leafCert).toBe(stream === "full");
        expect("chain" in d).toBe(stream === "full");
      }
    }
  });

  it("an entry without verification or hashes (backfill, older records) renders them unverifiable/null", () => {
    const e = entries()[0];
    e.tree_verification = null;
    e.leaf_hash = null;
    e.tbs_hash = null;
    const d = (JSON.parse(renderV2(e, "lite") as string) as Json).data as Json;
    expect(validate(JSON.parse(renderV2(e, "lite") as string))).toBe(true);
    expect(d.verification).toEqual({ state: "unverifiable", tree_size: null, tree_timestamp: null });
    expect(d.leaf_hash).toBeNull();
    expect(d.tbs_hash).toBeNull();
  });

  it("a final certificate names the precertificate with its TBS hash seen before it, not one seen after", () => {
    const all = entries();
    const pre = all.find((e) => e.update_type === "PrecertLogEntry") as CertificateEntry;
    const fin = { ...(all.find((e) => e.update_type === "X509LogEntry") as CertificateEntry) };
    // A final certificate issued from that precertificate has its TBS hash (the pair is not in the test data).
    fin.tbs_hash = pre.tbs_hash;
    fin.seen = pre.seen + 5_000_000;
    const index = new PrecertIndex(4);
    expect(index.lookup(fin)).toBeNull();
    index.note(pre);
    index.note(fin); // not a precert: ignored
    expect(index.size).toBe(1);
    const sighting = index.lookup(fin);
    expect(sighting).toEqual({
      log_id: pre.log.id,
      log_name: pre.log.name,
      leaf_index: pre.index,
      leaf_hash: Buffer.from(pre.leaf_hash as Uint8Array).toString("base64"),
      seen: pre.seen / 1e6,
    });
    const msg = JSON.parse(renderV2(fin, "lite", sighting) as string) as Json;
    expect(validate(msg)).toBe(true);
    expect((msg.data as Json).precert).toEqual(sighting);
    // A precertificate is never linked; a final certificate seen before its precertificate is not either.
    expect(index.lookup(pre)).toBeNull();
    expect(index.lookup({ ...fin, seen: pre.seen - 1 })).toBeNull();
    // Bounded: the oldest sighting goes first.
    for (let i = 0; i < 4; i++)
      index.note({ ...pre, tbs_hash: createHash("sha256").update(`other ${i}`).digest() });
    expect(index.size).toBe(4);
    expect(index.lookup(fin)).toBeNull();
  });

  it("v1 messages are byte for byte the same with or without the new fields", () => {
    for (const s of liveSnapshots()) {
      const plain = fromRawEntry(snapshotLog(s), snapshotRaw(s), SEEN_MICROS);
      const rich = {
        ...plain,
        leaf_hash: leafHash(snapshotRaw(s).leafInput),
        tbs_hash: new Uint8Array(32),
        tree_verification: { state: "verified" as const, tree_size: 5, tree_timestamp: 1 },
      };
      expect(renderMessages(rich)).toEqual(renderMessages(plain));
    }
  });
});
