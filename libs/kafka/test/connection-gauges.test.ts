// certstream_kafka_connected and certstream_schema_registry_connected follow the clients this library makes,
// through the libraries' public hooks (kafkajs instrumentation events; the codecs' registry calls), against the
// real broker and registry. No prototype of kafkajs or of the registry client is patched for it.
import { createServer } from "node:net";
import { createLogger } from "@certstream/log";
import { registry } from "@certstream/metrics";
import { describe, expect, it } from "vitest";
import { kafkaBrokers, registryUrl, uniqueName } from "../../../test/stack.ts";
import { CertificateEntryCodec, createKafka, SchemaRegistryError, StateCodec } from "../src/index.ts";

const value = async (name: string) => /\s(\S+)\n?$/.exec(await registry.getSingleMetricAsString(name))?.[1];

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

describe("connection gauges", () => {
  it("createKafka's producers and consumers drive certstream_kafka_connected", async () => {
    const kafka = createKafka({
      brokers: kafkaBrokers(),
      clientId: "gauge-test",
      logger: createLogger("test", "warn"),
    });
    expect(await value("certstream_kafka_connected")).toBe("0");
    const producer = kafka.producer();
    await producer.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    const consumer = kafka.consumer({ groupId: uniqueName("gauge-test") });
    await consumer.connect();
    expect(await value("certstream_kafka_connected")).toBe("1");
    await consumer.disconnect();
    await producer.disconnect();
    expect(await value("certstream_kafka_connected")).toBe("0");
  }, 30_000);

  it("the codecs' registry calls drive certstream_schema_registry_connected", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const refused = await new CertificateEntryCodec({ registryUrl: down })
      .register("x-value")
      .catch((e) => e);
    expect(refused).toBeInstanceOf(SchemaRegistryError);
    expect(refused).toMatchObject({ status: 0, kind: "network" });
    expect(refused.unavailable).toBe(true); // a reader waits for it instead of skipping records
    expect(await value("certstream_schema_registry_connected")).toBe("0");
    await new CertificateEntryCodec({ registryUrl: registryUrl() }).register(`${uniqueName("gauge")}-value`);
    expect(await value("certstream_schema_registry_connected")).toBe("1");
    await expect(new StateCodec(down, "x").register()).rejects.toThrow();
    expect(await value("certstream_schema_registry_connected")).toBe("0");
    await new StateCodec(registryUrl(), uniqueName("gauge-state")).register();
    expect(await value("certstream_schema_registry_connected")).toBe("1");
  }, 60_000);
});
