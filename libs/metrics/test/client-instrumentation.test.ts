// initMetrics() instruments KafkaJS and the schema registry client that services import themselves: the
// connection gauges follow real clients against the real broker and registry, with no wiring in the caller.
import { createServer } from "node:net";
import { applyKafkajsIdleTimerFix } from "@certstream/kafka";
import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, registryUrl } from "../../../test/stack.ts";
import { initMetrics, registry } from "../src/index.ts";

// kafkajs built here without createKafka: its idle-timer fix (a negative setTimeout Node 24 warns about) is applied
// by hand, or every run of this file prints a TimeoutNegativeWarning.
applyKafkajsIdleTimerFix();

const value = async (name: string) => /\s(\S+)\n?$/.exec(await registry.getSingleMetricAsString(name))?.[1];

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

describe("initMetrics instruments the client libraries", () => {
  initMetrics({ service: "instrumentation-test" });
  initMetrics({ service: "instrumentation-test" }); // idempotent: no double wrapping

  it("a plain KafkaJS consumer and producer drive certstream_kafka_connected", async () => {
    const kafka = new Kafka({
      clientId: "instrumentation-test",
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    expect(await value("certstream_kafka_connected")).toBe("0");
    const producer = kafka.producer();
    await producer.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    const consumer = kafka.consumer({ groupId: `instrumentation-test-${Date.now()}` });
    await consumer.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    await consumer.disconnect();
    await producer.disconnect();
    expect(await value("certstream_kafka_connected")).toBe("0");
  }, 30_000);

  it("a plain registry client drives certstream_schema_registry_connected", async () => {
    const up = new SchemaRegistry({ host: registryUrl() });
    await expect(up.getLatestSchemaId(`instrumentation-test-${Date.now()}`)).rejects.toThrow(/not found/);
    expect(await value("certstream_schema_registry_connected")).toBe("1"); // a 404 comes from a live registry
    const down = new SchemaRegistry({ host: `http://127.0.0.1:${await closedPort()}` });
    await expect(down.getLatestSchemaId("x")).rejects.toThrow(/ECONNREFUSED/);
    expect(await value("certstream_schema_registry_connected")).toBe("0");
    await expect(up.getLatestSchemaId(`instrumentation-test-${Date.now()}`)).rejects.toThrow();
    expect(await value("certstream_schema_registry_connected")).toBe("1");
  });
});
