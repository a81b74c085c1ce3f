// Against the real broker and registry of the local stack (scripts/stack.sh up; KAFKA_BOOTSTRAP_SERVERS and
// SCHEMA_REGISTRY_URL from `scripts/stack.sh env`). Fails, never skips, when they are not there.
import { createServer } from "node:net";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { registry, trackKafkaClient, trackSchemaRegistryCall } from "../src/index.ts";

const brokers = (process.env.KAFKA_BOOTSTRAP_SERVERS ?? "127.0.0.1:19092").split(",");
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? "http://127.0.0.1:18081/apis/ccompat/v7";

const value = async (name: string) => /\s(\S+)\n?$/.exec(await registry.getSingleMetricAsString(name))?.[1];

describe("connection gauges", () => {
  it("kafka_connected is 1 only while every tracked client is connected", async () => {
    const kafka = new Kafka({ clientId: "metrics-test", brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const admin = kafka.admin();
    trackKafkaClient("producer", producer);
    trackKafkaClient("admin", admin);
    expect(await value("certstream_kafka_connected")).toBe("0");
    await producer.connect();
    expect(await value("certstream_kafka_connected")).toBe("0"); // admin not yet
    await admin.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    await admin.listTopics();
    await admin.disconnect();
    expect(await value("certstream_kafka_connected")).toBe("0");
    await producer.disconnect();
  }, 30_000);

  it("schema_registry_connected follows call outcomes; a 404 still means the registry is up", async () => {
    const get = async (url: string) => {
      const r = await fetch(url);
      if (!r.ok) throw Object.assign(new Error(`registry answered ${r.status}`), { status: r.status });
      return r.json();
    };
    await trackSchemaRegistryCall(get(`${registryUrl}/subjects`));
    expect(await value("certstream_schema_registry_connected")).toBe("1");
    await expect(
      trackSchemaRegistryCall(get(`${registryUrl}/subjects/no-such-subject-${Date.now()}/versions`)),
    ).rejects.toThrow(/answered 404/);
    expect(await value("certstream_schema_registry_connected")).toBe("1");
    // A port nothing listens on any more: connection refused, the registry counts as unreachable.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await expect(trackSchemaRegistryCall(get(`http://127.0.0.1:${port}/subjects`))).rejects.toThrow();
    expect(await value("certstream_schema_registry_connected")).toBe("0");
  });
});
