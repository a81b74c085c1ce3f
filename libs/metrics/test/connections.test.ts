// Against the real broker and registry of the local stack (scripts/stack.sh up; KAFKA_BOOTSTRAP_SERVERS and
// SCHEMA_REGISTRY_URL from `scripts/stack.sh env`). Fails, never skips, when they are not there.
import { createServer } from "node:net";
import { applyKafkajsIdleTimerFix } from "@certstream/kafka";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, registryUrl as registryBase } from "../../../test/stack.ts";
import { instrumentKafka, registry, trackSchemaRegistryCall } from "../src/index.ts";

// kafkajs built here without createKafka: its idle-timer fix (a negative setTimeout Node 24 warns about) is applied
// by hand, or every run of this file prints a TimeoutNegativeWarning.
applyKafkajsIdleTimerFix();

const registryUrl = registryBase();

/** A loopback port nothing listens on any more. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const value = async (name: string) => /\s(\S+)\n?$/.exec(await registry.getSingleMetricAsString(name))?.[1];

describe("connection gauges", () => {
  it("kafka_connected follows the clients of an instrumented Kafka: up while all open ones reach the broker", async () => {
    const kafka = instrumentKafka(
      new Kafka({ clientId: "metrics-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }),
    );
    expect(await value("certstream_kafka_connected")).toBe("0"); // nothing open yet
    const producer = kafka.producer();
    const admin = kafka.admin();
    await producer.connect();
    await admin.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    await admin.listTopics();
    await admin.disconnect(); // a deliberate close forgets the client
    expect(await value("certstream_kafka_connected")).toBe("1");
    await producer.disconnect();
    expect(await value("certstream_kafka_connected")).toBe("0"); // no client open

    // A client that never reaches a broker never counts as connected.
    const lost = instrumentKafka(
      new Kafka({
        clientId: "metrics-test-lost",
        brokers: [`127.0.0.1:${await closedPort()}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 300,
      }),
    );
    const orphan = lost.producer();
    await expect(orphan.connect()).rejects.toThrow();
    expect(await value("certstream_kafka_connected")).toBe("0");
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
    // Connection refused: the registry counts as unreachable.
    await expect(
      trackSchemaRegistryCall(get(`http://127.0.0.1:${await closedPort()}/subjects`)),
    ).rejects.toThrow();
    expect(await value("certstream_schema_registry_connected")).toBe("0");
  });
});
