import { readFileSync } from "node:fs";
import type { CertificateEntry } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../test/ct-standin/faults.ts";
import { CertificateCache } from "../src/certificate-cache.ts";
import type { RawLogEntry } from "../src/entry.ts";
import { CtParseError, ctParseErrorKinds } from "../src/errors.ts";
import { fromRawEntry, toCertificateEntry } from "../src/parse-entry.ts";
import { readTileLeaf, TileLeafError, tileLeafToEntry } from "../src/tile-leaf.ts";
import { parseCertificate } from "../src/x509-certificate.ts";
import { corpusCertificates, rfc6962Entries, TEST_LOG, TESTDATA } from "./testdata.ts";

// Mutation fuzzing of the leaf, tile and certificate parsers with real inputs: bit flips, truncations, splices
// between entries and certificates, length fields overwritten. Nothing may escape fromRawEntry, the record must
// stay well-formed, and no single input may take long (a hang shows up as a slow input or a test timeout).
// FUZZ_ITERATIONS (default 100000) and FUZZ_SEED make it bigger or reproducible.
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
// A hang guard, not a speed check: far above any real input (microseconds) so a loaded CI machine never trips it.
const SLOW_INPUT_MS = 5_000;

const entries = rfc6962Entries().map((e) => e.raw);
const certs = corpusCertificates().map((c) => c.der);

class Mutator {
  readonly #rand: () => number;
  constructor(seed: number) {
    this.#rand = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.#rand() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** One random mutation of `input`; `donors` supply bytes for splices. */
  mutate(input: Uint8Array, donors: readonly Uint8Array[]): Uint8Array {
    const out = Buffer.from(input);
    switch (this.int(7)) {
      case 0: {
        // bit flips
        const flips = 1 + this.int(8);
        for (let i = 0; i < flips && out.length > 0; i++) out[this.int(out.length)] ^= 1 << this.int(8);
        return out;
      }
      case 1: // truncation
        return out.subarray(0, this.int(out.length + 1));
      case 2: {
        // splice: our prefix + a donor's suffix
        const donor = this.pick(donors);
        return Buffer.concat([
          out.subarray(0, this.int(out.length + 1)),
          donor.subarray(this.int(donor.length + 1)),
        ]);
      }
      case 3: {
        // insert a chunk of a donor (often a whole certificate) somewhere
        const donor = this.pick(donors);
        const from = this.int(donor.length + 1);
        const chunk = donor.subarray(from, from + this.int(donor.length - from + 1));
        const at = this.int(out.length + 1);
        return Buffer.concat([out.subarray(0, at), chunk, out.subarray(at)]);
      }
      case 4: {
        // overwrite what may be a TLS or DER length with an extreme value
        if (out.length < 4) return out;
        const at = this.int(out.length - 3);
        const value = this.pick([0x00, 0x7f, 0x80, 0x81, 0x84, 0xff]);
        out[at] = value;
        if (this.int(2) === 0) out[at + 1] = this.pick([0x00, 0xff, 0x80]);
        return out;
      }
      case 5: {
        // delete a range
        const at = this.int(out.length + 1);
        return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + this.int(64))]);
      }
      default: {
        // duplicate a range (repeated TLVs, repeated chain elements)
        const at = this.int(out.length + 1);
        const len = this.int(256);
        return Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
      }
    }
  }
}

const kinds = new Set<string>(ctParseErrorKinds);

function checkRecord(entry: CertificateEntry, raw: RawLogEntry): void {
  if (entry.index !== raw.index) throw new Error("index changed");
  if (entry.parse_error !== null && !kinds.has(entry.parse_error.kind)) {
    throw new Error(`unbounded kind ${entry.parse_error.kind}`);
  }
  if (entry.parse_error?.message.startsWith("unexpected")) {
    throw new Error(`a parser threw something else than CtParseError: ${entry.parse_error.message}`);
  }
  if (entry.parse_error === null && entry.leaf === null) throw new Error("no leaf and no parse_error");
  if (entry.parse_error !== null && entry.raw === null) throw new Error("parse_error without raw bytes");
}

describe(`fuzz (${ITERATIONS} mutated real inputs, seed ${SEED})`, () => {
  it("fromRawEntry never throws, never hangs, and always yields a well-formed record", {
    timeout: 120_000,
  }, () => {
    const m = new Mutator(SEED);
    const cache = new CertificateCache(256);
    const donors: Uint8Array[] = [
      ...certs,
      ...entries.map((e) => e.leafInput),
      ...entries.map((e) => e.extraData),
    ];
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = m.pick(entries);
      let leafInput = base.leafInput;
      let extraData = base.extraData;
      const target = m.int(3);
      if (target !== 1) leafInput = m.mutate(leafInput, donors);
      if (target !== 0) extraData = m.mutate(extraData, donors);
      const raw = { index: i, leafInput, extraData };
      const t = performance.now();
      let entry: CertificateEntry;
      try {
        entry = fromRawEntry(TEST_LOG, raw, 0, cache);
      } catch (err) {
        throw new Error(`iteration ${i} (seed ${SEED}) escaped fromRawEntry: ${String(err)}`);
      }
      slowest = Math.max(slowest, performance.now() - t);
      checkRecord(entry, raw);
      const outcome = entry.parse_error?.kind ?? "ok";
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(slowest).toBeLessThan(SLOW_INPUT_MS);
    // The mutations reach every layer: some inputs still parse, others fail in the leaf, extra_data and X.509.
    expect(outcomes.get("ok")).toBeGreaterThan(ITERATIONS / 20);
    for (const kind of ["leaf_truncated", "extra_data_invalid", "trailing_bytes", "x509_invalid"]) {
      expect(outcomes.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  });

  it("parseCertificate throws only CtParseError on mutated certificates", { timeout: 60_000 }, () => {
    const m = new Mutator(SEED + 1);
    const n = Math.ceil(ITERATIONS / 5);
    for (let i = 0; i < n; i++) {
      const der = m.mutate(m.pick(certs), certs);
      try {
        parseCertificate(der);
      } catch (err) {
        if (!CtParseError.isCtParseError(err))
          throw new Error(`iteration ${i} (seed ${SEED + 1}): ${String(err)}`);
      }
    }
  });

  it("static-ct-api TileLeaf reader and parse on mutated data tiles", { timeout: 60_000 }, () => {
    const tile = readFileSync(new URL("static-ct/navigli2025h2/tile/data/000", TESTDATA));
    const m = new Mutator(SEED + 2);
    const n = Math.ceil(ITERATIONS / 10);
    for (let i = 0; i < n; i++) {
      const bytes = m.mutate(tile.subarray(0, 20_000), certs);
      let pos = 0;
      for (let leaves = 0; pos < bytes.length && leaves < 300; leaves++) {
        let next: number;
        try {
          const r = readTileLeaf(bytes, pos);
          next = r.next;
          const entry = toCertificateEntry(TEST_LOG, tileLeafToEntry(r.leaf, leaves, []), 0);
          if (entry.parse_error === null && entry.leaf === null)
            throw new Error("no leaf and no parse_error");
        } catch (err) {
          if (err instanceof TileLeafError || CtParseError.isCtParseError(err)) break;
          throw new Error(`iteration ${i} (seed ${SEED + 2}): ${String(err)}`);
        }
        expect(next).toBeGreaterThan(pos);
        pos = next;
      }
    }
  });
});
