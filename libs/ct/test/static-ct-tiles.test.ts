import { readFileSync } from "node:fs";
import type { LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { toCertificateEntry } from "../src/parse-entry.ts";
import { readDataTile, tileLeafToEntry } from "../src/tile-leaf.ts";
import { TESTDATA } from "./testdata.ts";

// The navigli2025h2 data tiles (1024 real precert entries) parsed into CertificateEntry, with the log's own
// names tiles (Sunlight extension: Subject and DNS of each entry) as the oracle for all_domains.
const LOG_DIR = new URL("static-ct/navigli2025h2/", TESTDATA);
const log: LogSource = {
  id: "5Pt3SiEkxYZAsYMvUKv63ISjiu1xke62aSI3ksv2KJE=",
  name: "Geomys navigli2025h2",
  url: "https://navigli2025h2.skylight.geomys.org/",
  operator: "Geomys",
  kind: "static",
};

interface NamesLine {
  Timestamp: number;
  Subject?: { CommonName?: string };
  DNS?: string[];
}

describe("navigli2025h2 static-ct-api tiles", () => {
  for (const tile of ["000", "001", "002", "003"]) {
    it(`tile/data/${tile}: every entry parses and all_domains = CN ∪ names tile DNS`, () => {
      const leaves = readDataTile(readFileSync(new URL(`tile/data/${tile}`, LOG_DIR)), 256);
      const names = readFileSync(new URL(`tile/names/${tile}`, LOG_DIR), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as NamesLine);
      expect(names.length).toBe(256);
      leaves.forEach((leaf, i) => {
        const index = Number(tile) * 256 + i;
        expect(leaf.leafIndex).toBe(index);
        const entry = toCertificateEntry(log, tileLeafToEntry(leaf, index, []), 0);
        expect(entry.parse_error).toBeNull();
        expect(entry.update_type).toBe("PrecertLogEntry");
        expect(entry.timestamp).toBe(names[i].Timestamp);
        expect(entry.leaf?.extensions.ctlPoisonByte).toBe(true);
        const cn = names[i].Subject?.CommonName;
        const expected = [...new Set([...(cn ? [cn] : []), ...(names[i].DNS ?? [])])];
        expect(entry.leaf?.all_domains).toEqual(expected);
        expect(entry.leaf?.subject.CN ?? undefined).toBe(cn);
      });
    });
  }

  it("the partial tile 003.p/10 is the first 10 entries of 003", () => {
    const partial = readDataTile(readFileSync(new URL("tile/data/003.p/10", LOG_DIR)), 10);
    const full = readDataTile(readFileSync(new URL("tile/data/003", LOG_DIR)), 256);
    for (let i = 0; i < 10; i++) {
      const a = toCertificateEntry(log, tileLeafToEntry(partial[i], 768 + i, []), 0);
      const b = toCertificateEntry(log, tileLeafToEntry(full[i], 768 + i, []), 0);
      expect(a.leaf).toEqual(b.leaf);
    }
  });
});
