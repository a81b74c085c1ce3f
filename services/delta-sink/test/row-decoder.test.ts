import { queryFields } from "@certstream/ct";
import { type CertstreamRow, toRow } from "@certstream/delta";
import { CertificateEntryCodec, valueSubject } from "@certstream/kafka";
import { type CertificateEntry, certificateEntrySchema } from "@certstream/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { realEntries, syntheticEntries } from "../../../libs/delta/test/fixtures/entries.ts";
import { sampleEntry, unparsedEntry } from "../../../libs/kafka/test/fixture.ts";
import { registryUrl, uniqueName } from "../../../test/stack.ts";
import {
  ArchiveRowDecoder,
  localSchemaFingerprint,
  ROW_READER_SCHEMA_FINGERPRINT,
} from "../src/row-decoder.ts";

let codec: CertificateEntryCodec;
/** A second codec that never registered anything: it fetches the writer schema by id, as the sink does. */
let reader: CertificateEntryCodec;

beforeAll(async () => {
  codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
  await codec.register(valueSubject(uniqueName("rowdec")));
  reader = new CertificateEntryCodec({ registryUrl: registryUrl() });
});

/** Binary columns as plain Uint8Array (avsc gives Buffers, the fast reader views): same bytes, same row. */
function plain(row: CertstreamRow | null): CertstreamRow | null {
  if (!row) return row;
  const u = (b: Uint8Array | null) => (b ? new Uint8Array(b) : null);
  return {
    ...row,
    as_der: u(row.as_der),
    raw_leaf_input: u(row.raw_leaf_input),
    raw_extra_data: u(row.raw_extra_data),
  };
}

/** What the general path makes of a record: avsc through the codec, then toRow. */
async function slowRow(buf: Buffer) {
  return plain(toRow(await reader.decode(buf)));
}

/** Odd but valid entries: unicode, empty arrays, multi-block-worthy domain lists, no chain cert parsed. */
/** What producers send: the entry with its query fields (libs/ct queryFields), as the ingester builds it. */
function produced(e: CertificateEntry): CertificateEntry {
  return { ...e, ...queryFields(e.log, e.leaf, e.leaf_der) };
}

function oddEntries(): CertificateEntry[] {
  const [a, b] = realEntries().map(produced);
  return [
    {
      ...a,
      index: 2 ** 40 + 3,
      seen: -1_000_001,
      timestamp: 0,
      log: { ...a.log, name: "Журнал «ünïcode» 🙂", url: "https://static.example/log/", kind: "static" },
      leaf: a.leaf && {
        ...a.leaf,
        all_domains: Array.from({ length: 300 }, (_, i) => `d${i}.例え.jp`),
        subject: { ...a.leaf.subject, CN: null, O: "Ñandú", aggregated: "/O=Ñandú" },
        extensions: { a: true, b: "x", c: false, ü: "🙂" },
        is_ca: true,
      },
      chain: [...b.chain, { der: new Uint8Array([1, 2, 3]), cert: null }, ...a.chain],
      parse_error: { kind: "x509_partial", message: "kept with a warning" },
      registered_domains: ["例え.jp"],
      key_bits: 2 ** 30,
      not_before_ts: -5_000,
      not_after_ts: 253_402_300_799_000,
      validation_level: "EV",
      leaf_hash: Buffer.alloc(32, 7),
      tree_verification: { state: "mismatch", tree_size: 2 ** 40, tree_timestamp: 1_700_000_000_000 },
      tbs_hash: Buffer.alloc(32, 9),
    },
    {
      ...b,
      leaf: b.leaf && { ...b.leaf, all_domains: [] },
      chain: [],
      tree_verification: { state: "pending", tree_size: null, tree_timestamp: null },
    },
  ];
}

describe("ArchiveRowDecoder (rows straight from Avro bytes)", () => {
  it("implements the current CertificateEntry schema (update it with the schema: see row-decoder.ts)", () => {
    expect(localSchemaFingerprint).toBe(ROW_READER_SCHEMA_FINGERPRINT);
  });

  it("gives exactly toRow(codec.decode(record)) for real, synthetic, parse-error and odd entries", async () => {
    const entries = [
      ...realEntries().map(produced),
      ...syntheticEntries(400, { start: 50, logs: 3, days: 2 }).map(produced),
      sampleEntry(),
      unparsedEntry(),
      ...oddEntries(),
    ];
    const fast = new ArchiveRowDecoder(reader);
    let fastRows = 0;
    // Twice: the second pass is served from the chain and log caches.
    for (let pass = 0; pass < 2; pass++) {
      for (const e of entries) {
        const buf = codec.encodeSync(e);
        const r = await fast.decode(buf);
        expect(r).not.toBeNull();
        expect(plain(r)).toEqual(await slowRow(buf));
        expect(Object.keys(r ?? {})).toEqual(Object.keys(toRow(e)));
        fastRows++;
      }
    }
    expect(fastRows).toBe(entries.length * 2);
  });

  it("leaves a record without query fields to the general path, which derives them", async () => {
    const e = realEntries()[0];
    const buf = codec.encodeSync(e);
    expect(await new ArchiveRowDecoder(reader).decode(buf)).toBeNull();
    const row = toRow(await reader.decode(buf));
    expect(row.log_name).toBe("argon2026h2");
    expect(row.key_algorithm).not.toBeNull();
    expect(row.subject_cn).toBe(e.leaf?.subject.CN ?? null);
  });

  it("declines malformed records and foreign framing (the general path reports them)", async () => {
    const fast = new ArchiveRowDecoder(reader);
    const good = codec.encodeSync(produced(realEntries()[0]));
    expect(await fast.decode(good)).not.toBeNull();
    expect(await fast.decode(good.subarray(0, good.length - 7))).toBeNull(); // truncated
    expect(await fast.decode(Buffer.concat([good, Buffer.from([0])]))).toBeNull(); // trailing byte
    expect(await fast.decode(Buffer.from("{json}"))).toBeNull();
    const hugeLength = Buffer.from(good);
    hugeLength[5] = 0xfe; // log.id length: a varint running past the record
    hugeLength[6] = 0xff;
    hugeLength[7] = 0x7f;
    expect(await fast.decode(hugeLength)).toBeNull();
  });

  it("declines records of another writer schema (older/newer versions go through schema resolution)", async () => {
    const subject = valueSubject(uniqueName("rowdec-evolved"));
    const evolved = {
      ...(certificateEntrySchema as Record<string, unknown>),
      fields: [
        ...(certificateEntrySchema as { fields: unknown[] }).fields,
        { name: "note", type: ["null", "string"], default: null },
      ],
    };
    const res = await fetch(`${registryUrl()}/subjects/${subject}/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema: JSON.stringify(evolved) }),
    });
    const { id } = (await res.json()) as { id: number };
    const local = codec.encodeSync(realEntries()[0]);
    const foreign = Buffer.concat([local, Buffer.from([0])]); // body + note=null (union index 0)
    foreign.writeInt32BE(id, 1);
    const fast = new ArchiveRowDecoder(reader);
    expect(await fast.decode(foreign)).toBeNull();
    expect(fast.decode(foreign)).toBeNull(); // remembered, synchronous
    expect(await codec.isLocalSchema(id)).toBe(false);
  });
});
