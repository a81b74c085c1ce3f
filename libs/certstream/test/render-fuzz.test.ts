import { readFileSync } from "node:fs";
import { CertificateCache, fromRawEntry } from "@certstream/ct";
import type { LogSource } from "@certstream/schema";
import { describe, expect, it } from "vitest";
import { ChainJsonCache, renderMessages } from "../src/index.ts";

// Whatever the parser makes of a mutated real entry (odd bytes in names, SANs, extensions), every rendered
// message is valid JSON with every key present. RENDER_FUZZ_ITERATIONS (default 20000) makes it bigger.
const ITERATIONS = Number(process.env.RENDER_FUZZ_ITERATIONS ?? 20_000);

const body = JSON.parse(
  readFileSync(
    new URL(
      "../../../../shared/testdata/ct-entries/rfc6962/google-argon2026h2-get-entries-start1111014090-end1111014109.json",
      import.meta.url,
    ),
    "utf8",
  ),
) as { entries: { leaf_input: string; extra_data: string }[] };
const raws = body.entries.map((e, index) => ({
  index,
  leafInput: Buffer.from(e.leaf_input, "base64"),
  extraData: Buffer.from(e.extra_data, "base64"),
}));
const log: LogSource = {
  id: "x",
  name: "Google 'Argon2026h2'",
  url: "https://ct.example/",
  operator: "G",
  kind: "rfc6962",
};

describe(`render fuzz (${ITERATIONS} entries with bit flips in the certificates)`, () => {
  it("every message parses as JSON and keeps its keys", { timeout: 60_000 }, () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const certCache = new CertificateCache(64);
    const jsonCache = new ChainJsonCache(64);
    let rendered = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const raw = raws[rand(raws.length)];
      const leafInput = Buffer.from(raw.leafInput);
      const extraData = Buffer.from(raw.extraData);
      // Flip bits past the TLS framing, inside the certificates, so most entries still decode.
      for (let f = 0; f < 1 + rand(6); f++) {
        if (rand(2) === 0) leafInput[15 + rand(leafInput.length - 17)] ^= 1 << rand(8);
        else extraData[6 + rand(extraData.length - 6)] ^= 1 << rand(8);
      }
      const entry = fromRawEntry(log, { index: i, leafInput, extraData }, 1e15, certCache);
      const m = renderMessages(entry, ["full", "lite", "domains"], jsonCache);
      if (entry.leaf === null) {
        expect(m.full).toBeNull();
        continue;
      }
      rendered++;
      const full = JSON.parse(m.full as string);
      const lite = JSON.parse(m.lite as string);
      expect(Object.keys(full.data.leaf_cert.subject)).toEqual([
        "C",
        "CN",
        "L",
        "O",
        "OU",
        "ST",
        "aggregated",
        "email_address",
      ]);
      expect(lite.data.leaf_cert.all_domains).toEqual(JSON.parse(m.domains as string).data);
    }
    expect(rendered).toBeGreaterThan(ITERATIONS / 2);
  });
});
