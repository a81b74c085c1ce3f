import { describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, valueSubject } from "../src/index.ts";
import { sampleEntry, unparsedEntry } from "./fixture.ts";

// encodeSync writes into a reused scratch buffer: records larger than it, and small records after a large
// one, must come out whole and independent of each other.
describe("CertificateEntryCodec.encodeSync scratch buffer (real registry)", () => {
  it("round-trips records larger than the scratch buffer and keeps earlier outputs intact", async () => {
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(valueSubject(uniqueName("encode")));
    const big = sampleEntry();
    big.chain = [...big.chain, { der: Buffer.alloc(300_000, 7), cert: null }];
    const small = sampleEntry();
    const first = codec.encodeSync(small);
    const firstCopy = Buffer.from(first);
    const bigOut = codec.encodeSync(big);
    const smallAgain = codec.encodeSync(small);
    const unparsed = codec.encodeSync(unparsedEntry());
    expect(bigOut.length).toBeGreaterThan(300_000);
    expect(first.equals(firstCopy)).toBe(true);
    expect(smallAgain.equals(first)).toBe(true);
    const back = await codec.decode(bigOut);
    expect(Buffer.from(back.chain.at(-1)?.der ?? []).equals(Buffer.alloc(300_000, 7))).toBe(true);
    expect(
      Buffer.from((await codec.decode(unparsed)).raw?.leaf_input ?? []).equals(Buffer.from([0, 0, 1, 2])),
    ).toBe(true);
    expect(await codec.decode(smallAgain)).toEqual(await codec.decode(first));
  });
});
