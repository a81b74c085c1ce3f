// Issue 18 added leaf_hash, tree_verification and tbs_hash to CertificateEntry over the query fields of issue 15
// (libs/schema/avro/history/CertificateEntry.2.avsc): the registry takes every schema in order under BACKWARD,
// a record of the previous version reads with the tree fields null, and a consumer still on the previous
// version reads a record that carries them.
import { readFileSync } from "node:fs";
import avro from "avsc";
import { describe, expect, it } from "vitest";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, valueSubject } from "../src/index.ts";
import { historySchema, registerSchemaText, sampleEntry, setCompatibility } from "./fixture.ts";

const history = (n: number) => historySchema("CertificateEntry", n);

describe("CertificateEntry with the tree fields (real registry)", () => {
  it("evolves BACKWARD over every earlier schema, in both reading directions", async () => {
    const subject = valueSubject(uniqueName("tree-fields"));
    const first = await registerSchemaText(subject, history(1));
    expect(first.status).toBe(200);
    const put = await setCompatibility(subject, "BACKWARD");
    expect(put.status).toBe(200);
    const second = await registerSchemaText(subject, history(2));
    expect(second.status).toBe(200);
    const previousId = ((await second.json()) as { id: number }).id;
    const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
    await codec.register(subject);

    // A record of the previous version: the tree fields read as null.
    const previous = avro.Type.forSchema(JSON.parse(history(2)) as avro.Schema);
    const entry = sampleEntry();
    const plain = {
      ...entry,
      leaf_der: Buffer.from(entry.leaf_der),
      chain: entry.chain.map((c) => ({ ...c, der: Buffer.from(c.der) })),
    };
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), previous.toBuffer(plain)]);
    framed.writeInt32BE(previousId, 1);
    const old = await codec.decode(framed);
    expect(old.index).toBe(entry.index);
    expect([old.leaf_hash, old.tree_verification, old.tbs_hash]).toEqual([null, null, null]);

    // A record of this version carries them; a consumer on the previous schema reads it without them.
    const withTree = {
      ...entry,
      leaf_hash: Buffer.alloc(32, 1),
      tbs_hash: Buffer.alloc(32, 2),
      tree_verification: { state: "verified" as const, tree_size: 1234, tree_timestamp: 1_764_800_000_000 },
    };
    const fresh = await codec.encode(withTree);
    const back = await codec.decode(fresh);
    expect(Buffer.from(back.leaf_hash as Uint8Array)).toEqual(Buffer.alloc(32, 1));
    expect(back.tree_verification).toEqual(withTree.tree_verification);
    const current = avro.Type.forSchema(
      JSON.parse(
        readFileSync(new URL("../../schema/avro/CertificateEntry.avsc", import.meta.url), "utf8"),
      ) as avro.Schema,
    );
    const seenByOld = previous.fromBuffer(fresh.subarray(5), previous.createResolver(current)) as {
      index: number;
      tree_verification?: unknown;
    };
    expect(seenByOld.index).toBe(entry.index);
    expect(seenByOld.tree_verification).toBeUndefined();
  });
});
