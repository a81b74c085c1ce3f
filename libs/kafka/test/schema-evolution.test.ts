import { readFileSync } from "node:fs";
import avro from "avsc";
import { describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, valueSubject } from "../src/index.ts";
import { historySchema, registerSchemaText, sampleEntry, setCompatibility } from "./fixture.ts";

/** Every CertificateEntry schema ever registered, oldest first (libs/schema/avro/history), then the current one. */
const PREVIOUS = historySchema("CertificateEntry", 1);
const QUERY_FIELDS = [
  "subject_cn",
  "issuer_cn",
  "issuer_o",
  "registered_domains",
  "log_name",
  "key_algorithm",
  "key_bits",
  "validation_level",
  "not_before_ts",
  "not_after_ts",
] as const;

describe("CertificateEntry evolves with BACKWARD compatibility (real registry)", () => {
  it("the registry accepts the current schema over the previous one, and refuses a breaking change", async () => {
    const subject = valueSubject(uniqueName("evolve"));
    const first = await registerSchemaText(subject, PREVIOUS);
    expect(first.status).toBe(200);
    const put = await setCompatibility(subject, "BACKWARD");
    expect(put.status).toBe(200);

    // A control that must fail: a new field without a default cannot read old records.
    const breaking = JSON.parse(PREVIOUS) as { fields: unknown[] };
    breaking.fields.push({ name: "required_field", type: "string" });
    const refused = await registerSchemaText(subject, JSON.stringify(breaking));
    expect(refused.status).toBe(409);

    // What every producer of this version does: register the current schema under the existing subject.
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    const id = await codec.register(subject);
    const versions = (await fetch(`${registryUrl()}/subjects/${subject}/versions`).then((r) =>
      r.json(),
    )) as number[];
    expect(versions).toHaveLength(2);

    // A record written by a producer of the previous version reads with the query fields null...
    const oldType = avro.Type.forSchema(JSON.parse(PREVIOUS) as avro.Schema);
    const oldId = ((await first.json()) as { id: number }).id;
    const entry = sampleEntry();
    const body = oldType.toBuffer({
      ...entry,
      leaf_der: Buffer.from(entry.leaf_der),
      chain: entry.chain.map((c) => ({ ...c, der: Buffer.from(c.der) })),
    });
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
    framed.writeInt32BE(oldId, 1);
    const reader = new CertificateEntryCodec({ registryUrl: registryUrl() });
    const fromOld = await reader.decode(framed);
    expect(fromOld.index).toBe(entry.index);
    for (const f of QUERY_FIELDS) expect(fromOld[f], f).toBeNull();
    expect(await reader.isLocalSchema(oldId)).toBe(false);

    // ...and one of this version carries them; an old consumer (previous schema as reader) still reads it.
    const fresh = await codec.encode(entry);
    expect(fresh.readInt32BE(1)).toBe(id);
    const decoded = await reader.decode(fresh);
    for (const f of QUERY_FIELDS) expect(decoded[f], f).toEqual(entry[f]);
    const newType = avro.Type.forSchema(
      JSON.parse(
        readFileSync(new URL("../../schema/avro/CertificateEntry.avsc", import.meta.url), "utf8"),
      ) as avro.Schema,
    );
    const oldReader = oldType.createResolver(newType);
    const seenByOld = oldType.fromBuffer(fresh.subarray(5), oldReader) as {
      index: number;
      log_name?: unknown;
    };
    expect(seenByOld.index).toBe(entry.index);
    expect(seenByOld.log_name).toBeUndefined();
  });
});
