import { describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, entryKey, SchemaRegistryError, valueSubject } from "../src/index.ts";
import { sampleEntry, unparsedEntry } from "./fixture.ts";

describe("CertificateEntryCodec (real Apicurio registry, ccompat API)", () => {
  it("registers the schema with BACKWARD compatibility, idempotently", async () => {
    const subject = valueSubject(uniqueName("codec"));
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    const id = await codec.register(subject);
    expect(id).toBeGreaterThan(0);
    // A second producer (or a restart) registering the same schema gets the same id.
    expect(await new CertificateEntryCodec({ registryUrl: registryUrl() }).register(subject)).toBe(id);

    const config = (await fetch(`${registryUrl()}/config/${subject}`).then((r) => r.json())) as {
      compatibilityLevel: string;
    };
    expect(config.compatibilityLevel).toBe("BACKWARD");
    const versions = await fetch(`${registryUrl()}/subjects/${subject}/versions`).then((r) => r.json());
    expect(versions).toEqual([1]);
  });

  it("round-trips entries through the Confluent wire format", async () => {
    const subject = valueSubject(uniqueName("codec"));
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    const id = await codec.register(subject);

    for (const entry of [sampleEntry(), unparsedEntry()]) {
      const buf = await codec.encode(entry);
      expect(buf[0]).toBe(0);
      expect(buf.readInt32BE(1)).toBe(id);
      // A fresh codec knows nothing: it must fetch the writer schema by id from the registry.
      const decoded = await new CertificateEntryCodec({ registryUrl: registryUrl() }).decode(buf);
      expect(decoded).toEqual({
        ...entry,
        leaf_der: Buffer.from(entry.leaf_der),
        chain: entry.chain.map((c) => ({ ...c, der: Buffer.from(c.der) })),
        raw: entry.raw && {
          leaf_input: Buffer.from(entry.raw.leaf_input),
          extra_data: Buffer.from(entry.raw.extra_data),
        },
      });
      expect(decoded.leaf_der).toBeInstanceOf(Uint8Array);
      expect(entryKey(decoded).equals(entryKey(entry))).toBe(true);
    }
  });

  it("names the offending field when an entry does not fit the schema", async () => {
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(valueSubject(uniqueName("codec")));
    const bad = { ...sampleEntry(), index: "seven" } as unknown as ReturnType<typeof sampleEntry>;
    await expect(codec.encode(bad)).rejects.toThrow(/index="seven"/);
  });

  it("refuses to encode before register and to decode a foreign record", async () => {
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await expect(codec.encode(sampleEntry())).rejects.toThrow(/register/);
    await expect(codec.decode(Buffer.from("{json}"))).rejects.toThrow(/not a schema-registry framed record/);
  });

  it("a schema id the registry does not know is a bad record, not an unavailable registry", async () => {
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    const unknownId = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 4]);
    const err = await codec.decode(unknownId).catch((e) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect(err).toMatchObject({ status: 404, kind: "schema" });
    expect(err.unavailable).toBe(false); // readers count and skip it
  });

  it("entryKey is the SHA-256 of leaf_der (32 bytes)", () => {
    const key = entryKey({ leaf_der: new TextEncoder().encode("abc") });
    expect(key.toString("hex")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("measures encode/decode cost per entry (printed, not asserted)", async () => {
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(valueSubject(uniqueName("codec")));
    const entry = sampleEntry();
    const n = 5_000;
    const bufs: Buffer[] = [];
    let t = performance.now();
    for (let i = 0; i < n; i++) bufs.push(codec.encodeSync({ ...entry, index: i }));
    const encodeUs = ((performance.now() - t) * 1000) / n;
    await codec.decode(bufs[0]); // fetch the writer schema once
    t = performance.now();
    for (const b of bufs) await codec.decode(b);
    const decodeUs = ((performance.now() - t) * 1000) / n;
    console.log(
      `[bench] CertificateEntry ${bufs[0].length} B: encode ${encodeUs.toFixed(1)} µs, decode ${decodeUs.toFixed(1)} µs per entry (n=${n})`,
    );
    expect(bufs).toHaveLength(n);
  });
});
