import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// The real CT data the stand-ins serve (../shared/testdata, read-only).

export const TESTDATA = process.env.CERTSTREAM_TESTDATA ?? "/work/shared/testdata";

export interface RealRfcEntry {
  leafInput: Buffer;
  extraData: Buffer;
}

/** Every entry of ct-entries/rfc6962/*.json, in file-name order then response order (46 entries). */
export function loadRfc6962Entries(dir = join(TESTDATA, "ct-entries/rfc6962")): RealRfcEntry[] {
  const out: RealRfcEntry[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const json = JSON.parse(readFileSync(join(dir, f), "utf8")) as {
      entries: { leaf_input: string; extra_data: string }[];
    };
    for (const e of json.entries) {
      out.push({
        leafInput: Buffer.from(e.leaf_input, "base64"),
        extraData: Buffer.from(e.extra_data, "base64"),
      });
    }
  }
  return out;
}

export const NAVIGLI_DIR = join(TESTDATA, "static-ct/navigli2025h2");

/** The four full navigli2025h2 data tiles concatenated (TileLeaf entries 0..1023). */
export function loadNavigliDataTiles(dir = NAVIGLI_DIR): Buffer[] {
  return [0, 1, 2, 3].map((n) => readFileSync(join(dir, `tile/data/00${n}`)));
}

/** Real issuing CA certificates (DER) the static stand-in can serve at issuer/<sha256>. */
export function loadIssuerCerts(dir = join(TESTDATA, "certs/live-2026")): Buffer[] {
  return ["ca-R12.der", "ca-E7.der", "ca-WR1.der", "ca-WE1.der"].map((f) => readFileSync(join(dir, f)));
}
