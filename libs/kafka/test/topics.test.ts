import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testTopics, uniqueName } from "../../../test/stack.ts";
import { ensureTopics, topicNames, topicSpecs } from "../src/index.ts";
import { testKafka } from "./fixture.ts";

describe("ensureTopics (real broker)", () => {
  let admin: Admin;
  const created: string[] = [];

  beforeAll(async () => {
    const kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    if (!admin) return; // beforeAll failed: its error is the one to read
    if (created.length > 0) await admin.deleteTopics({ topics: created }).catch(() => {});
    await admin.disconnect();
  });

  it("creates the four topics once, compacts the state topic, and is idempotent", async () => {
    const prefix = uniqueName("t");
    const names = testTopics(prefix);
    const specs = topicSpecs({
      topics: names,
      partitions: 3,
      replication_factor: 1,
      certs_retention_ms: 3_600_000,
    });
    created.push(...specs.map((s) => s.topic));

    const first = await ensureTopics(admin, specs);
    expect(first.created.sort()).toEqual(Object.values(names).sort());

    // Concurrent and repeated calls (several replicas starting at once) must not fail.
    const again = await Promise.all([ensureTopics(admin, specs), ensureTopics(admin, specs)]);
    for (const r of again) {
      expect(r.created).toEqual([]);
      expect(r.existing.sort()).toEqual(Object.values(names).sort());
      expect(r.mismatched).toEqual([]);
    }

    const meta = await admin.fetchTopicMetadata({ topics: [names.entries, names.state] });
    expect(meta.topics.find((t) => t.name === names.entries)?.partitions).toHaveLength(3);
    expect(meta.topics.find((t) => t.name === names.state)?.partitions).toHaveLength(1);

    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: 2, name: names.state, configNames: ["cleanup.policy"] },
        { type: 2, name: names.certs, configNames: ["retention.ms"] },
      ],
    });
    const value = (topic: string, key: string) =>
      configs.resources.find((r) => r.resourceName === topic)?.configEntries.find((c) => c.configName === key)
        ?.configValue;
    expect(value(names.state, "cleanup.policy")).toBe("compact");
    expect(value(names.certs, "retention.ms")).toBe("3600000");
  });

  it("reports an existing topic whose partition count differs instead of changing it", async () => {
    const topic = uniqueName("t.mismatch");
    created.push(topic);
    await ensureTopics(admin, [{ topic, partitions: 1, replicationFactor: 1 }]);
    const r = await ensureTopics(admin, [{ topic, partitions: 4, replicationFactor: 1 }]);
    expect(r.mismatched).toEqual([{ topic, partitions: 1, wanted: 4 }]);
  });

  it("sets min.insync.replicas on the data and state topics from replication factor 2 on (RF-1, at most 2)", () => {
    const minIsr = (rf: number) =>
      topicSpecs({ partitions: 3, replication_factor: rf }).map((s) => s.configs?.["min.insync.replicas"]);
    expect(minIsr(1)).toEqual([undefined, undefined, undefined, undefined]);
    expect(minIsr(2)).toEqual(["1", "1", "1", "1"]);
    expect(minIsr(3)).toEqual(["2", "2", "2", "2"]);
    expect(minIsr(5)).toEqual(["2", "2", "2", "2"]);
    const rf3 = topicSpecs({ partitions: 3, replication_factor: 3, certs_retention_ms: 60_000 });
    expect(rf3.map((s) => s.replicationFactor)).toEqual([3, 3, 3, 3]);
    expect(rf3[1].configs).toEqual({ "min.insync.replicas": "2", "retention.ms": "60000" });
    expect(rf3[3].configs?.["cleanup.policy"]).toBe("compact");
  });

  it("defaults the topic names to the design's", () => {
    expect(topicNames()).toEqual({
      entries: "certstream.entries.v1",
      certs: "certstream.certs.v1",
      backfill: "certstream.backfill.v1",
      state: "certstream.ingester.state",
    });
    expect(topicNames({ topics: { certs: "x" } }).certs).toBe("x");
  });
});
