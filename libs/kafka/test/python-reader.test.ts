import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, pythonBin, registryUrl, repoRoot, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, ensureTopics, entryKey, valueSubject } from "../src/index.ts";
import { sampleEntry, testKafka, unparsedEntry } from "./fixture.ts";

const run = promisify(execFile);

/** A line of test/python/read_topic.py: the decoded CertificateEntry with bytes as hex. */
interface PythonRecord {
  key: string;
  schema_id: number;
  value: {
    index: number;
    log: { id: string; kind: string };
    update_type: string;
    leaf_der: string;
    leaf: { all_domains: string[] } | null;
    chain: unknown[];
    parse_error: unknown;
    issuer_o?: string | null;
    registered_domains?: string[] | null;
    not_before_ts?: string | null;
  };
}

/** The fields this test checks, as Python decoded them. */
function summary({ key, schema_id, value: v }: PythonRecord) {
  return {
    key,
    schema_id,
    index: v.index,
    log_id: v.log.id,
    kind: v.log.kind,
    update_type: v.update_type,
    leaf_der_sha256: createHash("sha256").update(Buffer.from(v.leaf_der, "hex")).digest("hex"),
    all_domains: v.leaf ? v.leaf.all_domains : null,
    chain_len: v.chain.length,
    parse_error: v.parse_error,
    issuer_o: v.issuer_o,
    registered_domains: v.registered_domains,
    not_before_ts: v.not_before_ts,
  };
}

describe("records are readable by an independent client", () => {
  it("confluent-kafka (Python, librdkafka) with AvroDeserializer decodes what we produce", async () => {
    const topic = uniqueName("t.py");
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ topic, partitions: 1, replicationFactor: 1 }]);
      const codec = new CertificateEntryCodec({ registryUrl: registryUrl() });
      const id = await codec.register(valueSubject(topic));
      const entries = [sampleEntry(42), unparsedEntry(43)];
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      await producer.send({
        topic,
        messages: entries.map((e) => ({ key: entryKey(e), value: codec.encodeSync(e) })),
      });
      await producer.disconnect();

      const { stdout } = await run(
        pythonBin(),
        [`${repoRoot}/test/python/read_topic.py`, kafkaBrokers().join(","), registryUrl(), topic, "2"],
        { timeout: 60_000 },
      );
      const rows = stdout
        .trim()
        .split("\n")
        .map((l) => summary(JSON.parse(l) as PythonRecord));
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({
        key: entryKey(entries[0]).toString("hex"),
        schema_id: id,
        index: 42,
        log_id: entries[0].log.id,
        kind: "rfc6962",
        update_type: "PrecertLogEntry",
        leaf_der_sha256: entryKey(entries[0]).toString("hex"),
        all_domains: ["example.com", "www.example.com"],
        chain_len: 2,
        parse_error: null,
        // The query fields; timestamp-millis reaches Python as a UTC datetime.
        issuer_o: entries[0].issuer_o,
        registered_domains: entries[0].registered_domains,
        not_before_ts: new Date(entries[0].not_before_ts ?? 0).toISOString().replace(".000Z", "+00:00"),
      });
      expect(rows[1]).toMatchObject({
        index: 43,
        all_domains: null,
        chain_len: 0,
        parse_error: { kind: "leaf_truncated", message: "leaf_input ends inside the certificate length" },
      });
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
